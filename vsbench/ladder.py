"""The known-answer ladder: stains whose order is known, scored as submissions, to show which
tiers order them as they must (``vsbench validate-tiers``).

From the test split's real stains (read as a run reads them) it makes:

- ``real``: the real stain itself (every tier must put it first);
- ``noise-S``: the real stain plus Gaussian noise of standard deviation S, clipped to [0, 1]
  (more noise must score worse);
- ``blur-S``: the real stain blurred with a Gaussian of S pixels (more blur must score worse);
- ``swapped-biology``: each field's channels histogram-matched to a field of another
  perturbation: the cells and their shapes are where they were (pixel correlation stays high),
  but every intensity is another perturbation's (the feature and profile tiers must score it
  below the real stain);
- ``mean-image``: the per-pixel mean of the test fields, the same for every field;
- ``channel-swap``: the real channels in another order (DNA predicted as ER, ...).

Each is scored with :func:`vsbench.score.submitted.score_submission` (pixel, instance,
feature and profile tiers) into a results folder of its own; :func:`check_orders` lists the
orders each tier's headline metric gets right or wrong.

The posterior tier needs ensembles, which a submission does not have: :func:`posterior_rungs`
makes ensembles of known spread around the real stains (the truth and the S samples drawn
around the real stain with SD ``sd``; the samples' SD exact, halved or doubled) and scores
them with the tier's own code (:class:`vsbench.posterior.PosteriorScores`);
:func:`check_posterior` says whether coverage and ``outside_range`` order them and whether
the calibrated one lands where the formulas say.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

NOISE_LEVELS = (0.05, 0.1, 0.2)
BLUR_SIGMAS = (1.0, 2.0, 4.0)


def headlines() -> dict[str, tuple[tuple[str, ...], bool]]:
    """Each tier's headline numbers (:attr:`vsbench.tiers.TierSpec.key_numbers`, in the
    registry's order, a plugin's included): a ``metrics.json`` path and its direction."""
    from vsbench.tiers.registry import all_tiers

    out = {}
    for spec in all_tiers().values():
        # A plugin's summary sits in the record's tiers entry (vsbench.tiers.driver).
        where = (("tiers", spec.name, "summary") if spec.record_key == "tiers"
                 else (spec.record_key,))
        for label, (path, higher) in spec.key_numbers.items():
            out[label] = ((*where, *path), higher)
    return out

# the tiers that must see swapped biology's loss
BIOLOGY = ("median feature r", "activity mAP", "cross-modal mAP")
# The posterior rungs: the samples' SD relative to the truth's (1: calibrated).
SPREADS = {"calibrated": 1.0, "too narrow (x0.5)": 0.5, "too wide (x2)": 2.0}
POSTERIOR_SD = 0.05
POSTERIOR_SAMPLES = 4
# How far the calibrated rung may sit from the formulas: outside_range is exact for any
# continuous distribution; the interval coverage's formula is exact for uniform values only
# (normal ones reach about 0.32 / 0.56 at S = 4: vsbench.posterior.calibrated_coverage).
OUTSIDE_TOLERANCE, COVERAGE_TOLERANCE = 0.02, 0.035


@dataclass(frozen=True)
class Rung:
    """One stain of the ladder: its name and its fields ``(N, C, H, W)`` on [0, 1]."""

    name: str
    stain: np.ndarray


def _blur(stain: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(stain, sigma=(0, 0, sigma, sigma), mode="reflect")


def _swapped(stain: np.ndarray, perturbations: Sequence[str], seed: int) -> np.ndarray:
    """Each field's channels histogram-matched to a random field of another perturbation."""
    from skimage.exposure import match_histograms

    rng = np.random.default_rng(seed)
    labels = np.asarray(perturbations)
    out = np.empty_like(stain)
    for i, label in enumerate(labels):
        others = np.flatnonzero(labels != label)
        donor = stain[rng.choice(others)] if len(others) else stain[i]
        for c in range(stain.shape[1]):
            out[i, c] = match_histograms(stain[i, c], donor[c])
    return out


def make_rungs(real: np.ndarray, perturbations: Sequence[str], seed: int = 0,
               noise: Iterable[float] = NOISE_LEVELS, blur: Iterable[float] = BLUR_SIGMAS
               ) -> list[Rung]:
    """The ladder's stains from the real stains ``real`` ``(N, C, H, W)`` and each field's
    perturbation."""
    real = np.asarray(real, dtype=np.float32)
    rng = np.random.default_rng(seed)
    rungs = [Rung("real", real)]
    rungs += [Rung(f"noise-{s:g}", np.clip(real + rng.normal(0, s, real.shape), 0, 1)
                   .astype(np.float32)) for s in noise]
    rungs += [Rung(f"blur-{s:g}", _blur(real, s).astype(np.float32)) for s in blur]
    rungs.append(Rung("swapped-biology", _swapped(real, perturbations, seed).astype(np.float32)))
    rungs.append(Rung("mean-image", np.broadcast_to(real.mean(axis=0, keepdims=True),
                                                    real.shape).astype(np.float32)))
    rungs.append(Rung("channel-swap", np.roll(real, 1, axis=1).copy()))
    return rungs


def headline(record: dict, path: tuple[str, ...]) -> float:
    """The value at ``path`` of a metrics record (NaN where the tier did not score)."""
    value = record
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return float("nan")
        value = value[key]
    return float(value) if isinstance(value, (int, float)) else float("nan")


def expected_orders(names: Sequence[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The pairs ``(better, worse, tiers)`` the ladder asserts: the real stain above every
    other rung on every tier (swapped-biology: on the biological tiers only, its pixels are
    plausible), each noise and blur level above the next."""
    every = tuple(headlines())
    pairs = []
    for name in names:
        if name != "real":
            pairs.append(("real", name, BIOLOGY if name == "swapped-biology" else every))
    for prefix in ("noise-", "blur-"):
        levels = sorted((n for n in names if n.startswith(prefix)),
                        key=lambda n: float(n[len(prefix):]))
        pairs += [(a, b, every) for a, b in zip(levels, levels[1:])]
    return pairs


def check_orders(scores: dict[str, dict[str, float]], tolerance: float = 0.0
                 ) -> list[dict]:
    """Per expected pair and tier: whether the better rung scored higher (ties within
    ``tolerance`` count as not ordered: the tier cannot tell the two apart)."""
    out = []
    for better, worse, tiers in expected_orders(list(scores)):
        for tier in tiers:
            a, b = scores[better].get(tier, np.nan), scores[worse].get(tier, np.nan)
            higher = headlines()[tier][1]
            # a worse rung the tier cannot score at all (a constant stain leaves no profile)
            # is below one it scores
            ok = bool(np.isfinite(a) and (not np.isfinite(b) or (
                (a - b) > tolerance if higher else (b - a) > tolerance)))
            out.append({"better": better, "worse": worse, "tier": tier, "better_value": a,
                        "worse_value": b, "ordered": ok})
    return out


def posterior_rungs(real: np.ndarray, n_samples: int = POSTERIOR_SAMPLES,
                    sd: float = POSTERIOR_SD, seed: int = 0) -> dict[str, dict[str, float]]:
    """Per spread of :data:`SPREADS`, the posterior tier's Average scores of ensembles around
    ``real`` ``(N, C, H, W)``: the truth ``real + N(0, sd)``, the ``n_samples`` samples
    ``real + N(0, sd * spread)``, both clipped to [0, 1] as stains are."""
    from vsbench.posterior import PosteriorScores

    real = np.asarray(real, dtype=np.float64)
    channels = [f"c{c}" for c in range(real.shape[1])]
    out = {}
    for name, spread in SPREADS.items():
        rng = np.random.default_rng(seed)
        scores = PosteriorScores(channels)
        for i, field in enumerate(real):
            truth = np.clip(field + rng.normal(0, sd, field.shape), 0, 1)
            samples = np.clip(field[None] + rng.normal(0, sd * spread,
                                                       (n_samples, *field.shape)), 0, 1)
            scores.add(str(i), samples, truth)
        average = scores.summary()["average"]
        out[name] = {k: average[k] for k in ("coverage_50", "coverage_90", "outside_range",
                                             "crps")}
    return out


def check_posterior(scores: dict[str, dict[str, float]],
                    n_samples: int = POSTERIOR_SAMPLES) -> list[dict]:
    """What the posterior rungs must show: coverage rising and ``outside_range`` falling from
    the too-narrow to the too-wide ensemble, and the calibrated one at the formulas' values
    (``outside_range`` within :data:`OUTSIDE_TOLERANCE` of 2/(S+1), coverage within
    :data:`COVERAGE_TOLERANCE` of (S-1)/(S+1) x level)."""
    from vsbench.posterior import calibrated_coverage, calibrated_outside

    narrow, calibrated, wide = (scores[name] for name in ("too narrow (x0.5)", "calibrated",
                                                          "too wide (x2)"))
    checks = []
    for column in ("coverage_50", "coverage_90"):
        checks.append({"check": f"{column}: narrow < calibrated < wide",
                       "ok": bool(narrow[column] < calibrated[column] < wide[column])})
        level = int(column.split("_")[1]) / 100
        expected = calibrated_coverage(level, n_samples)
        checks.append({"check": f"{column} of the calibrated ensemble ~ {expected:.2f}",
                       "value": calibrated[column],
                       "ok": bool(abs(calibrated[column] - expected) <= COVERAGE_TOLERANCE)})
    checks.append({"check": "outside_range: narrow > calibrated > wide",
                   "ok": bool(narrow["outside_range"] > calibrated["outside_range"]
                              > wide["outside_range"])})
    expected = calibrated_outside(n_samples)
    checks.append({"check": f"outside_range of the calibrated ensemble ~ {expected:.2f}",
                   "value": calibrated["outside_range"],
                   "ok": bool(abs(calibrated["outside_range"] - expected)
                              <= OUTSIDE_TOLERANCE)})
    return checks


def real_test_stains(dataset: str, data_root: Path, size: int
                ) -> tuple[list[str], list[str], np.ndarray]:
    """The test split's ids, each field's perturbation, and the real stains at ``size``."""
    from vsbench.data.splits import load_or_create_split
    from vsbench.rescore.finished import real_stains
    from vsbench.layout import dataset_folder
    from vsbench.plugins import default_registry

    source = default_registry().dataset(dataset).spec.factory(Path(data_root))
    split = load_or_create_split(source.records(),
                                 dataset_folder(data_root, dataset).split_manifest)
    ids = list(split.ids("test"))
    by_id = {r.sample_id: r for r in source.records()}
    perturbations = [str(by_id[i].labels.get("perturbation")) for i in ids]
    return ids, perturbations, real_stains(source, Path(data_root), ids, size)


def run_ladder(dataset: str, results: Path, data_root: Path, size: int = 64, seed: int = 0,
               noise: Iterable[float] = NOISE_LEVELS, blur: Iterable[float] = BLUR_SIGMAS,
               console=None) -> dict[str, dict[str, float]]:
    """Make the ladder from ``dataset``'s test split, score every rung as a submission into
    ``results`` (a folder of its own: these are not methods), and return each rung's headline
    values."""
    import tempfile

    from vsbench.score.submitted import score_submission
    from vsbench.progress import progress_bar

    ids, perturbations, real = real_test_stains(dataset, data_root, size)
    made = make_rungs(real, perturbations, seed, noise, blur)
    scores: dict[str, dict[str, float]] = {}
    with progress_bar(console, "ladder", len(made)) as bar:
        for rung in made:
            with tempfile.TemporaryDirectory() as folder:
                for sid, field in zip(ids, rung.stain):
                    np.save(Path(folder) / f"{sid}.npy", np.ascontiguousarray(field))
                _, record = score_submission(Path(folder), dataset, f"ladder-{rung.name}",
                                             description=f"known-answer ladder: {rung.name}",
                                             results=results, data_root=data_root,
                                             preset="ladder", image_size=size)
            as_json = record.to_json()
            scores[rung.name] = {tier: headline(as_json, path)
                                 for tier, (path, _) in headlines().items()}
            bar.advance(1, rung.name)
    return scores
