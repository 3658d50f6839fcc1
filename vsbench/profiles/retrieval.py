"""Does a set of profiles retrieve its perturbations? copairs' mean average precision.

- Phenotypic activity: for each perturbation, its replicate profiles are queries; positives
  are the other replicates of the same perturbation, negatives the control profiles. mAP
  near 1 means the perturbation is told apart from the controls; a permutation p-value
  (copairs' null distribution, Benjamini-Hochberg corrected) says whether it is retrieved.
- Phenotypic consistency: on the perturbations' consensus (mean) profiles, treated ones only,
  positives are other perturbations with the same target, negatives those with another.
- Cross-modal retrieval (:func:`cross_modal`): each virtual well profile is a query among
  the real stain's profiles; positives are the real profiles of its perturbation (its own
  well's among them), negatives every other real profile. The question a biologist asks of a
  virtual stain - does it put a well where the real stain puts that perturbation - answered
  with the real stain's own profiles as the reference: the real stain itself scores highest,
  and a stain that blurs or shuffles the phenotype scores lower (the known-answer ladder,
  :mod:`vsbench.ladder`), where the activity mAP rewards smooth predictions.
- Agreement: correlation over perturbations of the real and the virtual stain's mAP.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from vsbench.errors import MetricError
from vsbench.profiles.wells import feature_columns

RETRIEVAL_THRESHOLD = 0.05  # corrected p below this: the perturbation is retrieved
NULL_SIZE = 10000
SEED = 0
_REFERENCE = "Metadata_Reference_Index"


def _map(meta: pd.DataFrame, feats: np.ndarray, pos_sameby, pos_diffby, neg_sameby,
         neg_diffby, group: str, null_size: int, queries: str | None = None) -> pd.DataFrame:
    """copairs' mAP per ``group``; ``queries``: a pandas query naming the profiles whose
    average precision counts (default: every profile with a positive)."""
    from copairs import map as copairs_map

    ap = copairs_map.average_precision(meta, feats, pos_sameby, pos_diffby, neg_sameby,
                                       neg_diffby, progress_bar=False)
    ap = ap.dropna(subset=["average_precision"])
    if queries is not None:
        ap = ap.query(queries)
    if ap.empty:
        raise MetricError(f"mAP undefined: no {group} has two replicate profiles and a "
                          "negative to rank against.")
    scores = copairs_map.mean_average_precision(ap, [group], null_size=null_size,
                                                threshold=RETRIEVAL_THRESHOLD, seed=SEED,
                                                progress_bar=False)
    return scores.rename(columns={"mean_average_precision": "map",
                                  "corrected_p_value": "p_corrected",
                                  "below_corrected_p": "retrieved"})


def phenotypic_activity(profiles: pd.DataFrame, perturbation: str = "Metadata_Perturbation",
                        control: str = "Metadata_Control",
                        null_size: int = NULL_SIZE) -> pd.DataFrame:
    """Per treated perturbation: ``map``, ``p_value``, ``p_corrected``, ``retrieved``."""
    from copairs.matching import assign_reference_index

    frame = profiles.reset_index(drop=True)
    frame = assign_reference_index(frame, f"`{control}` == True", reference_col=_REFERENCE)
    features = feature_columns(frame.drop(columns=[_REFERENCE]))
    meta = frame[[c for c in frame.columns if c not in features]]
    scores = _map(meta, frame[features].to_numpy(dtype=float),
                  [perturbation, _REFERENCE], [], [], [perturbation, _REFERENCE],
                  perturbation, null_size)
    treated = set(frame.loc[~frame[control].astype(bool), perturbation])
    return scores[scores[perturbation].isin(treated)].reset_index(drop=True)


def phenotypic_consistency(profiles: pd.DataFrame, target: str = "Metadata_Target",
                           perturbation: str = "Metadata_Perturbation",
                           control: str = "Metadata_Control",
                           null_size: int = NULL_SIZE) -> pd.DataFrame:
    """Per target (of treated perturbations, at least two per target): ``map``, p-values,
    ``retrieved``, from the perturbations' consensus profiles."""
    treated = profiles[~profiles[control].astype(bool)]
    features = feature_columns(treated)
    consensus = treated.groupby([perturbation, target], as_index=False)[features].mean()
    counts = consensus.groupby(target)[perturbation].transform("count")
    consensus = consensus[counts >= 2].reset_index(drop=True)
    if consensus.empty:
        raise MetricError("phenotypic consistency needs two perturbations of one target.")
    return _map(consensus[[perturbation, target]], consensus[features].to_numpy(dtype=float),
                [target], [], [], [target], target, null_size)


def agreement(real: pd.DataFrame, virtual: pd.DataFrame,
              key: str = "Metadata_Perturbation") -> dict[str, float]:
    """Pearson and Spearman correlation of per-perturbation mAP, real against virtual, and
    the fractions retrieved by each (NaN correlations with fewer than three perturbations or
    a constant mAP)."""
    both = real[[key, "map"]].merge(virtual[[key, "map"]], on=key, suffixes=("_real", "_virtual"))
    a, b = both["map_real"].to_numpy(), both["map_virtual"].to_numpy()
    defined = len(both) >= 3 and np.std(a) > 0 and np.std(b) > 0
    return {"pearson": float(sps.pearsonr(a, b)[0]) if defined else math.nan,
            "spearman": float(sps.spearmanr(a, b)[0]) if defined else math.nan,
            "retrieved_real": float(real["retrieved"].mean()),
            "retrieved_virtual": float(virtual["retrieved"].mean()),
            "n_perturbations": int(len(both))}


MODALITY = "Metadata_Modality"


def cross_modal(real: pd.DataFrame, virtual: pd.DataFrame,
                perturbation: str = "Metadata_Perturbation",
                control: str = "Metadata_Control", null_size: int = NULL_SIZE) -> pd.DataFrame:
    """Per treated perturbation, the mAP of its virtual well profiles retrieving the real
    profiles of the same perturbation among all real profiles (controls included as
    negatives), with copairs' p-values; the two frames must share their feature columns."""
    features = [c for c in feature_columns(real) if c in set(feature_columns(virtual))]
    if not features:
        raise MetricError("cross-modal retrieval: the real and virtual profiles share no "
                          "feature.")
    frame = pd.concat([real.assign(**{MODALITY: "real"}),
                       virtual.assign(**{MODALITY: "virtual"})], ignore_index=True)
    meta = frame[[c for c in frame.columns if c not in features]]
    scores = _map(meta, frame[features].to_numpy(dtype=float), [perturbation], [MODALITY], [],
                  [perturbation, MODALITY], perturbation, null_size,
                  queries=f"{MODALITY} == 'virtual'")
    treated = set(frame.loc[~frame[control].astype(bool), perturbation])
    return scores[scores[perturbation].isin(treated)].reset_index(drop=True)
