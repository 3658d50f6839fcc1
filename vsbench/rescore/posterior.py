"""The posterior tier of a finished run, without retraining (``vsbench evaluate --tier
posterior``).

A deterministic method's saved test predictions are its ensemble (a point mass). A stochastic
method is rebuilt with its trained weights (:func:`vsbench.engine.build.load_trained`), and
``n_samples - 1`` samples per test image are drawn beside the saved first sample, as the run
itself does (:func:`vsbench.engine.posterior.score_posterior`, same seed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from vsbench import config as cfg
from vsbench.engine.posterior import score_posterior
from vsbench.engine.predictions import SavedPredictions
from vsbench.errors import ResultsError
from vsbench.plugins import Registry
from vsbench.records import ConfigRecord
from vsbench.store import RunFolder


def posterior_settings(config: ConfigRecord, registry: Registry) -> tuple[bool, int]:
    """Whether the run's method is stochastic, and its ``n_samples`` (as the run recorded;
    a run made before the tier: the plugin's declaration and the default)."""
    from vsbench.engine.plan import POSTERIOR_SETTINGS

    recorded = config.extra.get(POSTERIOR_SETTINGS) or {}
    stochastic = recorded.get("stochastic")
    if stochastic is None:
        stochastic = registry.method(config.method).spec.stochastic
    n_samples = recorded.get("n_samples") or config.run.get("n_samples") or cfg.DEFAULT_N_SAMPLES
    return bool(stochastic), int(n_samples)


def rescore_posterior(folder: RunFolder, config: ConfigRecord, saved: SavedPredictions,
                      data_root: Path, registry: Registry, device: str,
                      targets: Callable[[], np.ndarray],
                      biometrics: dict[str, Any] | None = None, console: Any = None
                      ) -> dict[str, Any]:
    """The ``posterior`` summary of the completed run in ``folder`` (its files rewritten);
    with the run's feature tier summary ``biometrics``, the samples' cell features too
    (``console``: where the sampling's progress bar is drawn)."""
    from vsbench.biometrics.feature_posterior import feature_ensembles
    from vsbench.layout import dataset_folder

    stochastic, n_samples = posterior_settings(config, registry)
    channels = list(saved.channels)
    cells, note = feature_ensembles(biometrics, dataset_folder(data_root, config.dataset)
                                    .biometrics_cache, channels)
    extra = {"cell_features": cells, "cell_features_note": note}
    first = {i: saved.prediction[k].astype(np.float32) for k, i in enumerate(saved.sample_ids)}
    if not stochastic or n_samples < 2:
        real = targets()
        return score_posterior(folder.path, channels, first,
                               {i: real[k] for k, i in enumerate(saved.sample_ids)},
                               stochastic=stochastic, n_samples=n_samples, seed=config.seed,
                               **extra)
    from vsbench.engine.build import build_data, load_trained
    from vsbench.engine.runtime import select_device

    trained = load_trained(folder, select_device(device), data_root, registry)
    _, test_data = build_data(trained.plan)
    missing = [r.sample_id for r in test_data.records if r.sample_id not in first]
    if missing:
        raise ResultsError(f"{folder.path}: the saved test predictions lack {len(missing)} "
                           f"test field(s) (e.g. {missing[0]}); re-run the run.")
    return score_posterior(folder.path, channels, first, None, stochastic=True,
                           n_samples=n_samples, seed=config.seed, method=trained.method,
                           data=test_data, run=trained.plan.resolved.run,
                           device=trained.plan.device, console=console, **extra)
