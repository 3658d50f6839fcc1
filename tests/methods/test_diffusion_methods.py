"""The diffusion methods: the shared base class, ``palette`` and ``class-guided``, end to end."""

import json
from dataclasses import replace

import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import TINY
from vsbench import DatasetSpec, hookimpl
from vsbench.cli import app
from vsbench.config import ConfigError, resolve
from vsbench.data import DataError, DatasetInfo, DatasetSource, Sample, SampleRecord
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.diffusion.method import ConditionalDiffusionMethod
from vsbench.diffusion.params import DiffusionParams, diffusion_presets
from vsbench.engine import RunRequest, run_benchmark
from vsbench.plugins import Origin, build_registry
from vsbench_methods.class_guided import ClassGuidedParams
from vsbench_methods.class_guided.method import ClassGuidedMethod

# A tiny denoiser and a two-step sampler: what makes the end-to-end runs fast.
FAST = ["--set", "width=8", "--set", "channel_mults=1,2", "--set", "layers_per_block=1",
        "--set", "head_dim=8", "--set", "sample_steps=2"]
TINY_PARAMS = {"width": 8, "channel_mults": (1, 2), "layers_per_block": 1, "head_dim": 8,
               "dropout": 0.0, "num_train_timesteps": 100, "beta_end": 0.2, "sampler": "ddim",
               "sample_steps": 3}
INFO = SyntheticSource().info


def batch(n=2, size=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return {"brightfield": torch.rand(n, len(INFO.planes), size, size, generator=gen),
            "fluorescence": torch.rand(n, len(INFO.channels), size, size, generator=gen),
            "labels": {"perturbation": torch.tensor([0, 3])[:n],
                       "target": torch.tensor([1, 0])[:n]},
            "index": torch.arange(n)}


def train_steps(method, steps=3, lr=1e-2):
    opt = torch.optim.AdamW(method.trainable_parameters(), lr=lr)
    method.train(True)
    for i in range(steps):
        loss = method.training_loss(batch(seed=i))
        opt.zero_grad()
        loss.backward()
        opt.step()
        method.after_optimizer_step()
    method.train(False)
    return loss


def test_base_method_trains_predicts_and_restores():
    torch.manual_seed(0)
    method = ConditionalDiffusionMethod(DiffusionParams(**TINY_PARAMS), INFO)
    assert method.model.config.in_channels == len(INFO.channels) + len(INFO.planes)
    loss = train_steps(method)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert int(method.ema.n_averaged) == 3
    with torch.inference_mode():
        pred = method.predict(batch())
    assert pred.shape == (2, len(INFO.channels), 16, 16)
    assert pred.min() >= 0 and pred.max() <= 1

    def generate(m):
        with torch.inference_mode():
            return m.generate(batch(), generator=torch.Generator().manual_seed(4))

    first = generate(method)
    # prediction uses the EMA weights: scrambling the trained weights changes nothing
    with torch.no_grad():
        for p in method.model.parameters():
            p.add_(torch.randn_like(p))
    torch.testing.assert_close(generate(method), first)
    # a checkpoint restores the EMA too
    clone = ConditionalDiffusionMethod(DiffusionParams(**TINY_PARAMS), INFO)
    clone.load_state_dict(method.state_dict())
    torch.testing.assert_close(generate(clone), first)


def test_generate_from_a_start_image():
    torch.manual_seed(0)
    method = ConditionalDiffusionMethod(DiffusionParams(**TINY_PARAMS), INFO)
    b = batch()
    start = b["fluorescence"]
    with torch.inference_mode():
        near = method.generate(b, start=start, start_fraction=0.34,
                               generator=torch.Generator().manual_seed(1))
        far = method.generate(b, generator=torch.Generator().manual_seed(1))
    assert near.shape == far.shape
    # an untrained denoiser: from one step of noise, the start image still shows through
    assert (near - start).abs().mean() < (far - start).abs().mean()


def test_class_guided_embeds_the_chosen_label_kind():
    for kind in ("perturbation", "target"):
        params = ClassGuidedParams(**TINY_PARAMS, label_kind=kind)
        method = ClassGuidedMethod(params, INFO)
        assert method.model.class_embedding.num_embeddings == len(INFO.label_kinds[kind])
        assert torch.equal(method.class_labels(batch()), batch()["labels"][kind])
    with pytest.raises(DataError, match="no 'target' labels"):
        method.class_labels({**batch(), "labels": {"perturbation": torch.tensor([0, 1])}})


def test_class_guided_without_labels_is_an_error_before_training():
    bare = replace(INFO, label_kinds={})
    with pytest.raises(DataError, match="has no 'perturbation' labels"):
        ClassGuidedMethod(ClassGuidedParams(**TINY_PARAMS), bare)


@pytest.mark.parametrize("override,message", [
    ({"head_dim": 32}, "--set head_dim=32: the attention blocks have 16 channels"),
    ({"attention_levels": (2,)}, "attention_levels=2: give distinct levels between 0 and 1"),
    ({"sample_steps": 101}, "sample_steps=101: must be between 1 and num_train_timesteps"),
    ({"beta_start": 0.1, "beta_end": 0.01}, "need 0 < beta_start < beta_end < 1"),
    ({"beta_end": 0.02}, "the schedule ends with 0.604 of the image left"),
    ({"ema_decay": 1.0}, "ema_decay=1.0: must be in [0, 1)"),
])
def test_bad_hyperparameters_are_one_line_errors(override, message):
    with pytest.raises(ConfigError) as err:
        DiffusionParams(**{**TINY_PARAMS, **override}).validate()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_presets_are_shared_and_valid():
    presets = diffusion_presets(smoke={"extra": 1})
    assert presets["smoke"]["extra"] == 1 and "extra" not in diffusion_presets()["smoke"]
    for preset in ("smoke", "paper"):
        resolved = resolve(ClassGuidedParams, diffusion_presets(), preset, {})
        assert resolved.method.label_kind == "perturbation"
    paper = resolve(DiffusionParams, diffusion_presets(), "paper", {})
    assert (paper.run.image_size, paper.run.lr, paper.run.batch_size) == (512, 5e-4, 1)
    p = paper.method
    assert (p.width, p.channel_mults, p.layers_per_block, p.dropout, p.head_dim) == \
        (64, (1, 2, 4, 8), 2, 0.2, 32)
    assert (p.num_train_timesteps, p.beta_start, p.beta_end, p.loss) == (2000, 1e-6, 1e-2, "l1")
    assert (p.sampler, p.sample_steps, p.ema_decay) == ("ddpm", 2000, 0.9999)


# -- end to end -----------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["palette", "class-guided"])
def test_cli_run_writes_a_complete_run_folder(method, tmp_path):
    out = CliRunner().invoke(app, ["run", "--dataset", "synthetic",
                                   "--method", method, "--results", str(tmp_path / "res"),
                                   "--data-root", str(tmp_path / "data"), *TINY, *FAST],
                             env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    [folder] = (tmp_path / "res" / "runs" / "synthetic" / method).iterdir()
    for name in ("config.json", "state.json", "metrics.json", "per_image_metrics.csv",
                 "train_log.csv", "checkpoint.pt", "predictions.png"):
        assert (folder / name).is_file(), name
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["n_test_images"] == 24 and metrics["predict_seconds_per_image"] > 0
    assert all(0 <= v["mse"] <= 1 for v in metrics["channels"].values())
    config = json.loads((folder / "config.json").read_text())
    params = config.get("method_params", config.get("method"))
    assert params["width"] == 8 and params["sampler"] == "ddpm"  # the smoke preset's
    if method == "class-guided":
        assert params["label_kind"] == "perturbation"
    state = torch.load(folder / "checkpoint.pt", weights_only=False)
    assert "ema" in state["method"]
    listing = CliRunner().invoke(app, ["compare", "--results", str(tmp_path / "res")],
                                 env={"COLUMNS": "200"})
    assert listing.exit_code == 0 and method in listing.output


class UnlabelledSource(DatasetSource):
    """Three tiny synthetic plates whose records carry no class labels."""

    def __init__(self) -> None:
        self.inner = SyntheticSource(n_plates=3, wells_per_plate=1, sites_per_well=2,
                                     field_size=32)
        self._records = {r.sample_id: r for r in self.inner.records()}

    @property
    def info(self) -> DatasetInfo:
        return replace(self.inner.info, name="unlabelled", label_kinds={})

    def records(self) -> list[SampleRecord]:
        return [replace(r, labels={}) for r in self._records.values()]

    def load(self, record: SampleRecord) -> Sample:
        sample = self.inner.load(self._records[record.sample_id])
        return Sample(record, sample.brightfield, sample.fluorescence)

    def fingerprint(self) -> str:
        return "unlabelled-" + self.inner.fingerprint()


class UnlabelledPlugin:
    @hookimpl
    def vsbench_datasets(self):
        return [DatasetSpec(name="unlabelled", description="no labels", reference="test",
                            factory=lambda root: UnlabelledSource())]


def test_class_guided_on_a_dataset_without_labels_fails_clearly(tmp_path):
    registry = build_registry(extra_plugins=[
        (UnlabelledPlugin(), Origin("unlabelled", "tests", "tests", "0"))])
    request = RunRequest(method="class-guided", dataset="unlabelled", results_dir=tmp_path / "r",
                         data_root=tmp_path / "d",
                         overrides={"image_size": 32, "epochs": 1, "width": 8,
                                    "channel_mults": "1,2", "head_dim": 8})
    with pytest.raises(DataError) as err:
        run_benchmark(request, registry=registry)
    message = str(err.value)
    assert "Dataset 'unlabelled' has no 'perturbation' labels (it has: none)" in message
    assert "\n" not in message
    [folder] = (tmp_path / "r" / "runs" / "unlabelled" / "class-guided").iterdir()
    assert json.loads((folder / "state.json").read_text())["status"] == "failed"
    assert not (folder / "train_log.csv").exists() and not (folder / "checkpoint.pt").exists()
    # palette needs no labels: the same dataset trains
    palette = run_benchmark(replace(request, method="palette",
                                    overrides={**request.overrides, "sample_steps": 2}),
                            registry=registry)
    assert palette.metrics.n_test_images == 2
