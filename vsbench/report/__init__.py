"""``vsbench report``: one self-contained HTML page about the runs of a results folder.

- :mod:`~vsbench.report.build`: the sections of the page (leaderboards, gallery, masks,
  speed) and :func:`build_report`, which renders ``templates/report.html.j2``;
- :mod:`~vsbench.report.tiers`: a section per tier of the registry that a leaderboard's runs
  have (its boards, and the figures its :class:`~vsbench.tiers.TierSpec` declares), a plugin's
  tier included;
- the built-in tiers' figures: :mod:`~vsbench.report.instance_figures` (nuclei outlines),
  :mod:`~vsbench.report.feature_figures` (feature scatter),
  :mod:`~vsbench.report.profile_figures` (mAP per perturbation),
  :mod:`~vsbench.report.posterior_figures` (calibration, sample gallery);
- :mod:`~vsbench.report.charts`: bar charts with confidence intervals, training loss curves;
- :mod:`~vsbench.report.images`: pictures embedded as PNG data URIs;
- :mod:`~vsbench.report.methods`: the methods' rank order and colours.

The figure grids (test fields of every method, mask arrays) are :mod:`vsbench.figures`'.
Torch-free.
"""

from vsbench.errors import ReportError
from vsbench.layout import REPORT_FILE
from vsbench.report.build import build_report

__all__ = ["REPORT_FILE", "ReportError", "build_report"]
