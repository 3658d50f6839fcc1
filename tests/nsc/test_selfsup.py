"""The offline self-supervised backbone: a small ViT trained with DINO (lightly) on the
training split trains, caches under the data root, reloads, and is deterministic."""

import math

import torch

from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.layout import MODEL_CACHE_DIR
from vsbench.nsc.backbones import LOCAL_DINO
from vsbench.nsc.config import NSCConfig
from vsbench.nsc.masks import NSC
from vsbench.nsc.selfsup import RECIPE, cached_dino_vit, train_dino_vit
from vsbench_methods.diffstain.method import setup_nsc

TINY = NSCConfig(backbone=LOCAL_DINO, ssl_dim=12, ssl_depth=1, ssl_epochs=2, ssl_crop=16,
                 fov=32, input_size=32, n_init=1)
COLLAPSE_EPOCHS, COLLAPSE_MARGIN = 30, 0.5  # see the collapse test


def _images():
    g = torch.Generator().manual_seed(0)
    images = torch.zeros(2, 5, 32, 32)
    images[..., 8:20, 6:18] = 0.8  # a bright block on a dark, noisy field
    return (images + 0.1 * torch.rand(images.shape, generator=g)).clamp(0, 1)


def test_the_dino_vit_trains_caches_and_reloads_deterministically(tmp_path):
    images, ids = _images(), ["a", "b"]
    path, record, model = cached_dino_vit(images, ids, "fp-1", 32, TINY, tmp_path)
    assert path.parent == tmp_path / MODEL_CACHE_DIR and path.is_file()
    assert record["cache"] == "trained" and record["images"] == 10  # 2 images x 5 channels
    assert len(record["loss_per_epoch"]) == 2
    assert all(torch.isfinite(torch.tensor(record["loss_per_epoch"])))
    again_path, again, reloaded = cached_dino_vit(images, ids, "fp-1", 32, TINY, tmp_path)
    assert again_path == path and again["cache"] == "reloaded"
    for (k, a), (_, b) in zip(model.state_dict().items(), reloaded.state_dict().items()):
        assert torch.equal(a, b), k
    # trained again from scratch elsewhere: the same weights (seeded, no global RNG used)
    torch.manual_seed(123)
    _, _, fresh = cached_dino_vit(images, ids, "fp-1", 32, TINY, tmp_path / "other")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 fresh.state_dict().values()))
    # other data, other cache file
    other, _, _ = cached_dino_vit(images, ids, "fp-2", 32, TINY, tmp_path)
    assert other != path and len(list((tmp_path / MODEL_CACHE_DIR).glob("*.pt"))) == 2


def test_nsc_runs_on_the_dino_vit_trained_in_prepare(tmp_path):
    source = SyntheticSource(n_plates=3, wells_per_plate=1, sites_per_well=2, field_size=32)
    ids = [r.sample_id for r in source.records()][:2]
    nsc = NSC(TINY)
    _, trained = setup_nsc(nsc, PairedImageDataset(source, ids, 32), torch.device("cpu"),
                           tmp_path)
    assert trained["cache"] == "trained"
    record = nsc.record()
    assert record["backbone"] == LOCAL_DINO and record["weights_source"] == "trained-here"
    assert record["path"].startswith(str(tmp_path / MODEL_CACHE_DIR))
    masks = nsc.masks(_images())
    assert masks.shape == (2, 5, 32, 32) and masks.dtype == torch.bool
    assert 0 < masks.float().mean() < 1
    # a second preparation reloads the cached ViT
    _, again = setup_nsc(NSC(TINY), PairedImageDataset(source, ids, 32), torch.device("cpu"),
                         tmp_path)
    assert again["cache"] == "reloaded"


def _channel_images(n: int = 64, size: int = 32) -> torch.Tensor:
    """``n`` single-channel synthetic fluorescence images ``[n, 1, size, size]``."""
    source = SyntheticSource(n_plates=2, wells_per_plate=4, sites_per_well=2, field_size=size)
    data = PairedImageDataset(source, [r.sample_id for r in source.records()], size)
    fields = torch.stack([data[i]["fluorescence"] for i in range(len(data))])
    return fields.reshape(-1, 1, size, size)[:n].float()


def test_the_dino_recipe_does_not_collapse_to_the_uniform_output():
    """Recipe v1 went to ln(K), the uniform head output, within a few epochs (issue 30)."""
    config = NSCConfig(ssl_dim=24, ssl_depth=1, ssl_epochs=COLLAPSE_EPOCHS, ssl_crop=32)
    _, record = train_dino_vit(_channel_images(), config)
    uniform = math.log(RECIPE["out_dim"])
    assert record["uniform_loss"] == round(uniform, 5)
    late = record["loss_per_epoch"][-3:]
    assert max(late) < uniform - COLLAPSE_MARGIN, (late, uniform)
