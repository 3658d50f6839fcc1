"""Tiled prediction: equal to untiled prediction where the model allows it, and seamless."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vsbench.method import Prediction
from vsbench.tiling import blend_window, predict_batch_tiled, predict_tiled, tile_starts


def test_tile_starts_cover_and_overlap():
    assert tile_starts(64, 64, 16) == [0]
    starts = tile_starts(150, 64, 16)
    assert starts[0] == 0 and starts[-1] == 150 - 64
    assert all(b - a <= 64 - 16 for a, b in zip(starts, starts[1:]))


def _fields_of_view(size: int, fov: int) -> list[int]:
    """NSC's own field offsets before they were merged into ``tile_starts`` (the reference)."""
    if size <= fov:
        return [0]
    starts = list(range(0, size - fov + 1, fov))
    if starts[-1] + fov < size:
        starts.append(size - fov)
    return starts


def test_one_tile_starts_serves_nsc_fields_of_view():
    for fov in (8, 28, 64, 224):
        for size in range(1, 4 * fov + 3):
            assert tile_starts(size, fov) == tile_starts(size, fov, 0) == \
                _fields_of_view(size, fov), (size, fov)
    from vsbench.nsc import masks

    assert masks.tile_starts is tile_starts


def test_window_is_positive_and_flat_in_the_middle():
    w = blend_window(32, 8)
    assert (w > 0).all() and torch.equal(w[8:24], torch.ones(16))
    assert torch.allclose(w, w.flip(0))


def test_pointwise_model_tiled_equals_untiled():
    """A 1x1-conv model is translation-equivariant with no padding effects, so the blended
    tiles must reproduce the whole-field prediction exactly (up to float rounding)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1), torch.nn.ReLU(), torch.nn.Conv2d(8, 5, 1))
    field = torch.rand(2, 3, 100, 77)
    with torch.no_grad():
        whole = model(field)
        tiled = predict_tiled(model, field, tile=32, overlap=8, tile_batch=3)
    assert tiled.shape == (2, 5, 100, 77)
    assert torch.allclose(tiled, whole, atol=1e-5)


def test_field_that_fits_is_predicted_whole():
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 5, 3, padding=1)
    field = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(predict_tiled(model, field, 32, 8, 4), model(field))


def test_constant_input_gives_constant_output():
    model = torch.nn.Conv2d(2, 4, 1)
    with torch.no_grad():
        out = predict_tiled(model, torch.full((1, 2, 90, 90), 0.3), 32, 12, 5)
    assert (out - out.mean(dim=(-2, -1), keepdim=True)).abs().max() < 1e-6


def _border_excess(pred: torch.Tensor, starts: list[int], tile: int) -> float:
    """How far the column means near tile borders stray from the interior's column means, in
    units of the interior's spread (a seam is a column whose mean jumps)."""
    profile = pred.mean(dim=(0, 1, 2))  # per column, over images, channels and rows
    borders = sorted({c for s in starts for c in (s, s + 1, s + tile - 2, s + tile - 1)}
                     - {0, 1, profile.numel() - 2, profile.numel() - 1})
    interior = torch.ones_like(profile, dtype=torch.bool)
    for s in starts:
        for c in range(s - 4, s + 5):
            if 0 <= c < profile.numel():
                interior[c] = False
        for c in range(s + tile - 5, s + tile + 4):
            if 0 <= c < profile.numel():
                interior[c] = False
    interior[:4] = interior[-4:] = False
    centre, spread = profile[interior].mean(), profile[interior].std()
    return float((profile[borders] - centre).abs().max() / spread)


def test_no_seams_on_a_stationary_texture():
    """A zero-padded conv net sees an edge at every tile border; with blending the tiled
    prediction of a stationary random texture shows no border columns, while naive tiling
    (no overlap) does, which shows the check can see a seam."""
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Tanh(),
                                torch.nn.Conv2d(8, 8, 3, padding=1), torch.nn.Tanh(),
                                torch.nn.Conv2d(8, 1, 3, padding=1))
    texture = torch.rand(16, 1, 96, 208)
    tile, overlap = 32, 16
    with torch.no_grad():
        blended = predict_tiled(model, texture, tile, overlap, tile_batch=64)
        naive = predict_tiled(model, texture, tile, 0, tile_batch=64)
    starts = tile_starts(208, tile, overlap)
    assert _border_excess(naive, tile_starts(208, tile, 0), tile) > 6
    assert _border_excess(blended, starts, tile) < 4


def test_batch_entries_follow_their_tiles():
    """Labels and indices reach predict per tile, with the owning image's values."""
    seen = []

    def predict(batch):
        seen.append((batch["labels"]["compound"].tolist(), batch["index"].tolist()))
        return batch["brightfield"][:, :1] * 0 + batch["labels"]["compound"][:, None, None, None]

    batch = {"brightfield": torch.rand(2, 1, 48, 48), "labels": {"compound": torch.tensor([3, 7])},
             "index": torch.tensor([10, 11])}
    out = predict_batch_tiled(predict, batch, tile=32, overlap=16, tile_batch=3)
    assert torch.allclose(out[0], torch.full_like(out[0], 3.0))
    assert torch.allclose(out[1], torch.full_like(out[1], 7.0))
    assert [len(labels) for labels, _ in seen] == [3, 3, 2]


def test_extras_are_stitched_like_the_image_or_dropped():
    """A Prediction's extras of tile size come back at the field's size (float ones blended,
    bool ones blended then thresholded); per-tile extras of other shapes are dropped."""
    def predict(batch):
        bf = batch["brightfield"]
        n = bf.shape[0]
        return Prediction(bf[:, :2] * 2, {
            "level": bf[:, :1].unsqueeze(1) * 3,  # [N, 1, 1, tile, tile] float
            "mask": (bf[:, :1] > 0.5).unsqueeze(1).expand(n, 2, 1, *bf.shape[-2:]),  # bool
            "score": bf.mean((1, 2, 3)),  # per tile: dropped
            "label": torch.zeros(n, *bf.shape[-2:], dtype=torch.int64)})  # integer: dropped

    # a field whose left half is bright and right half dark; tiles overlap across the edge
    field = torch.zeros(2, 3, 48, 80)
    field[..., :40] = 0.9
    batch = {"brightfield": field, "index": torch.tensor([0, 1])}
    out = predict_batch_tiled(predict, batch, tile=32, overlap=16, tile_batch=4)
    assert isinstance(out, Prediction)
    torch.testing.assert_close(out.image, field[:, :2] * 2)
    assert set(out.extras) == {"level", "mask"}
    torch.testing.assert_close(out.extras["level"], field[:, :1].unsqueeze(1) * 3)
    mask = out.extras["mask"]
    assert mask.dtype == torch.bool and mask.shape == (2, 2, 1, 48, 80)
    assert torch.equal(mask, (field[:, :1] > 0.5).unsqueeze(1).expand(2, 2, 1, 48, 80))
    # a field that fits one tile is predicted whole: the Prediction comes back as it is
    small = {"brightfield": torch.rand(1, 3, 32, 32), "index": torch.tensor([0])}
    assert set(predict_batch_tiled(predict, small, 32, 16, 4).extras) == {"level", "mask",
                                                                          "score", "label"}


def test_bad_overlap():
    with pytest.raises(ValueError, match="overlap"):
        predict_tiled(torch.nn.Identity(), torch.rand(1, 1, 64, 64), 32, 32, 2)


def test_engine_predicts_larger_test_fields_tiled(tmp_path):
    """With eval_image_size above image_size the engine scores full-size test fields, and the
    speed switches (channels_last, persistent workers) leave the CPU path working."""
    from rich.console import Console

    from vsbench.engine import RunRequest, run_benchmark

    overrides = {"image_size": 32, "eval_image_size": 64, "tile_overlap": 8, "epochs": 1,
                 "max_train_images": 8, "n_preview": 2, "channels_last": True,
                 "num_workers": 1, "tensorboard": False}
    result = run_benchmark(RunRequest(dataset="synthetic", method="unet", overrides=overrides,
                                      results_dir=tmp_path / "res", data_root=tmp_path / "data"),
                           Console(quiet=True))
    assert result.metrics.eval_image_size == 64 and result.metrics.image_size == 32
    with np.load(result.folder / "predictions.npz") as arrays:
        assert arrays["prediction"].shape[-2:] == (64, 64)
        assert np.isfinite(arrays["prediction"]).all()


def test_bad_eval_size_and_overlap():
    from vsbench.config import ConfigError, RunConfig

    with pytest.raises(ConfigError, match="eval_image_size"):
        RunConfig(image_size=64, eval_image_size=32).validate()
    with pytest.raises(ConfigError, match="tile_overlap"):
        RunConfig(image_size=64, tile_overlap=40).validate()
