"""The run records: typed, versioned, validated (torch-free).

A run folder holds three JSON records, each read and written only through the classes here:

- :class:`ConfigRecord` (``config.json``): what produced the run - method, dataset, preset,
  seed, the resolved run settings and method hyperparameters, the dataset fingerprint and split
  hash, the plugin's distribution, the code versions - and its :func:`config_hash`;
- :class:`StateRecord` (``state.json``): ``running``, ``completed`` or ``failed`` (with the
  error and traceback), the process id and host of a running run;
- :class:`MetricsRecord` (``metrics.json``): per channel and Average ``mse``, ``mae``, ``pcc``,
  ``ssim``, the number of test images, timings, what the method reported about itself, and
  the summaries of the biological tiers (``biometrics``: nuclei/cell matching and cell
  features; absent in older runs), and of the profile and posterior tiers (``profiles``,
  ``posterior``; absent in older runs), and ``tiers``: every tier scored after the prediction
  loop, by name, with its status (``scored``, ``skipped`` or ``failed``, and why) and, for a
  plugin's tier, its summary.

Every record carries ``schema_version`` (:data:`SCHEMA_VERSION`); a file without one was written
before versioning (version 1, the same fields). Versions: 2 added ``config.json``'s
``predictions_digest`` and ``metrics.json``'s ``unguided``; 3 made ``metrics.json``'s ``tiers``
a status per tier (in version 2 it held plugin tiers' summaries alone, and a tier's status was
only implied by its summary's ``error`` / ``skipped`` keys): :meth:`MetricsRecord.from_json`
reads versions 1-2 into version 3. ``from_json`` checks a record's types and
raises :class:`vsbench.errors.ResultsError` naming the file and the field; keys a record does
not know are kept in ``extra`` and written back, so an older vsbench never drops what a newer
one recorded. In the spirit of lm-evaluation-harness's ``result_schema.py``.

The modules: :mod:`~vsbench.records.base` (what every record shares: the JSON handling, the
schema version, a tier's status entry), :mod:`~vsbench.records.schema` (the three records,
their checks and the configuration hashes) and :mod:`~vsbench.records.upgrade` (older schema
versions read into the current one).
"""

from vsbench.records.base import SCHEMA_VERSION, TIER_STATUSES, tier_status
from vsbench.records.schema import (HASHED_FIELDS, METRIC_RANGES, RANGE_SLACK, STATES,
                                    ConfigRecord, MetricsRecord, StateRecord, config_hash,
                                    configuration_hash, value_problem)

__all__ = ["HASHED_FIELDS", "METRIC_RANGES", "RANGE_SLACK", "SCHEMA_VERSION", "STATES",
           "TIER_STATUSES", "ConfigRecord", "MetricsRecord", "StateRecord", "config_hash",
           "configuration_hash", "tier_status", "value_problem"]
