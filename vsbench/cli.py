"""The ``vsbench`` command line (typer). Heavy modules are imported inside the commands so that
``vsbench --help`` and ``vsbench methods`` answer without importing torch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from vsbench.cli_data import data_app
from vsbench.cli_sweep import sweep
from vsbench.cli_weights import weights

app = typer.Typer(
    name="vsbench", no_args_is_help=True, add_completion=False, rich_markup_mode="markdown",
    help="Benchmark virtual staining: train and evaluate methods that predict Cell Painting "
         "fluorescence channels from brightfield, on shared splits with one metric protocol, "
         "and compare them on leaderboards.")
app.add_typer(data_app, name="data", help="Fetch, prepare (cache) and split datasets.")
app.command()(sweep)
app.command()(weights)


def _console(stderr: bool = False) -> Console:
    # Made per call so that the terminal width is read when the command runs.
    return Console(stderr=stderr)

RESULTS_HELP = "Results folder: runs are written to RESULTS/runs/<dataset>/<method>/<run-id>/."
DATA_ROOT_HELP = "Local data root holding dataset files and split manifests (datasets/<name>/)."


def _fail(message: str, code: int = 2) -> None:
    _console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False,
                                soft_wrap=True)
    raise typer.Exit(code)


def _user_errors() -> tuple[type[Exception], ...]:
    """Exceptions whose message is meant for the user (one line, no traceback)."""
    from vsbench.config import ConfigError
    from vsbench.data.source import DataError
    from vsbench.plugins import PluginError
    from vsbench.errors import ResultsError

    errors: list[type[Exception]] = [ConfigError, DataError, PluginError, ResultsError]
    try:  # only importable with torch; the commands that need them import it anyway
        from vsbench.engine import EngineError
        from vsbench.metrics import MetricError
        errors += [EngineError, MetricError]
    except ImportError:
        pass
    return tuple(errors)


def _fmt(value: float) -> str:
    return f"{value:.4f}"


@app.command()
def run(
    method: str = typer.Option(..., "--method", "-m", help="Method to train and evaluate "
                               "(see `vsbench methods`)."),
    dataset: str = typer.Option("synthetic", "--dataset", "-d",
                                help="Dataset source (see `vsbench datasets`)."),
    preset: str = typer.Option("smoke", "--preset", "-p", help="Hyperparameter preset: smoke "
                               "(CPU, minutes) or paper (the paper's settings, for a GPU)."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed of training and sampling."),
    set_: Optional[List[str]] = typer.Option(None, "--set", metavar="KEY=VALUE",
                                             help="Override a hyperparameter of the method or "
                                             "the run, e.g. --set epochs=2 (repeatable)."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA if present, else CPU), "
                               "cpu or cuda."),
    results: Path = typer.Option(Path("results"), "--results", help=RESULTS_HELP),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help=DATA_ROOT_HELP),
    resume: bool = typer.Option(False, "--resume", help="Continue the latest unfinished run "
                                "with the same configuration from its last checkpoint."),
    deterministic: bool = typer.Option(False, "--deterministic", help="Use only deterministic "
                                       "CUDA kernels (slower; CPU runs are deterministic "
                                       "anyway)."),
) -> None:
    """Train and evaluate one method; write its run folder.

    Trains on the dataset's training split, predicts the test split, scores it (MSE, MAE, PCC,
    SSIM per channel) and writes config, metrics, per-image metrics, checkpoint and
    predictions.png under RESULTS/runs/.
    """
    from vsbench.config import parse_overrides

    console = _console()
    errors = _user_errors()
    try:
        overrides = parse_overrides(set_ or [])
        from vsbench.engine import RunRequest, run_benchmark

        result = run_benchmark(RunRequest(method=method, dataset=dataset, preset=preset,
                                          seed=seed, overrides=overrides, device=device,
                                          results_dir=results, data_root=data_root,
                                          resume=resume, deterministic=deterministic), console)
    except errors as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted; the run folder is marked failed, finished runs are untouched.", 130)
    except Exception as exc:  # a crashing plugin: one line here, the traceback in the run folder
        if os.environ.get("VSBENCH_DEBUG"):
            raise
        _fail(f"method '{method}' failed: {type(exc).__name__}: {exc} (traceback in the run "
              "folder's state.json, or rerun with VSBENCH_DEBUG=1).", 1)
    record = result.metrics
    table = Table(title=f"{method} on {dataset} - {record.n_test_images} test images "
                        f"(seed {seed})")
    table.add_column("channel")
    for name in ("MSE", "MAE", "PCC", "SSIM"):
        table.add_column(name, justify="right")
    for channel, values in record.channels.items():
        table.add_row(channel, *(_fmt(values[m]) for m in ("mse", "mae", "pcc", "ssim")))
    table.add_row("[bold]Average[/]", *(f"[bold]{_fmt(record.average[m])}[/]"
                                        for m in ("mse", "mae", "pcc", "ssim")))
    console.print(table)
    console.print(f"train {record.train_seconds:.1f} s, predict "
                  f"{record.predict_seconds_per_image:.4f} s/image; results in {result.folder}")


@app.command()
def compare(
    results: Path = typer.Option(Path("results"), "--results", help="Results folder to read "
                                 "(every completed run under RESULTS/runs/)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="Also write the leaderboard "
                                      "as markdown, csv, latex or html."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File for --format "
                                          "(default: RESULTS/leaderboard.<ext>)."),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help="Data root whose "
                                   "split manifests flag results made on an older split."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Only runs on this "
                                          "dataset."),
    methods_: Optional[str] = typer.Option(None, "--methods", metavar="A,B", help="Only these "
                                           "methods (comma-separated); the best and the tests "
                                           "are among them."),
    channels: Optional[str] = typer.Option(None, "--channels", metavar="A,B", help="Show only "
                                           "these channel columns (comma-separated; 'Average' "
                                           "is one), e.g. --channels DNA,Average."),
    metrics: Optional[str] = typer.Option(None, "--metrics", metavar="A,B", help="Show only "
                                          "these metrics (comma-separated: mse, mae, pcc, "
                                          "ssim)."),
    sort_by: str = typer.Option("Average/pcc", "--sort-by", metavar="CHANNEL/METRIC",
                                help="Rank on this column, written CHANNEL/METRIC, e.g. "
                                "Average/pcc (default), DNA/ssim or Mito/MSE; the rank, the best "
                                "method and the paired tests refer to it. Lower is better for "
                                "mse and mae."),
    against: Optional[Path] = typer.Option(None, "--against", metavar="REFERENCE",
                                           help="Instead, check that the runs reproduce those "
                                           "of a reference results folder (e.g. "
                                           "results/reference): Average PCC and SSIM of each "
                                           "matching method and seed within --tolerance; exit "
                                           "1 if not."),
    tolerance: float = typer.Option(0.03, "--tolerance", help="Largest absolute difference "
                                    "allowed by --against."),
) -> None:
    """Rank finished runs on leaderboards.

    One leaderboard per dataset and split, one row per method: mean ± standard deviation over
    its runs (seeds) of MSE, MAE, PCC and SSIM per channel and their Average, with a 95%
    bootstrap confidence interval over test images below each value, a rank, and the p-value of
    a paired Wilcoxon signed-rank test (per test image) against the best method. The best value
    of each column is highlighted, the second underlined.
    """
    from vsbench.leaderboard import (FORMATS, LeaderboardError, build_leaderboards, export,
                                     filter_runs, load_runs, mark_stale, parse_metrics,
                                     parse_sort_by, select_columns)

    if against is not None:
        _check_against(results, against, tolerance)
        return
    if fmt is not None and fmt not in FORMATS:
        _fail(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    try:
        sort_key = parse_sort_by(sort_by)
        parse_metrics(metrics)
    except LeaderboardError as exc:
        _fail(str(exc))
    runs, warnings = load_runs(results)
    for warning in warnings:
        _console(stderr=True).print(f"[yellow]warning:[/] {warning}", highlight=False,
                                    soft_wrap=True)
    if runs.empty:
        _fail(f"nothing to compare: no completed runs under {results}/runs. Make one with "
              "`vsbench run --method unet`.", 1)
    try:
        runs = filter_runs(runs, dataset, methods_)
        boards = mark_stale(build_leaderboards(runs, sort_key), data_root)
        boards = select_columns(boards, channels, metrics)
    except LeaderboardError as exc:
        _fail(str(exc))
    if not boards:
        _fail("nothing to compare: no leaderboard has the selected channels.", 1)
    if len(boards) > 1:
        _console().print(f"{len(boards)} leaderboards: runs on different datasets, splits or "
                      "evaluation settings are ranked separately, never averaged together.")
    console = _console()
    for board in boards:
        _print_board(console, board)
    if fmt is not None:
        path = output or results / f"leaderboard.{FORMATS[fmt]}"
        export(boards, fmt, path)
        _console().print(f"wrote {path}")


def _check_against(results: Path, reference: Path, tolerance: float) -> None:
    """``compare --against``: print each matched run's Average PCC/SSIM against the reference;
    exit 1 when one differs by more than ``tolerance``."""
    from vsbench.reproduction import ReproductionError, check_reproduction

    try:
        rows = check_reproduction(results, reference, tolerance)
    except ReproductionError as exc:
        _fail(str(exc), 1)
    table = Table(title=f"{results} against {reference} (tolerance {tolerance})")
    for column in ("method", "seed", "metric", "reference", "yours", "difference", ""):
        table.add_column(column, justify="left" if column in ("method", "metric") else "right")
    for row in rows.itertuples():
        table.add_row(row.method, str(row.seed), row.metric.upper(), f"{row.reference:.4f}",
                      f"{row.value:.4f}", f"{row.difference:+.4f}",
                      "ok" if row.within else "[red]OUTSIDE[/]")
    console = _console()
    console.print(table)
    bad = rows[~rows["within"]]
    if len(bad):
        _fail(f"{len(bad)} of {len(rows)} values differ from {reference} by more than "
              f"{tolerance}: " + ", ".join(f"{r.method} seed {r.seed} {r.metric.upper()} "
                                           f"{r.difference:+.3f}" for r in bad.itertuples()), 1)
    console.print(f"reproduced: {len(rows)} values of {rows['method'].nunique()} method(s) "
                  f"within {tolerance} of {reference}.")


def _print_board(console: Console, board) -> None:
    """Print a leaderboard. Each cell is mean ± std over runs with the bootstrap confidence
    interval below it. Layout by terminal width: one wide table; else one table per metric
    (channels and Average as columns); else, on narrow terminals, one table per metric with
    methods as columns (rank and p as the last rows)."""
    from vsbench.leaderboard import cell_text, interval_text
    from vsbench.stats import format_p

    best, second = board.best(), board.second()
    runs = board.table[("", "runs")]
    channels = board.channels()
    metrics = list(dict.fromkeys(m for _, m in board.metric_columns()))
    methods = list(board.table.index)

    def cell(method_name, col) -> str:
        text = cell_text(board, method_name, col, pm="±")
        if best.get(col) == method_name:
            text = f"[bold green]{text}[/]"
        elif second.get(col) == method_name:
            text = f"[underline]{text}[/]"
        bounds = interval_text(board, method_name, col)
        return text + (f"\n[dim][{bounds[0]}, {bounds[1]}][/]" if bounds else "")

    def rank(method_name) -> str:
        return str(board.rank[method_name]) if board.rank is not None else "-"

    def p_value(method_name) -> str:
        return format_p(board.p_value[method_name]) if board.p_value is not None else "-"

    cell_width, fixed = 17, 40  # a cell "[0.123, 0.456]" plus borders; rank, method, runs, p
    by_metric = [(f"{metric.upper()} - {board.title()}",
                  [(c, metric) for c in channels if (c, metric) in board.table.columns])
                 for metric in metrics]
    if console.width < cell_width * len(channels) + fixed:
        for title, columns in by_metric:
            table = Table(title=title)
            table.add_column("channel", style="bold")
            for method_name in methods:
                table.add_column(str(method_name), justify="right", overflow="fold")
            for col in columns:
                table.add_row(col[0], *(cell(m, col) for m in methods))
            table.add_section()
            table.add_row("rank", *map(rank, methods))
            table.add_row("runs", *(str(int(runs[m])) for m in methods))
            table.add_row("p", *map(p_value, methods))
            console.print(table)
    else:
        wide = console.width >= cell_width * len(board.metric_columns()) + fixed
        groups = [(board.title(), board.metric_columns())] if wide else by_metric
        for title, columns in groups:
            table = Table(title=title)
            table.add_column("rank", justify="right")
            table.add_column("method", style="bold")
            for channel, metric in columns:
                table.add_column(f"{channel}\n{metric.upper()}" if wide else channel,
                                 justify="right", overflow="fold")
            table.add_column("runs", justify="right")
            table.add_column("p", justify="right")
            for method_name in methods:
                table.add_row(rank(method_name), str(method_name),
                              *(cell(method_name, col) for col in columns),
                              str(int(runs[method_name])), p_value(method_name))
            console.print(table)
    console.print(board.caption().replace("Best value per column in bold, second underlined.",
                                          "Best value per column in [bold green]green[/], "
                                          "second underlined; [dim][CI][/] below."),
                  highlight=False)


@app.command()
def report(
    results: Path = typer.Option(Path("results"), "--results", help="Results folder to read "
                                 "(every completed run under RESULTS/runs/)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for report.html "
                                       "(default: RESULTS/report)."),
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help="Data root whose "
                                   "split manifests flag results made on an older split."),
    fields: int = typer.Option(3, "--fields", min=1, help="Test fields shown per leaderboard "
                               "in the gallery (at most the runs' n_preview)."),
) -> None:
    """Write an HTML report of the finished runs: one self-contained page.

    Per leaderboard: the table (mean ± std, confidence intervals, rank, p-values), per-channel
    bar charts with 95% bootstrap confidence intervals, the same test fields predicted by every
    method beside the ground truth (one column per channel), the masks mask-guided methods
    used, the training loss of every run, and speed (training time, seconds per image).
    """
    from vsbench.report import ReportError, build_report

    try:
        path = build_report(results, out or results / "report", data_root, n_fields=fields)
    except ReportError as exc:
        _fail(str(exc), 1)
    _console().print(f"wrote {path}", highlight=False, soft_wrap=True)


@app.command()
def methods() -> None:
    """List the registered methods.

    Name, description, reference and where each comes from (built-in or which package);
    plugins that failed to load are reported with their error.
    """
    console = _console()
    registry = _registry()
    table = Table(title="vsbench methods")
    for column in ("name", "description", "reference", "from"):
        table.add_column(column)
    for name, entry in sorted(registry.methods.items()):
        origin = entry.origin
        source = "built-in" if origin.builtin else f"{origin.distribution} {origin.version}"
        table.add_row(name, entry.spec.description, entry.spec.reference, source)
    console.print(table)
    _print_broken(registry)


@app.command()
def datasets(
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help=DATA_ROOT_HELP),
) -> None:
    """List the dataset sources, their channel sets, sizes and label kinds.

    For each, also what is prepared under DATA_ROOT: cache sizes, split hash, bytes on disk.
    """
    from vsbench.data.summary import summarise

    console = _console()
    registry = _registry()
    table = Table(title="vsbench datasets")
    for column in ("name", "description", "samples", "plates", "channels", "planes", "labels",
                   "prepared", "split", "size", "from"):
        table.add_column(column)
    unavailable = []
    for name, entry in sorted(registry.datasets.items()):
        origin = entry.origin
        try:
            summary = summarise(entry.spec.factory(data_root), data_root)
            cells = [str(summary[k]) for k in ("samples", "plates", "channels", "planes",
                                               "labels", "prepared", "split")]
            cells.append(f"{summary['size'] / 1e6:.1f} MB")
        except Exception as exc:  # a source whose files are missing is still listed
            cells = ["-"] * 4 + ["[red]unavailable[/] (below)"] + ["-"] * 3
            unavailable.append(f"{name}: {exc}")
        table.add_row(name, entry.spec.description, *cells,
                      "built-in" if origin.builtin else f"{origin.distribution} {origin.version}")
    console.print(table)
    for line in unavailable:
        console.print(f"[red]unavailable[/] {line}", highlight=False, soft_wrap=True)
    _print_broken(registry)


def _registry():
    from vsbench.plugins import PluginError, default_registry

    try:
        return default_registry()
    except PluginError as exc:  # e.g. two plugins registering one name
        _fail(str(exc))


def _print_broken(registry) -> None:
    for broken in registry.broken:
        _console(stderr=True).print(f"[red]broken plugin[/] '{broken.origin.entry_point}' from "
                          f"{broken.origin.distribution} ({broken.origin.module}): {broken.error}",
                          highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    app()
