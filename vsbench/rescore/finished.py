"""Score a finished run's saved test predictions for the biological tiers, without retraining.

:func:`rescore_run` is ``vsbench evaluate``: it reads a completed run's
``test_predictions.npz`` (:func:`vsbench.engine.predictions.load_test_predictions`), scores it
(:func:`vsbench.biometrics.scoring.score_run`; the ground truth from the data root's cache,
else from the dataset's real stains at the run's size) and rewrites the run's ``metrics.json``
with the new summaries merged in, atomically. The run stays completed; its other records and
scores are untouched. ``--tier profiles`` scores the profile tier from the run's
``cell_features.csv.gz``; ``--tier posterior`` the posterior tier
(:mod:`vsbench.rescore.posterior`: a stochastic method's checkpoint reloaded and
sampled, a deterministic one's saved predictions as a point mass).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from vsbench import atomic
from vsbench.plain import plain_json
from vsbench.biometrics.segmenters import DEFAULT_SEGMENTER
from vsbench.biometrics.tiers import TIERS
from vsbench.tiers.contract import TierInputs
from vsbench.tiers.driver import score_tiers
from vsbench.tiers.registry import choose
from vsbench.data.splits import fields_text
from vsbench.engine.predictions import load_test_predictions
from vsbench.errors import ResultsError
from vsbench.layout import TEST_FIELDS_FILE, dataset_folder, recorded_data_root
from vsbench.plugins import Registry, default_registry
from vsbench.records import ConfigRecord, MetricsRecord
from vsbench.store import RunFolder


def tiers_of(choice: str) -> tuple[str, ...]:
    """The tiers of ``--tier`` (one scored tier of the registry, or ``all``)."""
    return choose(choice)


def _source(config: ConfigRecord, data_root: Path, registry: Registry):
    """The dataset source the run used (its fingerprint checked)."""
    source = registry.dataset(config.dataset).spec.factory(data_root)
    if source.fingerprint() != config.dataset_fingerprint:
        raise ResultsError(f"the dataset '{config.dataset}' under {data_root} is not the one "
                           f"the run used (fingerprint {source.fingerprint()}, the run recorded "
                           f"{config.dataset_fingerprint}); pass its --data-root.")
    return source


def _targets(config: ConfigRecord, data_root: Path, sample_ids: Sequence[str], size: int,
             registry: Registry) -> np.ndarray:
    """The real stains of ``sample_ids`` at ``size``, read as the run read them."""
    return real_stains(_source(config, data_root, registry), data_root, sample_ids, size)


def real_stains(source, data_root: Path, sample_ids: Sequence[str], size: int) -> np.ndarray:
    """The real stains ``(N, C, size, size)`` of ``sample_ids`` of a dataset ``source``, read
    as a run reads its test fields (through the source's cache at ``size``)."""
    from vsbench.data.torch_dataset import PairedImageDataset

    data = PairedImageDataset(source.for_run(size, data_root), list(sample_ids), size)
    return np.stack([data[i]["fluorescence"].numpy() for i in range(len(data))])


def rescore_run(path: Path, tiers: Sequence[str] = TIERS, data_root: Path | None = None,
                segmenter: str = DEFAULT_SEGMENTER, workers: int = 1,
                registry: Registry | None = None, device: str = "auto",
                console: Any = None) -> MetricsRecord:
    """Score the completed run at ``path`` for ``tiers`` and return its updated metrics
    (``metrics.json`` rewritten atomically, every other summary in it kept). The posterior
    tier of a stochastic method reloads the run's checkpoint on ``device`` and samples
    (its progress drawn on ``console``, when given)."""
    folder = RunFolder(Path(path))
    if not folder.path.is_dir():
        raise ResultsError(f"{path}: no such run folder; pass a folder under "
                           "<results>/runs/<dataset>/<method>/.")
    state = folder.state()
    if state != "completed":
        raise ResultsError(f"{path}: the run is {state}, not completed; only a completed run "
                           "can be scored (finish it with `vsbench run ... --resume`).")
    config, metrics = folder.read_config(), folder.read_metrics()
    saved = load_test_predictions(folder.path)
    root = Path(data_root) if data_root is not None else recorded_data_root(
        config.split_manifest)
    size = int(saved.prediction.shape[-1])
    registry = registry or default_registry()
    source = lambda: _source(config, root, registry)  # noqa: E731 - checked when first needed

    def sample(biometrics):
        from vsbench.rescore.posterior import rescore_posterior

        return rescore_posterior(folder, config, saved, root, registry, device,
                                 lambda: _targets(config, root, saved.sample_ids, size,
                                                  registry),
                                 biometrics=biometrics, console=console)

    inputs = TierInputs(
        folder=folder.path, prediction=saved.prediction, sample_ids=list(saved.sample_ids),
        channels=list(saved.channels), dataset_fingerprint=config.dataset_fingerprint,
        split_hash=config.split_hash,
        cache_dir=dataset_folder(root, config.dataset).biometrics_cache,
        targets=lambda: _targets(config, root, saved.sample_ids, size, registry),
        records=lambda: source().records(), sample=sample, segmenter=segmenter,
        workers=workers, console=console)
    # Asked for explicitly: a failure is raised and metrics.json keeps its old scores.
    scored = score_tiers(inputs, tiers, done=_summaries(metrics), guard=False)
    updated = metrics.replace(**{k: plain_json(v) for k, v in scored.items() if k != "tiers"})
    # the tiers scored now replace their entries; the others' are kept
    updated = updated.replace(tiers={**metrics.tiers, **plain_json(scored.get("tiers", {}))})
    if not folder.file(TEST_FIELDS_FILE).is_file():  # a run made before the file
        atomic.write_text(folder.file(TEST_FIELDS_FILE), fields_text(source().records(),
                                                                     saved.sample_ids))
    folder.write_metrics(updated)
    return updated


def _summaries(metrics: MetricsRecord) -> dict[str, Any]:
    """The tier summaries a run's record already has, by ``metrics.json`` key."""
    from vsbench.tiers.registry import all_tiers

    keys = dict.fromkeys(spec.record_key for spec in all_tiers().values()
                         if spec.score is not None and spec.record_key != "tiers")
    out = {k: getattr(metrics, k) for k in keys if getattr(metrics, k) is not None}
    plugins = {name: entry["summary"] for name, entry in metrics.tiers.items()
               if "summary" in entry}
    if plugins:
        out["tiers"] = plugins
    return out
