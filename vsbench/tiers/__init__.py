"""Evaluation tiers: one module per tier, one contract, one registry, one scoring driver.

- :mod:`~vsbench.tiers.contract`: :class:`TierSpec` (what a tier declares) and
  :class:`TierInputs` (what it is scored from).
- :mod:`~vsbench.tiers.registry`: the built-in tiers and the plugins' (``vsbench_tiers`` hook).
- :mod:`~vsbench.tiers.driver`: scores a set of tiers in dependency order, with the same
  guarding and skip rule (``VSBENCH_TIERS=pixel``) for a run, ``vsbench evaluate`` and
  ``vsbench score``.
- One module per tier: :mod:`~vsbench.tiers.pixel`, :mod:`~vsbench.tiers.instance`,
  :mod:`~vsbench.tiers.features` (the two share one scoring pass:
  :mod:`~vsbench.tiers.biological`), :mod:`~vsbench.tiers.profiles`,
  :mod:`~vsbench.tiers.posterior`.

Adding a tier: a module with a :class:`TierSpec` (its columns, sort, unit, files, reader and
scoring function), listed in :data:`~vsbench.tiers.registry.BUILT_IN` - or, from another
package, returned by a plugin's ``vsbench_tiers`` hook. Its board (``compare --tier NAME``),
``evaluate --tier NAME`` and its scoring in runs follow from the spec.
"""

from vsbench.tiers.contract import TierInputs, TierSpec

__all__ = ["TierInputs", "TierSpec"]
