"""``vsbench compare``: rank finished runs on leaderboards, or check them against a reference.

Torch-free: it reads run records through the results store (:mod:`vsbench.leaderboard`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from vsbench.cli import checks
from vsbench.cli.common import console, warn
from vsbench.errors import LeaderboardError, NothingToShow, ReproductionError


def compare(
    results: Path = typer.Option(Path("results"), "--results", help="Results folder to read "
                                 "(every completed run under RESULTS/runs/)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="Also write the leaderboard "
                                      "as markdown, csv, latex, html or json (every number, for scripts)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="File for --format "
                                          "(default: RESULTS/leaderboard.EXT)."),
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
    tier: str = typer.Option("pixel", "--tier", help="pixel (MSE, MAE, PCC, SSIM), instance "
                             "(nuclei and cells found: F1, precision, recall, IoU, AP, count "
                             "error; ranked on nuclei F1), features (cp-measure cell features: "
                             "mean real-vs-predicted r and fraction with r >= 0.5 per channel; "
                             "ranked on the Average r), profiles (well-level phenotypic "
                             "activity mAP per perturbation, real stain beside each method), "
                             "posterior (ensemble CRPS, 50/90 % coverage, diversity, sample "
                             "mean; ranked on the Average CRPS), a tier a plugin registers, or "
                             "all. --channels, --metrics and --sort-by apply to the pixel "
                             "tier."),
) -> None:
    """Rank finished runs on leaderboards.

    One leaderboard per dataset and split, one row per method: mean ± standard deviation over
    its runs (seeds) of MSE, MAE, PCC and SSIM per channel and their Average, with a 95%
    confidence interval below each value, a rank, and the p-value of a paired test against the
    best method, both from a hierarchical bootstrap over seeds and wells (sites within wells), so
    that they cover the seed-to-seed variation. The best value of each column is highlighted,
    the second underlined.
    """
    checks.optional_input_folder(results, "--results")
    checks.optional_input_folder(data_root, "--data-root")
    if against is not None:
        check_against(results, against, tolerance)
        return
    show_leaderboards(results, data_root, fmt, output, dataset, methods_, channels, metrics,
                      sort_by, tier)


def show_leaderboards(results: Path, data_root: Path, fmt: str | None = None,
                      output: Path | None = None, dataset: str | None = None,
                      methods: str | None = None, channels: str | None = None,
                      metrics: str | None = None, sort_by: str = "Average/pcc",
                      tier: str | None = None) -> None:
    """Print the leaderboards of ``results`` for ``tier`` (None: the pixel tier; warnings
    for skipped run folders on stderr) and, with ``fmt``, export them.
    :class:`NothingToShow` without completed runs."""
    from vsbench.leaderboard.tiers import tier_choices
    from vsbench.tiers.pixel import NAME as PIXEL
    from vsbench.tiers.registry import all_tiers

    tier = tier or PIXEL
    if tier not in tier_choices():
        raise LeaderboardError(f"--tier {tier}: choose one of {', '.join(tier_choices())}.")
    from vsbench.leaderboard import (FORMATS, build_leaderboards, export, filter_runs, load_runs,
                                     mark_stale, parse_metrics, parse_sort_by, print_board,
                                     select_columns)
    from vsbench.layout import leaderboard_file

    if fmt is not None and fmt not in FORMATS:
        raise LeaderboardError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    if fmt is not None and output is not None and output.is_dir():
        raise LeaderboardError(f"--output {output} is a folder; give a file name, e.g. "
                               f"{output / ('leaderboard.' + FORMATS[fmt])}.")
    if fmt is not None:  # before any work: an unwritable target must not cost the boards
        checks.output_file(output or leaderboard_file(results, FORMATS[fmt]),
                           "--output" if output is not None else "--results")
    sort_key = parse_sort_by(sort_by)
    parse_metrics(metrics)
    runs, warnings = load_runs(results)
    for warning in warnings:
        warn(warning)
    if runs.empty:
        raise NothingToShow(f"nothing to compare: no completed runs under {results}/runs. Make "
                            "one with `vsbench run --method unet`.")
    runs = filter_runs(runs, dataset, methods)
    boards = []
    if tier in (PIXEL, "all"):
        boards = select_columns(mark_stale(build_leaderboards(runs, sort_key), data_root),
                                channels, metrics)
        if not boards:
            raise NothingToShow("nothing to compare: no leaderboard has the selected channels.")
    boards += tier_boards(results, data_root, tier, dataset, methods)
    if len({str(b.key) for b in boards}) > 1:
        console().print(f"{len(boards)} leaderboards: runs on different datasets, splits or "
                        "evaluation settings are ranked separately, never averaged together.")
    out, tiers = console(), all_tiers()
    for board in boards:
        print_board(out, board)
        for note in board.notes:
            warn(note)
        tables = tiers[board.tier].terminal_tables
        if tables is not None:
            tables(out, board)
    if fmt is not None:
        path = output or leaderboard_file(results, FORMATS[fmt])
        export(boards, fmt, path)
        console().print(f"wrote {path}")


def tier_boards(results: Path, data_root: Path, tier: str, dataset: str | None,
                methods: str | None) -> list:
    """The leaderboards of the instance, feature, profile and posterior tiers (``tier``: one
    of them or all; pixel: none); notes for runs without the tier on stderr."""
    from vsbench.leaderboard import filter_runs, mark_stale
    from vsbench.leaderboard.tiers import board_tiers, build_tier_boards, load_tier_runs

    boards = []
    for name in [t for t in board_tiers() if tier in (t, "all")]:
        runs, notes = load_tier_runs(results, name)
        for note in notes:
            if not note.startswith("skipped"):  # the pixel tier already named those
                warn(note)
        if runs.empty:
            if tier != "all":
                raise NothingToShow(f"nothing to compare: no completed run under {results}/runs "
                                    f"has the {name} tier; score runs with `vsbench evaluate "
                                    f"--tier {name} RUN...`.")
            continue
        boards += mark_stale(build_tier_boards(filter_runs(runs, dataset, methods), name),
                             data_root)
    return boards


def check_against(results: Path, reference: Path, tolerance: float) -> None:
    """``compare --against``: print each matched run's Average PCC/SSIM against the reference;
    :class:`ReproductionError` (exit 1) when one differs by more than ``tolerance``."""
    checks.input_folder(reference, "--against", "results folder")
    from vsbench.leaderboard.reproduction import check_reproduction

    rows = check_reproduction(results, reference, tolerance)
    table = Table(title=f"{results} against {reference} (tolerance {tolerance})")
    for column in ("method", "seed", "metric", "reference", "yours", "difference", ""):
        table.add_column(column, justify="left" if column in ("method", "metric") else "right")
    for row in rows.itertuples():
        table.add_row(row.method, str(row.seed), row.metric.upper(), f"{row.reference:.4f}",
                      f"{row.value:.4f}", f"{row.difference:+.4f}",
                      "ok" if row.within else "[red]OUTSIDE[/]")
    out = console()
    out.print(table)
    if rows.attrs.get("unmatched"):
        warn(f"not checked (no run of {reference} with the same configuration and seed): "
             + ", ".join(rows.attrs["unmatched"]))
    bad = rows[~rows["within"]]
    if len(bad):
        raise ReproductionError(
            f"{len(bad)} of {len(rows)} values differ from {reference} by more than "
            f"{tolerance}: " + ", ".join(f"{r.method} seed {r.seed} {r.metric.upper()} "
                                         f"{r.difference:+.3f}" for r in bad.itertuples()))
    out.print(f"reproduced: {len(rows)} values of {rows['method'].nunique()} method(s) "
              f"within {tolerance} of {reference}.")
