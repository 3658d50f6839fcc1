"""Tiled prediction: fields larger than the training size, predicted in overlapping tiles.

A network trained on ``tile x tile`` crops predicts a larger field tile by tile; neighbouring
tiles overlap by ``overlap`` pixels and are blended with a separable raised-cosine (Hann) ramp,
normalised by the summed weights, so that no tile border shows in the result. Tiles go through
the network ``tile_batch`` at a time, which bounds memory whatever the field size.

A method that returns a :class:`vsbench.method.Prediction` gets one back, with its extras
stitched by one rule: an extra whose last two axes are the tile's (``[N, ..., tile, tile]``,
e.g. masks) is a picture of the tile and is blended like the image - floating-point extras as
they are (in float32), boolean ones as 0/1 and then thresholded at 0.5 (the value that carries
more of the blending weight at each pixel); every other extra (per-tile numbers, integer
labels, other sizes) describes a tile rather than the field and is dropped.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from vsbench.method import PredictOutput, Prediction, as_prediction


def tile_starts(length: int, tile: int, overlap: int = 0) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``length`` pixels with at least
    ``overlap`` pixels shared between neighbours (the last tile is flush with the end, so it
    overlaps its neighbour more where ``tile - overlap`` does not divide the rest). One tile at
    0 when ``length <= tile``. Tiled prediction and NSC's fields of view (``overlap=0``) both
    use it."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def blend_window(tile: int, overlap: int, device: torch.device | None = None) -> torch.Tensor:
    """The 1-D blending weight of a tile: a half Hann ramp over ``overlap`` pixels at each end,
    1 in between. Every weight is positive (the ramp is sampled at pixel centres), so the
    normalisation never divides by zero, even at the field's own borders."""
    weight = torch.ones(tile, dtype=torch.float32, device=device)
    if overlap > 0:
        i = torch.arange(overlap, dtype=torch.float32, device=device)
        ramp = 0.5 - 0.5 * torch.cos(math.pi * (i + 0.5) / overlap)
        weight[:overlap] = ramp
        weight[tile - overlap:] = torch.minimum(weight[tile - overlap:], ramp.flip(0))
    return weight


def _index_batch(batch: dict[str, Any], owner: torch.Tensor) -> dict[str, Any]:
    """The per-sample entries of ``batch`` (labels, index) for the tiles' owning images."""
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if key in ("brightfield", "fluorescence"):
            continue
        if isinstance(value, dict):
            out[key] = {k: v[owner.to(v.device)] for k, v in value.items()}
        elif isinstance(value, torch.Tensor) and value.ndim >= 1:
            out[key] = value[owner.to(value.device)]
        else:
            out[key] = value
    return out


def _stitchable(value: torch.Tensor, n_tiles: int, tile: int) -> bool:
    """Whether an extra is a picture of each tile (see the module's docstring)."""
    return (value.ndim >= 3 and value.shape[0] == n_tiles and
            tuple(value.shape[-2:]) == (tile, tile) and
            (value.dtype == torch.bool or value.is_floating_point()))


class _Canvas:
    """Blended sums of tiles over whole fields: the image and the stitchable extras."""

    def __init__(self, n: int, height: int, width: int, window: torch.Tensor,
                 weight: torch.Tensor) -> None:
        self.n, self.height, self.width = n, height, width
        self.window, self.weight = window, weight
        self.image: torch.Tensor | None = None
        self.extras: dict[str, torch.Tensor] = {}
        self.bool_extras: set[str] = set()
        self.returned_prediction = False

    def _add(self, out: torch.Tensor | None, tiles: torch.Tensor,
             places: list[tuple[int, int, int]], tile: int) -> torch.Tensor:
        if out is None:
            out = torch.zeros(self.n, *tiles.shape[1:-2], self.height, self.width,
                              device=tiles.device)
        for k, (b, y, x) in enumerate(places):
            out[b, ..., y:y + tile, x:x + tile] += tiles[k] * self.window
        return out

    def add(self, output: PredictOutput, places: list[tuple[int, int, int]], tile: int) -> None:
        """Add one chunk of tiles' predictions at their ``(image, y, x)`` places."""
        self.returned_prediction |= isinstance(output, Prediction)
        output = as_prediction(output)
        self.image = self._add(self.image, output.image.float(), places, tile)
        for name, value in output.extras.items():
            if not _stitchable(value, len(places), tile):
                continue
            if value.dtype == torch.bool:
                self.bool_extras.add(name)
            self.extras[name] = self._add(self.extras.get(name), value.float(), places, tile)

    def result(self) -> PredictOutput:
        """The blended fields (a :class:`Prediction` when the method returned those)."""
        weight = self.weight[0, 0]
        image = self.image / weight
        if not self.returned_prediction:
            return image
        extras = {name: value / weight for name, value in self.extras.items()}
        for name in self.bool_extras:
            extras[name] = extras[name] >= 0.5
        return Prediction(image, extras)


def predict_batch_tiled(predict: Callable[[dict[str, Any]], PredictOutput],
                        batch: dict[str, Any], tile: int, overlap: int,
                        tile_batch: int) -> PredictOutput:
    """Predict a batch of fields larger than ``tile`` with a method's ``predict``.

    Args:
        predict: a method's ``predict(batch) -> [N, C, tile, tile]`` (or a
            :class:`vsbench.method.Prediction` of it with extras).
        batch: the engine's batch (``brightfield`` ``[B, P, H, W]``; labels, index and
            augmentation are passed on per tile; ``fluorescence``, if present, is cropped like
            the brightfield).
        tile: the tile side (the training image size).
        overlap: pixels shared by neighbouring tiles (``0 <= overlap < tile``).
        tile_batch: tiles per call of ``predict``.

    Returns:
        ``[B, C, H, W]`` float32 prediction, blended where tiles overlap; a
        :class:`~vsbench.method.Prediction` with the stitched extras (the module's rule) when
        ``predict`` returns one. Fields no larger than the tile are predicted whole.
    """
    brightfield = batch["brightfield"]
    if brightfield.shape[-2] <= tile and brightfield.shape[-1] <= tile:
        return predict(batch)
    if not 0 <= overlap < tile:
        raise ValueError(f"tile overlap {overlap} must be at least 0 and less than the tile "
                         f"size {tile}.")
    if tile_batch < 1:
        raise ValueError(f"tile_batch {tile_batch} must be at least 1.")
    n, _, height, width = brightfield.shape
    if height < tile or width < tile:
        raise ValueError(f"field {height} x {width} is smaller than the tile {tile} along one "
                         "side; resize it or predict it whole.")
    window = blend_window(tile, overlap, brightfield.device)
    window = window[:, None] * window[None, :]
    places = [(b, y, x) for b in range(n) for y in tile_starts(height, tile, overlap)
              for x in tile_starts(width, tile, overlap)]
    weight = torch.zeros(1, 1, height, width, device=brightfield.device)
    for y in tile_starts(height, tile, overlap):
        for x in tile_starts(width, tile, overlap):
            weight[..., y:y + tile, x:x + tile] += window
    canvas = _Canvas(n, height, width, window, weight)
    for first in range(0, len(places), tile_batch):
        chunk = places[first:first + tile_batch]
        owner = torch.tensor([b for b, _, _ in chunk], device=brightfield.device)
        sub = _index_batch(batch, owner)
        for key in ("brightfield", "fluorescence"):
            if key in batch:
                sub[key] = torch.stack([batch[key][b, :, y:y + tile, x:x + tile]
                                        for b, y, x in chunk])
        canvas.add(predict(sub), chunk, tile)
    return canvas.result()


def predict_tiled(predict_fn: Callable[[torch.Tensor], torch.Tensor], brightfield: torch.Tensor,
                  tile: int, overlap: int, tile_batch: int) -> torch.Tensor:
    """Tiled prediction for a plain function of the brightfield ``[B, P, H, W] -> [B, C, H, W]``
    (see :func:`predict_batch_tiled` for the arguments)."""
    out = predict_batch_tiled(lambda b: predict_fn(b["brightfield"]),
                              {"brightfield": brightfield}, tile, overlap, tile_batch)
    return as_prediction(out).image
