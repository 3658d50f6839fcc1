"""A run's tiers after its prediction loop: keep its test predictions, then score every tier
with the driver (:mod:`vsbench.tiers.driver`), never losing the run.

:func:`score_run_tiers` writes ``test_predictions.npz`` (:mod:`vsbench.engine.predictions`)
first, so a tier that fails (recorded as an error in its summary, with a warning) can be scored
again from the run's files with ``vsbench evaluate --tier NAME RUN``. What is particular to a
fresh run is only how its inputs are built (:func:`run_inputs`): the predictions and real
stains collected during evaluation, and the posterior tier's sampler, the trained method itself
(a distributed run draws no extra samples: that tier is then skipped with the command that
scores it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console

from vsbench.engine.evaluate import FieldCollector
from vsbench.engine.plan import RunPlan
from vsbench.engine.predictions import save_test_predictions
from vsbench.layout import dataset_folder
from vsbench.method import Method
from vsbench.store import RunFolder
from vsbench.tiers.contract import TierInputs
from vsbench.tiers.driver import score_tiers, tier_workers
from vsbench.tiers.registry import scored_tiers


def run_inputs(plan: RunPlan, folder: RunFolder, fields: FieldCollector, method: Method,
               test_data: Any, console: Console, distributed: bool = False) -> TierInputs:
    """The tiers' inputs of a run that predicted ``fields`` (in the test split's order)."""
    ids = [i for i in plan.test_ids if i in fields.predictions]
    channels = list(plan.source.info.channels)
    cache = dataset_folder(plan.data_root, plan.request.dataset).biometrics_cache
    stochastic = plan.method_entry.spec.stochastic
    run = plan.resolved.run

    def sample(biometrics: dict[str, Any] | None) -> dict[str, Any]:
        from vsbench.biometrics.feature_posterior import feature_ensembles
        from vsbench.engine.posterior import score_posterior

        if distributed and stochastic:
            return {"skipped": "a distributed run draws no extra samples; score them with "
                               f"`vsbench evaluate --tier posterior {folder.path}`"}
        cells, note = feature_ensembles(biometrics, cache, channels)
        return score_posterior(
            folder.path, channels, {i: fields.predictions[i] for i in ids},
            {i: fields.targets[i] for i in ids}, stochastic=stochastic,
            n_samples=run.n_samples, seed=plan.request.seed, method=method, data=test_data,
            run=run, device=plan.device, cell_features=cells, cell_features_note=note,
            console=console)

    return TierInputs(
        folder=folder.path, prediction=np.stack([fields.predictions[i] for i in ids]),
        sample_ids=ids, channels=channels,
        dataset_fingerprint=plan.config.dataset_fingerprint, split_hash=plan.split.hash,
        cache_dir=cache, targets=lambda: np.stack([fields.targets[i] for i in ids]),
        records=plan.source.records, sample=sample, workers=tier_workers(), console=console)


def score_run_tiers(plan: RunPlan, folder: RunFolder, fields: FieldCollector, method: Method,
                    test_data: Any, console: Console, distributed: bool = False
                    ) -> dict[str, Any]:
    """Save the run's test predictions and return every tier's summary by ``metrics.json``
    key (``biometrics``, ``profiles``, ``posterior``, plugins' ``tiers``)."""
    inputs = run_inputs(plan, folder, fields, method, test_data, console, distributed)
    save_test_predictions(folder.path, inputs.prediction, inputs.sample_ids, inputs.channels)
    return score_tiers(inputs, scored_tiers())
