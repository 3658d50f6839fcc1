"""A run's biological tiers: keep its test predictions, score them, never lose the run.

After the test split is predicted, :func:`keep_and_score` writes ``test_predictions.npz``
(:mod:`vsbench.engine.predictions`) and scores the instance and feature tiers on it
(:func:`vsbench.biometrics.scoring.score_run`), with the ground truth cached under the data
root. A failure of the tiers does not fail a run that trained and predicted: the summary then
records the error, the run's predictions are on disk, and ``vsbench evaluate --tier all RUN``
scores them again. :func:`later_tiers` then scores the profile tier (well-level mAP from the
per-cell features) and the posterior tier (``n_samples`` samples of a stochastic method), each
recorded as an error, never raised, when it fails (``vsbench evaluate --tier profiles|posterior
RUN`` scores it again). ``VSBENCH_TIER_WORKERS`` (default 1) spreads the fields over processes.
``VSBENCH_TIERS=pixel`` skips every tier but the pixel one (the predictions are still kept, so
``vsbench evaluate`` scores them later): for quick experiments, and for the test suite's runs
that test other things.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import numpy as np
from rich.console import Console

from vsbench.biometrics.feature_posterior import feature_ensembles
from vsbench.biometrics.scoring import score_run
from vsbench.engine.evaluate import FieldCollector
from vsbench.engine.plan import RunPlan
from vsbench.engine.posterior import score_posterior
from vsbench.engine.predictions import save_test_predictions
from vsbench.layout import dataset_folder
from vsbench.method import Method
from vsbench.profiles.tier import profile_tier
from vsbench.progress import progress_bar
from vsbench.store import RunFolder

WORKERS_VARIABLE = "VSBENCH_TIER_WORKERS"
TIERS_VARIABLE = "VSBENCH_TIERS"


def tiers_skipped() -> bool:
    """Whether ``VSBENCH_TIERS=pixel`` asks runs to score the pixel tier only."""
    return os.environ.get(TIERS_VARIABLE, "all").strip().lower() == "pixel"


def tier_workers() -> int:
    """The processes the tiers use (``VSBENCH_TIER_WORKERS``, default 1)."""
    try:
        return max(1, int(os.environ.get(WORKERS_VARIABLE, "1")))
    except ValueError:
        return 1


def keep_and_score(plan: RunPlan, folder: RunFolder, fields: FieldCollector,
                   console: Console) -> dict[str, Any]:
    """Save the run's test predictions and return the biological tiers' summary."""
    ids = [i for i in plan.test_ids if i in fields.predictions]
    channels = list(plan.source.info.channels)
    prediction = np.stack([fields.predictions[i] for i in ids])
    save_test_predictions(folder.path, prediction, ids, channels)
    if tiers_skipped():
        return {"skipped": f"{TIERS_VARIABLE}=pixel; score them with `vsbench evaluate --tier "
                           f"all {folder.path}`"}
    try:
        with progress_bar(console, "instance and feature tiers", None):
            return score_run(
                folder.path, prediction, ids, channels,
                dataset_fingerprint=plan.config.dataset_fingerprint, split_hash=plan.split.hash,
                cache_dir=dataset_folder(plan.data_root, plan.request.dataset).biometrics_cache,
                targets=lambda: np.stack([fields.targets[i] for i in ids]),
                workers=tier_workers())
    except Exception as exc:  # the tiers must not cost a trained run
        console.print(f"[yellow]warning:[/] the biological tiers failed ({type(exc).__name__}: "
                      f"{exc}); score them later with `vsbench evaluate --tier all "
                      f"{folder.path}`.", highlight=False, soft_wrap=True)
        return {"error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()}


def _guarded(name: str, folder: RunFolder, console: Console, work,
             shown: bool = True) -> dict[str, Any]:
    """``work()``, the tier ``name``'s summary (``shown``: under a bar with its elapsed
    time); a failure is a warning and an ``error`` summary, never the end of the run."""
    try:
        if not shown:
            return work()
        with progress_bar(console, f"{name} tier", None):
            return work()
    except Exception as exc:  # a tier must not cost a trained run
        console.print(f"[yellow]warning:[/] the {name} tier failed ({type(exc).__name__}: "
                      f"{exc}); score it later with `vsbench evaluate --tier {name} "
                      f"{folder.path}`.", highlight=False, soft_wrap=True)
        return {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def later_tiers(plan: RunPlan, folder: RunFolder, fields: FieldCollector,
                biometrics: dict[str, Any], method: Method, test_data: Any, console: Console,
                distributed: bool = False) -> dict[str, dict[str, Any]]:
    """The ``profiles`` and ``posterior`` summaries of a run that predicted ``fields``."""
    if tiers_skipped():
        note = (f"{TIERS_VARIABLE}=pixel; score it with `vsbench evaluate --tier "
                "{tier} " + str(folder.path) + "`")
        return {tier: {"skipped": note.format(tier=tier)} for tier in ("profiles", "posterior")}
    ids = [i for i in plan.test_ids if i in fields.predictions]
    cache = dataset_folder(plan.data_root, plan.request.dataset).biometrics_cache
    out = {"profiles": _guarded("profiles", folder, console, lambda: profile_tier(
        folder.path, plan.source.records(), ids, biometrics, cache))}
    stochastic = bool(getattr(plan.method_entry.spec, "stochastic", False))
    run = plan.resolved.run
    if distributed and stochastic:
        out["posterior"] = {"skipped": "a distributed run draws no extra samples; score them "
                                       f"with `vsbench evaluate --tier posterior {folder.path}`"}
        return out
    channels = list(plan.source.info.channels)

    def posterior() -> dict[str, Any]:
        cells, note = feature_ensembles(biometrics, cache, channels)
        return score_posterior(
            folder.path, channels, {i: fields.predictions[i] for i in ids},
            {i: fields.targets[i] for i in ids}, stochastic=stochastic,
            n_samples=run.n_samples, seed=plan.request.seed, method=method, data=test_data,
            run=run, device=plan.device, cell_features=cells, cell_features_note=note,
            console=console)

    # the sampling draws its own bar (images sampled, with an ETA)
    out["posterior"] = _guarded("posterior", folder, console, posterior, shown=False)
    return out
