"""The leaderboards as one JSON document (``vsbench compare --format json``): what a script
reads instead of parsing the markdown or the CSV.

One document per export, versioned (``schema``)::

    {"schema": "vsbench.leaderboards/2",
     "boards": [{"tier", "section", "key", "title", "caption", "sort_by", "unit", "n_units",
                 "notes", "rows": [{"label", "rank", "runs", "p_value", "best": [columns],
                                    "values": {channel: {metric: {"mean", "std", "ci_low",
                                                                  "ci_high"}}}}],
                 "differences": [{"kind": "guidance" | "contrast", "title", "test",
                                  "rows": [{"method", "control", "seeds",
                                            "values": {channel: {metric: {"diff", "p"}}}}]}]}]}

``differences`` holds the board's paired-difference tables (guided minus unguided; guided
minus each control restarted from the same first estimates: ``control`` and ``seeds`` are
set on those rows only), every metric recorded; empty for a board without guided rows.
Schema 2 added it; a schema 1 document is schema 2 without ``differences``.

Numbers are plain floats (``null`` where a board has none: a single run's std, a control's
rank and p); ``best`` lists the ``channel/metric`` columns in which the row is best as the
board decides it (ties shared; a coverage closest to its calibrated level; see
:meth:`vsbench.leaderboard.board.Leaderboard.best`).
"""

from __future__ import annotations

import json
import math

import pandas as pd

from vsbench.leaderboard import contrasts
from vsbench.leaderboard.board import Leaderboard
from vsbench.leaderboard.differences import (CONTRAST_TEST, CONTRAST_TITLE, GUIDANCE_TEST,
                                             GUIDANCE_TITLE)

SCHEMA = "vsbench.leaderboards/2"


def _number(value) -> float | None:
    """A JSON number, or None for NaN / missing."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _scalar(value):
    """A key's value as JSON has it (numpy scalars as Python ones, anything else as text)."""
    value = value.item() if hasattr(value, "item") else value
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def board_json(board: Leaderboard) -> dict:
    """One board as a JSON-ready dict (see the module docstring)."""
    best = board.best()
    rows = []
    for label in board.table.index:
        values: dict[str, dict[str, dict]] = {}
        for col in board.metric_columns():
            cell = {"mean": _number(board.table.loc[label, col])}
            for name, frame in (("std", board.std), ("ci_low", board.ci_low),
                                ("ci_high", board.ci_high)):
                cell[name] = _number(frame.loc[label, col]) if frame is not None else None
            values.setdefault(col[0], {})[col[1]] = cell
        rank = board.rank[label] if board.rank is not None else None
        rows.append({
            "label": str(label),
            "rank": None if rank is None or pd.isna(rank) else int(rank),
            "runs": int(board.table.loc[label, ("", "runs")]),
            "p_value": _number(board.p_value[label]) if board.p_value is not None else None,
            "best": [f"{c}/{m}" for (c, m), labels in best.items() if label in labels],
            "values": values,
        })
    return {"tier": board.tier, "section": board.section,
            "key": {k: _scalar(v) for k, v in board.key.items()},
            "title": board.title(), "caption": board.caption(),
            "sort_by": "/".join(board.sort_by), "unit": board.unit,
            "n_units": int(board.n_images), "stale": bool(board.stale),
            "notes": list(board.notes), "rows": rows, "differences": differences_json(board)}


def differences_json(board: Leaderboard) -> list[dict]:
    """The board's paired-difference tables (see the module docstring), every metric."""
    out = []
    for kind, frame, title, test in (
            ("guidance", board.guidance, GUIDANCE_TITLE, GUIDANCE_TEST),
            ("contrast", board.contrasts, CONTRAST_TITLE, CONTRAST_TEST)):
        if frame is None:
            continue
        rows = []
        for index, row in frame.iterrows():
            method, control = index if kind == "contrast" else (index, None)
            entry = {"method": str(method), "control": None if control is None else str(control),
                     "seeds": int(row[contrasts.SEEDS]) if kind == "contrast" else None,
                     "values": {}}
            for (channel, metric, what), value in row.items():
                if (channel, metric, what) != contrasts.SEEDS:
                    entry["values"].setdefault(channel, {}).setdefault(metric, {})[what] = \
                        _number(value)
            rows.append(entry)
        out.append({"kind": kind, "title": title, "test": test, "rows": rows})
    return out


def to_json(boards: list[Leaderboard]) -> str:
    """Every board of an export as one versioned JSON document."""
    return json.dumps({"schema": SCHEMA, "boards": [board_json(b) for b in boards]},
                      indent=1, allow_nan=False) + "\n"
