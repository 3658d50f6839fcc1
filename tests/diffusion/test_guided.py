"""Mask-guided denoising: the guide z, the SDEdit start from it, the mask-condition ablation,
and ``diffstain`` / ``palette-threshold`` end to end."""

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import TINY, TINY_DIFFUSION, run_method
from vsbench.cli import app
from vsbench.config import ConfigError, resolve
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.data.augment import dihedral
from vsbench.diffusion.guided import form_guide
from vsbench.diffusion.params import diffusion_presets
from vsbench.nsc import weights as nsc_weights
from vsbench.nsc.config import NSCConfig
from vsbench_methods.diffstain import DiffStainParams
from vsbench_methods.palette_threshold import PaletteThresholdParams
from vsbench_methods.palette_threshold.method import PaletteThresholdMethod, threshold_mask

TINY_PARAMS = {"width": 8, "channel_mults": (1, 2), "layers_per_block": 1, "head_dim": 8,
               "dropout": 0.0, "num_train_timesteps": 2000, "sampler": "ddim",
               "sample_steps": 4}
FAST = TINY_DIFFUSION
INFO = SyntheticSource().info


def test_form_guide():
    y = torch.tensor([[[[0.2, 0.8], [0.6, 0.0]]]])
    m = torch.tensor([[[[False, True], [True, False]]]])
    torch.testing.assert_close(form_guide(m, y, "mask"), m.float())
    torch.testing.assert_close(form_guide(m, y, "product"), torch.tensor([[[[0, .8], [.6, 0]]]]))
    torch.testing.assert_close(form_guide(m, y, "levels"),
                               torch.tensor([[[[0.1, 0.7], [0.7, 0.1]]]]))
    empty, full = torch.zeros_like(m), torch.ones_like(m)
    torch.testing.assert_close(form_guide(empty, y, "levels"), torch.full_like(y, 0.4))
    torch.testing.assert_close(form_guide(full, y, "levels"), torch.full_like(y, 0.4))


def test_bad_guidance_settings_are_one_line_errors():
    with pytest.raises(ConfigError, match="start_fraction=0.0: must be in"):
        PaletteThresholdParams(**TINY_PARAMS, start_fraction=0.0).validate()
    with pytest.raises(ConfigError, match="threshold_block=4"):
        PaletteThresholdParams(**TINY_PARAMS, threshold_block=4).validate()
    with pytest.raises(ConfigError, match="nsc.top=5"):
        DiffStainParams(**TINY_PARAMS, nsc=NSCConfig(top=5)).validate()
    with pytest.raises(ConfigError, match="unknown backbone"):
        DiffStainParams(**TINY_PARAMS, nsc=NSCConfig(backbone="resnet")).validate()


def test_smoke_presets_equal_palettes():
    """Same network, schedule, sampler and training budget as palette: only guidance differs."""
    for params in (DiffStainParams, PaletteThresholdParams):
        from vsbench_methods.palette import vsbench_methods as palette_methods
        palette = palette_methods()[0]
        ours = resolve(params, diffusion_presets(), "smoke", {})
        theirs = resolve(palette.params, palette.presets, "smoke", {})
        assert ours.run == theirs.run
        shared = {k: v for k, v in vars(theirs.method).items()}
        assert {k: getattr(ours.method, k) for k in shared} == shared


def test_threshold_masks():
    image = np.zeros((32, 32))
    image[8:16, 8:20] = 0.9
    image += np.random.default_rng(0).normal(0, 0.02, image.shape)
    for kind in ("otsu", "li", "local"):
        mask = threshold_mask(image, kind, block=31)  # a block wider than the object
        truth = np.zeros_like(mask)
        truth[8:16, 8:20] = True
        assert mask[truth].all(), kind
        # local keeps a few background pixels brighter than their neighbourhood
        assert (mask & truth).sum() / (mask | truth).sum() > (0.9 if kind != "local" else 0.7)
    assert not threshold_mask(np.full((8, 8), 0.3)).any()


def test_prediction_starts_from_the_noised_guide(monkeypatch):
    """predict: the unguided sample first, then each round starts from z at start_fraction."""
    torch.manual_seed(0)
    params = PaletteThresholdParams(**TINY_PARAMS, start_fraction=0.3, guide="product",
                                    refine_rounds=2)
    method = PaletteThresholdMethod(params, INFO)
    calls = []
    real = method.generate

    def spy(batch, start=None, start_fraction=None, generator=None, on_step=None):
        calls.append((None if start is None else start.clone(), start_fraction))
        return real(batch, start=start, start_fraction=start_fraction, generator=generator,
                    on_step=on_step)

    monkeypatch.setattr(method, "generate", spy)
    batch = {"brightfield": torch.rand(2, 3, 16, 16), "index": torch.tensor([0, 1])}
    with torch.inference_mode():
        out = method.predict(batch)
    assert out.image.shape == (2, 5, 16, 16)
    assert [c[1] for c in calls] == [None, 0.3, 0.3]
    masks = out.extras["masks"]  # every round's masks, returned with the prediction
    assert masks.shape == (2, 2, 5, 16, 16) and masks.dtype == torch.bool
    assert torch.all(calls[1][0][0][~masks[0, 0]] == 0)  # product: zero outside the mask
    # an untrained denoiser started close to the end of the schedule stays near z
    b = {"brightfield": torch.rand(2, 3, 16, 16)}
    z = torch.rand(2, 5, 16, 16)
    with torch.inference_mode():
        near = real(b, start=z, start_fraction=0.25, generator=torch.Generator().manual_seed(1))
        far = real(b, generator=torch.Generator().manual_seed(1))
    assert (near - z).abs().mean() < (far - z).abs().mean()


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_predicted_x0_inverts_the_forward_process(prediction):
    from vsbench.diffusion.sampling import predicted_x0
    from vsbench.diffusion.schedule import make_scheduler

    sched = make_scheduler("ddim", prediction_type=prediction)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.rand(2, 3, 8, 8, generator=g) * 1.6 - 0.8, torch.randn(2, 3, 8, 8,
                                                                          generator=g)
    t = torch.tensor(700)
    a = sched.alphas_cumprod[700]
    y_t = a.sqrt() * x0 + (1 - a).sqrt() * eps
    output = eps if prediction == "epsilon" else a.sqrt() * eps - (1 - a).sqrt() * x0
    torch.testing.assert_close(predicted_x0(sched, y_t, output, t), x0, atol=1e-4, rtol=0)


def test_mask_step_takes_the_first_masks_from_an_early_predicted_x0(monkeypatch):
    """mask_step=0.5: round one's masks are of the clean image predicted at the first step at
    or below 0.5 (T - 1) of the first pass, not of the finished first estimate."""
    from vsbench.diffusion.forward import from_model_range
    from vsbench.diffusion.sampling import predicted_x0
    from vsbench.method import UNGUIDED_EXTRA

    batch = {"brightfield": torch.rand(2, 3, 16, 16), "index": torch.tensor([0, 1])}
    seen = {}
    for step in (0.0, 0.5):
        torch.manual_seed(0)
        method = PaletteThresholdMethod(PaletteThresholdParams(**TINY_PARAMS, mask_step=step),
                                        INFO)
        images = []
        real_masks = method.guide_masks
        monkeypatch.setattr(method, "guide_masks",
                            lambda b, image: images.append(image.clone()) or real_masks(b, image))
        torch.manual_seed(1)
        with torch.inference_mode():
            out = method.predict(batch)
        seen[step] = (images, out.extras[UNGUIDED_EXTRA])
    images, first = seen[0.0]
    assert len(images) == 1 and torch.equal(images[0], first)
    images, first = seen[0.5]
    # the same first pass again, every step viewed: the x0 at the first t <= 999.5
    steps = []
    torch.manual_seed(1)
    with torch.inference_mode():
        again = method.generate({**batch, "masks": None},
                                on_step=lambda t, y, o: steps.append((int(t), y, o)))
    torch.testing.assert_close(again, first)
    t, y, o = next(s for s in steps if s[0] <= 0.5 * 1999)
    expected = from_model_range(predicted_x0(method.sampler, y, o, torch.tensor(t))).clamp(0, 1)
    torch.testing.assert_close(images[0], expected)
    assert not torch.equal(images[0], first)
    assert method.run_record()["guidance"]["mask_step"] == 0.5
    with pytest.raises(ConfigError, match="mask_step=1.0: must be in"):
        PaletteThresholdParams(**TINY_PARAMS, mask_step=1.0).validate()


def test_mask_condition_ablation_caches_and_aligns_masks(tmp_path):
    source = SyntheticSource(n_plates=3, wells_per_plate=1, sites_per_well=2, field_size=32)
    ids = [r.sample_id for r in source.records()][:4]
    params = PaletteThresholdParams(**TINY_PARAMS, mask_condition=True, mask_dropout=0.0)
    method = PaletteThresholdMethod(params, source.info)
    assert method.model.config.in_channels == 5 + 3 + 5
    train = PairedImageDataset(source, ids, 32, augment=True)
    method.prepare(train, torch.device("cpu"), tmp_path)
    [cached] = (tmp_path / "masks").glob("*.pt")
    # the cache is reused: a second method does not compute the masks again
    again = PaletteThresholdMethod(params, source.info)
    again.structure_masks = lambda images: pytest.fail("recomputed cached masks")
    again.prepare(train, torch.device("cpu"), tmp_path)
    torch.testing.assert_close(again._train_masks, method._train_masks)
    # masks follow the batch's flip/rotation (its augmentation codes)
    batch = torch.utils.data.default_collate([train[(i, 7 + i)] for i in range(4)])
    assert batch["augmentation"].tolist() != [0, 0, 0, 0]
    aligned = method._augmented_training_masks(batch)
    fresh = method.structure_masks(batch["fluorescence"])
    assert (aligned == fresh).float().mean() > 0.99
    for i, code in enumerate(batch["augmentation"].tolist()):
        assert torch.equal(aligned[i], dihedral(method._train_masks[i], code))
    loss = method.training_loss(batch)
    assert torch.isfinite(loss)
    # other mask settings, other cache file
    other = PaletteThresholdMethod(PaletteThresholdParams(**TINY_PARAMS, mask_condition=True,
                                                          threshold="li"), source.info)
    other.prepare(train, torch.device("cpu"), tmp_path)
    assert len(list((tmp_path / "masks").glob("*.pt"))) == 2 and cached.exists()


@pytest.mark.parametrize("method,extra", [
    ("palette-threshold", []),
    ("diffstain", ["--set", "nsc.input_size=64", "--set", "nsc.n_init=2"]),
])
def test_cli_run_saves_the_masks_and_the_backbone(method, extra, tmp_path, monkeypatch):
    monkeypatch.setattr(nsc_weights, "hf_cache_file", lambda spec: None)  # offline, no cache
    monkeypatch.delenv(nsc_weights.ENV_WEIGHTS, raising=False)
    folder, _ = run_method(tmp_path, method, *TINY, *FAST, *extra)
    for name in ("metrics.json", "predictions.png", "masks.png", "masks.npz"):
        assert (folder / name).is_file(), name
    with np.load(folder / "masks.npz") as masks:
        assert masks["masks"].shape == (2, 5, 32, 32) and masks["masks"].dtype == bool
        assert masks["masks_by_round"].shape == (2, 1, 5, 32, 32)
    config = json.loads((folder / "config.json").read_text())
    record = config["method_record"]
    assert record["guidance"]["refine_rounds"] >= 1
    assert json.loads((folder / "metrics.json").read_text())["method_record"] == record
    if method == "diffstain":
        # the nested hyperparameters are recorded nested
        assert config["method_params"]["nsc"]["input_size"] == 64
        assert config["method_params"]["nsc"]["n_init"] == 2
        nsc = record["mask_source"]["nsc"]
        assert nsc["requested"] == "vit_small_patch8_224.dino"
        # offline: the packaged fallback, recorded as such
        assert nsc["backbone"] == "tf_efficientnet_lite0" and nsc["weights_source"] == "package"
    else:
        assert record["mask_source"] == {"kind": "threshold", "threshold": "local",
                                         "block": 63, "floor": 0.8}
    assert record["guidance"]["guide"] == "mask"  # the paper's eq. 2 guide by default
    listing = CliRunner().invoke(app, ["compare", "--results", str(tmp_path / "res")],
                                 env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and method in listing.output


def test_masks_of_more_than_eight_preview_images_on_tiled_fields(tmp_path):
    """masks.png holds every preview image's masks (they come with the predictions, nothing is
    kept in the method): ten of them, of 64 px test fields predicted in 32 px tiles."""
    from rich.console import Console

    from vsbench.engine import RunRequest, run_benchmark

    overrides = {"image_size": 32, "eval_image_size": 64, "tile_overlap": 8, "epochs": 1,
                 "max_train_images": 8, "n_preview": 10, "tensorboard": False,
                 **{k: ",".join(map(str, v)) if isinstance(v, tuple) else v
                    for k, v in TINY_PARAMS.items() if k != "num_train_timesteps"}}
    result = run_benchmark(RunRequest(dataset="synthetic",
                                      method="palette-threshold", overrides=overrides,
                                      results_dir=tmp_path / "res", data_root=tmp_path / "data",
                                      device="cpu"), Console(quiet=True))
    assert (result.folder / "masks.png").is_file()
    with np.load(result.folder / "masks.npz") as masks:
        assert masks["masks_by_round"].shape == (10, 1, 5, 64, 64)
        assert masks["masks"].dtype == bool and masks["masks"].any()
        ids = list(masks["sample_ids"])
    with np.load(result.folder / "predictions.npz") as arrays:
        assert ids == list(arrays["sample_ids"])
