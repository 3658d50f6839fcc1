"""A third-party evaluation tier for vsbench: how far each predicted stain's intensity
distribution is from the real one's.

Per test image and channel, the Wasserstein-1 distance between the predicted and the real
pixel intensities (on [0, 1]; 0: the same histogram). A virtual stain can score well on PCC
while its intensities are compressed toward the mean (blur, regression to the mean): this
tier sees that, and it cannot see where the intensities are (a stain with its pixels shuffled
scores 0). Lower is better.

Installed (``pip install examples/vsbench-example-tier``), it is found through the ``vsbench``
entry-point group like any method plugin: every ``vsbench run`` scores it, ``vsbench evaluate
--tier histogram RUN`` and ``vsbench score`` score it, ``vsbench compare --tier histogram``
ranks it (intervals and paired tests over test images) and ``vsbench report`` gives it a
section. Nothing inside vsbench names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from vsbench import TierInputs, TierSpec, hookimpl

NAME = "histogram"
METRIC = "hist_w1"
PER_IMAGE_FILE = "per_image_histogram.csv"
AVERAGE = "Average"


def wasserstein_1(a: np.ndarray, b: np.ndarray) -> float:
    """The Wasserstein-1 distance between two equally large samples of values: the mean
    absolute difference of their sorted values (exact for equal sizes)."""
    return float(np.mean(np.abs(np.sort(a, axis=None) - np.sort(b, axis=None))))


def score(inputs: TierInputs, done: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Write the per-image table and return the tier's summary (``metrics.json``'s
    ``tiers.histogram.summary``)."""
    prediction, real = np.asarray(inputs.prediction), np.asarray(inputs.targets())
    if prediction.shape != real.shape:
        raise ValueError(f"predictions {prediction.shape} and real stains {real.shape} differ")
    rows = []
    for sample_id, predicted, truth in zip(inputs.sample_ids, prediction, real):
        distances = {c: wasserstein_1(p, t) for c, p, t in zip(inputs.channels, predicted, truth)}
        rows.append({"sample_id": sample_id, **distances,
                     AVERAGE: float(np.mean(list(distances.values())))})
    table = pd.DataFrame(rows)
    table.to_csv(Path(inputs.folder) / PER_IMAGE_FILE, index=False)
    return {"version": 1, "n_images": len(rows),
            "average": float(table[AVERAGE].mean()),
            "per_channel": {c: float(table[c].mean()) for c in inputs.channels}}


def read_units(folder: Path) -> pd.DataFrame | None:
    """The per-image table as the board reads it: columns ``(channel, hist_w1)``."""
    path = Path(folder) / PER_IMAGE_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"sample_id": str}).set_index("sample_id")
    frame.columns = pd.MultiIndex.from_tuples([(c, METRIC) for c in frame.columns])
    return frame.astype(float)


def headline(summary: Mapping[str, Any]) -> str:
    """The line ``vsbench run``, ``evaluate`` and ``score`` print for this tier."""
    return (f"intensity histogram distance (Wasserstein-1, Average over channels) "
            f"{summary['average']:.4f}")


def figures(board: Any, runs: pd.DataFrame, data_root: Path, palette: Any) -> list:
    """One figure for ``vsbench report``: each method's mean distance per channel (``runs``:
    this tier's long table of the section's runs; ``board``: the section's pixel leaderboard,
    whose rank order the bars follow)."""
    from vsbench.report.images import figure_image, pyplot

    mine = runs[runs["metric"] == METRIC]
    means = mine.groupby(["label", "channel"], sort=False)["value"].mean().unstack("channel")
    methods = [str(m) for m in board.table.index if m in means.index]
    channels = list(dict.fromkeys(mine["channel"]))
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.0, 2.6))
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(channels))
    for k, method in enumerate(methods):
        ax.bar(x + k * width, means.loc[method, channels].to_numpy(dtype=float), width,
               label=method, color=palette.color(method))
    ax.set_xticks(x + width * (len(methods) - 1) / 2, channels, fontsize=7)
    ax.set_ylabel("Wasserstein-1", fontsize=8)
    return [figure_image(fig, "intensity histogram distance per channel",
                         "Wasserstein-1 distance between predicted and real intensities, "
                         "mean over test images and runs (lower is better).",
                         methods, palette.colors(methods))]


TIER = TierSpec(
    name=NAME,
    description="intensity histogram distance: Wasserstein-1 between predicted and real "
                "pixel intensities per image and channel",
    metrics=(METRIC,), higher_is_better={METRIC: False}, default_sort=(AVERAGE, METRIC),
    unit="test images", files=(PER_IMAGE_FILE,), record_key="tiers", read_units=read_units,
    scored=lambda summary: "average" in summary, score=score,
    expected_units=lambda record: int(record.n_test_images),
    notes=("It compares intensity distributions only: where the intensities sit is not "
           "seen (a stain with its pixels shuffled scores 0).",),
    headline=headline, figures=figures,
    key_numbers={"histogram W1": (("average",), False)})


@hookimpl
def vsbench_tiers() -> list[TierSpec]:
    """The tiers this package adds."""
    return [TIER]
