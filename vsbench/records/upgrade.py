"""Reading records of older schema versions into the current one (torch-free).

Version 1 is a record without ``schema_version`` (written before versioning; the same fields);
version 2 added ``config.json``'s ``predictions_digest`` and ``metrics.json``'s ``unguided``,
which need no upgrade; version 3 made ``metrics.json``'s ``tiers`` a status per tier, which
:func:`upgrade_tiers` derives for a version 1-2 record.
"""

from __future__ import annotations

from typing import Any

from vsbench.records.base import SCHEMA_VERSION, tier_status

# Where versions 1-2 kept the built-in tiers' summaries: metrics.json key -> its tiers.
LEGACY_TIER_KEYS = {"biometrics": ("instance", "features"), "profiles": ("profiles",),
                    "posterior": ("posterior",)}


def upgrade_tiers(data: dict[str, Any]) -> dict[str, Any]:
    """A version 1-2 ``metrics.json`` as version 3: plugin tiers' summaries (the old
    ``tiers``) and the built-in tiers' statuses in the new ``tiers``."""
    entries: dict[str, Any] = {}
    for key, names in LEGACY_TIER_KEYS.items():
        summary = data.get(key)
        status = tier_status(summary) if isinstance(summary, dict) else None
        if status is None:
            continue
        scored = summary.get("tiers", names) if key == "biometrics" else names
        for name in names:
            if status["status"] != "scored" or name in scored:
                entries[name] = dict(status)
    plugins = data.get("tiers")
    for name, summary in (plugins.items() if isinstance(plugins, dict) else ()):
        if isinstance(summary, dict):
            entries[name] = {**tier_status(summary), "summary": summary}
    return {**data, "tiers": entries, "schema_version": SCHEMA_VERSION}
