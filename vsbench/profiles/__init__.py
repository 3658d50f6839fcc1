"""Well-level profiles and how well they retrieve perturbations (the profile tier).

- :mod:`~vsbench.profiles.wells`: per-cell features aggregated into replicate profiles
  (median), normalised to each plate's control profiles and feature-selected with
  ``pycytominer``; the selection made on the real stain is applied to every virtual one, so
  real and virtual profiles have the same features;
- :mod:`~vsbench.profiles.retrieval`: ``copairs`` mean average precision - phenotypic
  activity (a perturbation's replicates against the controls) and consistency (perturbations
  sharing a target) - and the agreement of real and virtual per-perturbation mAP.
"""

from vsbench.profiles.retrieval import (RETRIEVAL_THRESHOLD, agreement, phenotypic_activity,
                                        phenotypic_consistency)
from vsbench.profiles.wells import ProfileSettings, build_profiles

__all__ = ["RETRIEVAL_THRESHOLD", "ProfileSettings", "agreement", "build_profiles",
           "phenotypic_activity", "phenotypic_consistency"]
