"""Leaderboards derived from run folders (pandas), and their exports.

One table per (dataset, dataset fingerprint, split hash, preset, image size, channel set):
results made on different data, splits or evaluation settings are never averaged together.
Rows are methods (mean over their runs, i.e. seeds, with the standard deviation and the number
of runs); columns are (channel, metric) for every channel and for the Average. Each board also
carries 95% bootstrap confidence intervals over test images, a rank and a paired test against
the best method (see :mod:`vsbench.stats`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from vsbench import stats
from vsbench import atomic
from vsbench.errors import LeaderboardError
from vsbench.protocol import AVERAGE, HIGHER_IS_BETTER, METRICS
from vsbench.store import ResultsStore

GROUP_KEYS = ("dataset", "dataset_fingerprint", "split_hash", "preset", "image_size",
              "eval_image_size", "channel_set")
FORMATS = {"markdown": "md", "csv": "csv", "latex": "tex", "html": "html"}
DEFAULT_SORT = (AVERAGE, "pcc")
SORT_SYNTAX = "CHANNEL/METRIC, e.g. Average/pcc or DNA/ssim"


@dataclass
class Leaderboard:
    """One ranked table, its uncertainty, and the comparability key it was made under."""

    key: dict[str, object]
    table: pd.DataFrame  # index: method; columns: MultiIndex (channel, metric) plus ("", "runs")
    stale: bool = False  # the split hash differs from the dataset's current manifest
    std: pd.DataFrame | None = None  # standard deviation over runs, same metric columns
    ci_low: pd.DataFrame | None = None  # bootstrap CI over test images, same metric columns
    ci_high: pd.DataFrame | None = None
    rank: pd.Series | None = None  # 1 = best on sort_by
    p_value: pd.Series | None = None  # Wilcoxon against the rank-1 method on sort_by
    sort_by: tuple[str, str] = DEFAULT_SORT
    n_images: int = 0  # test images paired in the tests (0: no per-image metrics)
    per_image: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    runs: pd.DataFrame | None = field(default=None, repr=False)  # one row per run

    def title(self) -> str:
        """A one-line description of what this table compares."""
        k = self.key
        stale = " [STALE: not the current split manifest]" if self.stale else ""
        evaluated = k.get("eval_image_size")
        scored = (f", scored at {evaluated} px" if evaluated not in (None, -1, k["image_size"])
                  else "")
        return (f"{k['dataset']} (fingerprint {k['dataset_fingerprint']}, split {k['split_hash']}, "
                f"preset {k['preset']}, {k['image_size']} px{scored}){stale}")

    def caption(self) -> str:
        """What the numbers are: spread, interval, rank and test (one sentence each)."""
        channel, metric = self.sort_by
        best = self.table.index[0] if len(self.table) else "-"
        text = (f"Mean ± standard deviation over runs (seeds). Rank by {channel} "
                f"{metric.upper()}; p: Wilcoxon signed-rank test against {best} on {channel} "
                f"{metric.upper()}")
        if self.n_images:
            text += (f", paired over {self.n_images} test images; 95% bootstrap confidence "
                     f"intervals over test images ({stats.N_RESAMPLES} resamples)")
        else:
            text += " (not computed: the runs have no per_image_metrics.csv)"
        return text + ". Best value per column in bold, second underlined."

    def best(self) -> dict[tuple[str, str], str]:
        """For each (channel, metric) column, the method with the best value."""
        return {col: order[0] for col, order in self._orders().items()}

    def second(self) -> dict[tuple[str, str], str]:
        """For each (channel, metric) column, the method with the second-best value."""
        return {col: order[1] for col, order in self._orders().items() if len(order) > 1}

    def _orders(self) -> dict[tuple[str, str], list[str]]:
        out = {}
        for col in self.metric_columns():
            values = self.table[col].dropna()
            if values.empty:
                continue
            out[col] = list(values.sort_values(ascending=not HIGHER_IS_BETTER[col[1]],
                                               kind="stable").index)
        return out

    def metric_columns(self) -> list[tuple[str, str]]:
        """The (channel, metric) columns, in display order."""
        return [c for c in self.table.columns if c[1] in METRICS]

    def channels(self) -> list[str]:
        """The channel columns shown (the dataset's channels, then the Average)."""
        return list(dict.fromkeys(c for c, _ in self.metric_columns()))

    def select(self, channels: Sequence[str] | None = None,
               metrics: Sequence[str] | None = None) -> "Leaderboard":
        """The same board showing only some channels (``Average`` is one) and metrics; the
        ranking and the tests are unchanged."""
        keep = [c for c in self.metric_columns()
                if (channels is None or c[0] in channels) and (metrics is None or c[1] in metrics)]
        cut = lambda frame: None if frame is None else frame[keep]  # noqa: E731
        return replace(self, table=self.table[[*keep, ("", "runs")]], std=cut(self.std),
                       ci_low=cut(self.ci_low), ci_high=cut(self.ci_high))


def load_runs(results_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """A long table of every completed run (one row per run, channel and metric) and the
    warnings for run folders that were skipped."""
    rows = []
    usable, skipped = ResultsStore(results_dir).completed()
    warnings = [f"skipped {run.problem}" for run in skipped]
    for run in usable:
        record, folder = run.metrics, run.folder.path
        base = {k: getattr(record, k, None) for k in GROUP_KEYS}
        base["channel_set"] = ",".join(record.channels)
        base["eval_image_size"] = record.scored_size
        base.update(method=record.method, seed=record.seed, run=folder.name,
                    folder=str(folder))
        for channel, values in [*record.channels.items(), (AVERAGE, record.average)]:
            for metric in METRICS:
                rows.append({**base, "channel": channel, "metric": metric,
                             "value": float(values[metric])})
    columns = [*GROUP_KEYS, "method", "seed", "run", "folder", "channel", "metric", "value"]
    return pd.DataFrame(rows, columns=columns), warnings


def _split_list(text: str | Sequence[str] | None) -> list[str] | None:
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    return [i.strip() for i in items if i.strip()] or None


def filter_runs(runs: pd.DataFrame, dataset: str | None = None,
                methods: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Keep the runs of one dataset and/or some methods (comma-separated names); a name that
    matches no run is a :class:`LeaderboardError` listing the ones there are."""
    if dataset is not None:
        if dataset not in set(runs["dataset"]):
            raise LeaderboardError(f"--dataset {dataset}: no completed runs on it; the runs "
                                   f"are on {_names(runs['dataset'])}.")
        runs = runs[runs["dataset"] == dataset]
    wanted = _split_list(methods)
    if wanted is not None:
        unknown = [m for m in wanted if m not in set(runs["method"])]
        if unknown:
            raise LeaderboardError(f"--methods: no completed runs of {', '.join(unknown)}; "
                                   f"the runs are of {_names(runs['method'])}.")
        runs = runs[runs["method"].isin(wanted)]
    return runs


def _names(values) -> str:
    return ", ".join(sorted(set(map(str, values))))


def parse_sort_by(text: str | None) -> tuple[str, str]:
    """``CHANNEL/METRIC`` (e.g. ``Average/pcc``, ``DNA/ssim``; the metric in any case)."""
    if text is None:
        return DEFAULT_SORT
    channel, sep, metric = text.rpartition("/")
    metric = metric.strip().lower()
    if not sep or not channel.strip() or metric not in METRICS:
        raise LeaderboardError(f"--sort-by {text}: expected {SORT_SYNTAX} (metric one of "
                               f"{', '.join(METRICS)}).")
    return channel.strip(), metric


def parse_metrics(text: str | None) -> list[str] | None:
    """``--metrics pcc,ssim`` (any case) as metric names."""
    wanted = _split_list(text)
    if wanted is None:
        return None
    wanted = [m.lower() for m in wanted]
    unknown = [m for m in wanted if m not in METRICS]
    if unknown:
        raise LeaderboardError(f"--metrics: unknown metric(s) {', '.join(unknown)}; use "
                               f"{', '.join(METRICS)}.")
    return wanted


def select_columns(boards: list[Leaderboard], channels: str | Sequence[str] | None = None,
                   metrics: str | Sequence[str] | None = None) -> list[Leaderboard]:
    """Show only some channels (``Average`` counts as one) and metrics. A channel no board has
    is an error; a board having none of the channels is left out."""
    wanted = _split_list(channels)
    metric_names = parse_metrics(metrics) if isinstance(metrics, str) or metrics is None \
        else list(metrics)
    if wanted is not None:
        known = {c for b in boards for c in b.channels()}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise LeaderboardError(f"--channels: unknown channel(s) {', '.join(unknown)}; the "
                                   f"runs have {', '.join(sorted(known))}.")
    out = [b.select(wanted, metric_names) for b in boards]
    return [b for b in out if b.metric_columns()]


def build_leaderboards(runs: pd.DataFrame, sort_by: tuple[str, str] | str | None = None,
                       with_stats: bool = True) -> list[Leaderboard]:
    """Group runs by comparability key, average each method's runs, rank them on ``sort_by``
    (``(channel, metric)``, default Average PCC) and, with ``with_stats``, add confidence
    intervals and paired tests from the runs' per-image metrics.

    A board without the sort channel (another channel set) is ranked on the Average of the
    same metric. A sort channel that no board has is a :class:`LeaderboardError`.
    """
    sort_by = parse_sort_by(sort_by) if isinstance(sort_by, str) or sort_by is None else sort_by
    boards = []
    if runs.empty:
        return boards
    if sort_by[0] not in set(runs["channel"]):
        raise LeaderboardError(f"--sort-by {sort_by[0]}/{sort_by[1]}: no channel "
                               f"'{sort_by[0]}'; the runs have {_names(runs['channel'])} "
                               f"({SORT_SYNTAX}).")
    keyed = runs.fillna({"image_size": -1, "eval_image_size": -1})
    for key, group in keyed.groupby(list(GROUP_KEYS), sort=True, dropna=False):
        channel_order = list(dict.fromkeys(group["channel"]))
        channel_order = [c for c in channel_order if c != AVERAGE] + [AVERAGE]
        table = group.pivot_table(index="method", columns=["channel", "metric"], values="value",
                                  aggfunc="mean")
        columns = [(c, m) for c in channel_order for m in METRICS if (c, m) in table.columns]
        std = group.pivot_table(index="method", columns=["channel", "metric"], values="value",
                                aggfunc="std", dropna=False).reindex(index=table.index,
                                                                     columns=columns)
        table = table[columns]
        table[("", "runs")] = group.groupby("method")["run"].nunique()
        board_sort = sort_by if sort_by in columns else (AVERAGE, sort_by[1])
        table = table.sort_values(board_sort, ascending=not HIGHER_IS_BETTER[board_sort[1]],
                                  kind="stable")
        per_run = group.drop_duplicates("folder")[["method", "seed", "run", "folder"]]
        board = Leaderboard(dict(zip(GROUP_KEYS, key)), table, std=std.loc[table.index],
                            sort_by=board_sort, runs=per_run.reset_index(drop=True))
        board.rank = stats.rank(table[board_sort], board_sort[1])
        if with_stats:
            _add_statistics(board)
        boards.append(board)
    return boards


def _add_statistics(board: Leaderboard) -> None:
    """Bootstrap intervals and paired tests from the per-image metrics of the board's runs."""
    columns = board.metric_columns()
    nan = pd.DataFrame(np.nan, index=board.table.index, columns=pd.MultiIndex.from_tuples(columns))
    board.ci_low, board.ci_high = nan.copy(), nan.copy()
    board.p_value = pd.Series(np.nan, index=board.table.index, dtype=float)
    for method, runs in board.runs.groupby("method"):
        frames = [f for f in map(stats.read_per_image, runs["folder"]) if f is not None]
        if frames:
            board.per_image[method] = stats.pool_runs(frames)
    for method, pooled in board.per_image.items():
        values = pooled.reindex(columns=pd.MultiIndex.from_tuples(columns))
        low, high = stats.bootstrap_ci(values)
        board.ci_low.loc[method], board.ci_high.loc[method] = low.to_numpy(), high.to_numpy()
    best = board.table.index[0]
    if best not in board.per_image:
        return
    reference = board.per_image[best][board.sort_by]
    board.n_images = int(reference.notna().sum())
    for method, pooled in board.per_image.items():
        if method != best:
            board.p_value[method] = stats.paired_p_value(pooled[board.sort_by], reference)


def mark_stale(boards: list[Leaderboard], data_root: Path) -> list[Leaderboard]:
    """Flag leaderboards whose split is not the dataset's current manifest under
    ``data_root`` (the split was regenerated after those runs)."""
    from vsbench.data.splits import read_split
    from vsbench.layout import dataset_folder

    for board in boards:
        manifest = dataset_folder(data_root, str(board.key["dataset"])).split_manifest
        if manifest.is_file():
            try:
                board.stale = read_split(manifest).hash != board.key["split_hash"]
            except ValueError:
                continue
    return boards


# ---- exports ---------------------------------------------------------------------------------

STYLES = {  # (best, second, plus-minus, interval) per format
    "markdown": ("**{}**", "<u>{}</u>", " ± ", None),
    "latex": ("\\textbf{{{}}}", "\\underline{{{}}}", " $\\pm$ ", None),
    "html": ("<b>{}</b>", "<u>{}</u>", " ± ", "<br><small>[{}, {}]</small>"),
}


def cell_text(board: Leaderboard, method: str, col: tuple[str, str], digits: int = 3,
              pm: str = " ± ") -> str:
    """``mean ± std`` of one cell (the ± part only when the method has several runs)."""
    mean = board.table.loc[method, col]
    if pd.isna(mean):
        return "-"
    text = f"{mean:.{digits}f}"
    if board.std is not None:
        std = board.std.loc[method, col]
        if pd.notna(std):
            text += f"{pm}{std:.{digits}f}"
    return text


def interval_text(board: Leaderboard, method: str, col: tuple[str, str],
                  digits: int = 3) -> tuple[str, str] | None:
    """The bounds of a cell's confidence interval as strings, or None without one."""
    if board.ci_low is None:
        return None
    low, high = board.ci_low.loc[method, col], board.ci_high.loc[method, col]
    if pd.isna(low) or pd.isna(high):
        return None
    return f"{low:.{digits}f}", f"{high:.{digits}f}"


def formatted(board: Leaderboard, fmt: str, digits: int = 3) -> pd.DataFrame:
    """The string table of :func:`render` (``fmt``: markdown, latex or html), index method."""
    return _formatted(board, fmt, digits)


def _formatted(board: Leaderboard, fmt: str, digits: int = 3) -> pd.DataFrame:
    """String table as papers print it: rank, mean ± std per column (best bold, second
    underlined), runs, and the paired test's p-value."""
    bold, underline, pm, interval = STYLES[fmt]
    best, second = board.best(), board.second()
    out = pd.DataFrame(index=board.table.index)
    out[("", "rank")] = [str(board.rank[m]) if board.rank is not None else "-"
                         for m in board.table.index]
    for col in board.metric_columns():
        cells = []
        for method in board.table.index:
            text = cell_text(board, method, col, digits, pm)
            if best.get(col) == method:
                text = bold.format(text)
            elif second.get(col) == method:
                text = underline.format(text)
            bounds = interval_text(board, method, col, digits)
            if interval and bounds:
                text += interval.format(*bounds)
            cells.append(text)
        out[col] = cells
    out[("", "runs")] = board.table[("", "runs")].astype(int).astype(str)
    out[("", "p")] = [stats.format_p(board.p_value[m]) if board.p_value is not None else "-"
                      for m in board.table.index]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    out.index.name = "method"
    return out


def _flat_columns(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.columns = [f"{c} {m.upper()}" if c else m for c, m in frame.columns]
    return frame


def numeric_table(board: Leaderboard) -> pd.DataFrame:
    """Every number of a board, one row per method: rank, then per column the mean, std and
    CI bounds, then runs and p_value (what the CSV export holds)."""
    out = pd.DataFrame(index=board.table.index)
    out["rank"] = board.rank
    for col in board.metric_columns():
        name = f"{col[0]} {col[1].upper()}"
        out[name] = board.table[col]
        for suffix, frame in (("std", board.std), ("ci_low", board.ci_low),
                              ("ci_high", board.ci_high)):
            out[f"{name} {suffix}"] = frame[col] if frame is not None else np.nan
    out["runs"] = board.table[("", "runs")].astype(int)
    out["p_value"] = board.p_value if board.p_value is not None else np.nan
    out["sort_by"] = "/".join(board.sort_by)
    out.index.name = "method"
    return out


def _latex_escape(text: str) -> str:
    for char in ("\\", "_", "%", "&", "#", "$", "{", "}"):
        text = text.replace(char, "\\" + char)
    return text


def render(board: Leaderboard, fmt: str) -> str:
    """The table as markdown, csv, latex or html: mean ± std, best value per column in bold,
    the second underlined, a rank and a p-value column (csv: every number, with the CIs)."""
    if fmt == "csv":
        return numeric_table(board).to_csv(float_format="%.6g")
    if fmt == "markdown":
        return (f"**{board.title()}**\n\n" + _flat_columns(_formatted(board, fmt)).to_markdown()
                + f"\n\n{board.caption()}\n")
    if fmt == "latex":
        table = _formatted(board, fmt)
        table.index = [_latex_escape(str(m)) for m in table.index]
        table[("", "p")] = table[("", "p")].str.replace("<", "$<$", regex=False)
        table = table.reset_index()
        table.columns = pd.MultiIndex.from_tuples(
            [("", "method"), *((c, m.upper() if c else m) for c, m in table.columns[1:])])
        caption = _latex_escape(f"{board.title()}. {board.caption()}").replace("±", "$\\pm$")
        return table.to_latex(escape=False, index=False, multicolumn=True,
                              multicolumn_format="c", caption=caption,
                              column_format="l" + "r" * (table.shape[1] - 1))
    if fmt == "html":
        table = _formatted(board, fmt)
        table.index = [html.escape(str(m)) for m in table.index]
        table.index.name = "method"
        return (f"<h3>{html.escape(board.title())}</h3>\n" + table.to_html(escape=False)
                + f"\n<p class=\"caption\">{html.escape(board.caption())}</p>\n")
    raise ValueError(f"Unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")


def export(boards: list[Leaderboard], fmt: str, path: Path) -> Path:
    """Write every leaderboard in ``fmt`` to ``path`` (atomically)."""
    if fmt == "csv":
        parts = []
        for board in boards:
            frame = numeric_table(board)
            for k, v in reversed(board.key.items()):
                frame.insert(0, k, v)
            parts.append(frame.reset_index())
        text = pd.concat(parts).to_csv(index=False, float_format="%.6g")
    else:
        text = "\n".join(render(board, fmt) for board in boards)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, text)
    return path
