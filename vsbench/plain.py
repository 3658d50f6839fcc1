"""Values as strict JSON holds them (torch-free): what every record and cache file writes."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def plain_json(value: Any) -> Any:
    """``value`` with NaN and infinities as None, numpy scalars as Python numbers and tuples
    as lists, recursively (``json.dumps`` of it never writes ``NaN``)."""
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
