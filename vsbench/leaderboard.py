"""Leaderboards derived from run folders (pandas), and their exports.

One table per (dataset, dataset fingerprint, split hash, preset, image size): results made on
different data, splits or evaluation settings are never averaged together. Rows are methods
(mean over their runs, with the number of runs); columns are (channel, metric) for every channel
and for the Average.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vsbench.metrics import HIGHER_IS_BETTER, METRICS
from vsbench.results import atomic_write_text, iter_completed_runs

GROUP_KEYS = ("dataset", "dataset_fingerprint", "split_hash", "preset", "image_size",
              "channel_set")
FORMATS = {"markdown": "md", "csv": "csv", "latex": "tex", "html": "html"}
AVERAGE = "Average"


@dataclass
class Leaderboard:
    """One ranked table and the comparability key it was made under."""

    key: dict[str, object]
    table: pd.DataFrame  # index: method; columns: MultiIndex (channel, metric) plus ("", "runs")
    stale: bool = False  # the split hash differs from the dataset's current manifest

    def title(self) -> str:
        """A one-line description of what this table compares."""
        k = self.key
        stale = " [STALE: not the current split manifest]" if self.stale else ""
        return (f"{k['dataset']} (fingerprint {k['dataset_fingerprint']}, split {k['split_hash']}, "
                f"preset {k['preset']}, {k['image_size']} px){stale}")

    def best(self) -> dict[tuple[str, str], str]:
        """For each (channel, metric) column, the method with the best value."""
        out = {}
        for col in self.metric_columns():
            values = self.table[col].dropna()
            if values.empty:
                continue
            out[col] = values.idxmax() if HIGHER_IS_BETTER[col[1]] else values.idxmin()
        return out

    def metric_columns(self) -> list[tuple[str, str]]:
        """The (channel, metric) columns, in display order."""
        return [c for c in self.table.columns if c[1] in METRICS]


def load_runs(results_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """A long table of every completed run (one row per run, channel and metric) and the
    warnings for run folders that were skipped."""
    rows, warnings = [], []
    for folder, record, problem in iter_completed_runs(results_dir):
        if record is None:
            warnings.append(f"skipped {problem}")
            continue
        base = {k: record.get(k) for k in GROUP_KEYS}
        base["channel_set"] = ",".join(record["channels"])
        base.update(method=record["method"], seed=record["seed"], run=folder.name)
        for channel, values in [*record["channels"].items(), (AVERAGE, record["average"])]:
            for metric in METRICS:
                rows.append({**base, "channel": channel, "metric": metric,
                             "value": float(values[metric])})
    columns = [*GROUP_KEYS, "method", "seed", "run", "channel", "metric", "value"]
    return pd.DataFrame(rows, columns=columns), warnings


def build_leaderboards(runs: pd.DataFrame) -> list[Leaderboard]:
    """Group runs by comparability key and average each method's runs."""
    boards = []
    if runs.empty:
        return boards
    keyed = runs.fillna({"image_size": -1})
    for key, group in keyed.groupby(list(GROUP_KEYS), sort=True, dropna=False):
        channel_order = list(dict.fromkeys(group["channel"]))
        channel_order = [c for c in channel_order if c != AVERAGE] + [AVERAGE]
        table = group.pivot_table(index="method", columns=["channel", "metric"], values="value",
                                  aggfunc="mean")
        columns = [(c, m) for c in channel_order for m in METRICS if (c, m) in table.columns]
        table = table[columns]
        table[("", "runs")] = group.groupby("method")["run"].nunique()
        table = table.sort_values((AVERAGE, "pcc"), ascending=False)
        boards.append(Leaderboard(dict(zip(GROUP_KEYS, key)), table))
    return boards


def mark_stale(boards: list[Leaderboard], data_root: Path) -> list[Leaderboard]:
    """Flag leaderboards whose split is not the dataset's current manifest under
    ``data_root`` (the split was regenerated after those runs)."""
    from vsbench.data.splits import read_split

    for board in boards:
        manifest = Path(data_root) / str(board.key["dataset"]) / "split.csv"
        if manifest.is_file():
            try:
                board.stale = read_split(manifest).hash != board.key["split_hash"]
            except ValueError:
                continue
    return boards


def _formatted(board: Leaderboard, bold: str, digits: int = 3) -> pd.DataFrame:
    """String table with the best value per column wrapped in ``bold`` (e.g. ``**{}**``)."""
    best = board.best()
    out = pd.DataFrame(index=board.table.index)
    for col in board.table.columns:
        if col[1] == "runs":
            out[col] = board.table[col].astype(int).astype(str)
            continue
        out[col] = [bold.format(f"{v:.{digits}f}") if best.get(col) == method
                    else f"{v:.{digits}f}" for method, v in board.table[col].items()]
    out.columns = pd.MultiIndex.from_tuples(board.table.columns)
    return out


def _flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [f"{c} {m.upper()}" if c else m for c, m in frame.columns]
    return frame


def render(board: Leaderboard, fmt: str) -> str:
    """The table as markdown, csv, latex or html, best value per column in bold."""
    if fmt == "csv":
        return _flat_columns(board.table).to_csv(float_format="%.6g")
    if fmt == "markdown":
        return (f"**{board.title()}**\n\n"
                + _flat_columns(_formatted(board, "**{}**")).to_markdown() + "\n")
    if fmt == "latex":
        table = _formatted(board, "\\textbf{{{}}}")
        return table.to_latex(escape=False, multicolumn=True, multicolumn_format="c",
                              caption=board.title().replace("_", "\\_"))
    if fmt == "html":
        return (f"<h3>{board.title()}</h3>\n"
                + _formatted(board, "<b>{}</b>").to_html(escape=False) + "\n")
    raise ValueError(f"Unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")


def export(boards: list[Leaderboard], fmt: str, path: Path) -> Path:
    """Write every leaderboard in ``fmt`` to ``path`` (atomically)."""
    if fmt == "csv":
        parts = []
        for board in boards:
            frame = _flat_columns(board.table)
            for k, v in board.key.items():
                frame.insert(0, k, v)
            parts.append(frame.reset_index())
        text = pd.concat(parts).to_csv(index=False, float_format="%.6g")
    else:
        text = "\n".join(render(board, fmt) for board in boards)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text)
    return path
