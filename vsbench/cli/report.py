"""``vsbench report``: write one self-contained HTML page about the finished runs (torch-free)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vsbench.cli import checks
from vsbench.cli.common import console


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
    from vsbench.layout import report_folder
    from vsbench.report import build_report

    checks.optional_input_folder(results, "--results")
    checks.optional_input_folder(data_root, "--data-root")
    target = checks.output_folder(out or report_folder(results),
                                  "--out" if out is not None else "--results")
    path = build_report(results, target, data_root, n_fields=fields)
    console().print(f"wrote {path}", highlight=False, soft_wrap=True)
