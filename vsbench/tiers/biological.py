"""The instance and feature tiers' shared scoring pass (:func:`vsbench.biometrics.scoring.
score_run`): both need the ground truth's objects, so when both are asked for they are scored
in one pass over the fields and share one summary, ``metrics.json``'s ``biometrics``."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from vsbench.tiers.contract import TierInputs


def score_biological(inputs: TierInputs, done: Mapping[str, Any],
                     names: Sequence[str]) -> dict[str, Any]:
    """The ``biometrics`` summary of the tiers ``names`` (instance, features), merged into
    the summary the run already has (``done["biometrics"]``), so that scoring one tier keeps
    the other's numbers."""
    from vsbench.biometrics.scoring import score_run

    summary = score_run(
        inputs.folder, inputs.prediction, inputs.sample_ids, inputs.channels,
        dataset_fingerprint=inputs.dataset_fingerprint, split_hash=inputs.split_hash,
        cache_dir=inputs.cache_dir, targets=inputs.targets, tiers=tuple(names),
        segmenter=inputs.segmenter, workers=inputs.workers)
    return merged(done.get("biometrics"), summary)


def merged(old: Mapping[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """A run's tier summary ``old`` with the tiers ``new`` scored replacing theirs."""
    if not old or "error" in old or "skipped" in new or old.get("skipped"):
        return new
    from vsbench.biometrics.tiers import TIERS

    out = {**old, **new}
    out["tiers"] = [t for t in TIERS if t in set(old.get("tiers", [])) | set(new["tiers"])]
    return out
