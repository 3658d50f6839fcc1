"""The profile tier's table under its board in ``vsbench compare`` (torch-free): the
phenotypic-activity mAP per perturbation, the real stain beside each method, and the
real-vs-virtual agreement r with its bootstrap interval."""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd
from rich.table import Table


def print_perturbations(out: Any, board: Any,
                        perturbation_table: Callable[[dict], pd.DataFrame],
                        agreement_table: Callable[[dict], pd.DataFrame]) -> None:
    """The profile tier's own table: per treated perturbation, the real stain's mAP beside
    each method's (mean over its runs; ``perturbation_table``), and the real-vs-virtual
    agreement r with its interval (``agreement_table``)."""
    folders = {label: list(group["folder"]) for label, group in board.runs.groupby(
        "label", sort=False)}
    frame = perturbation_table(folders)
    if frame.empty:
        return
    table = Table(title="phenotypic activity mAP per perturbation (real stain vs virtual)")
    table.add_column("perturbation")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for name, row in frame.iterrows():
        table.add_row(str(name), *("-" if _missing(v) else f"{v:.3f}" for v in row))
    intervals = agreement_table(folders)
    if not intervals.empty:
        table.add_row("agreement r, 95% CI", "", *(
            "-" if c not in intervals.index or _missing(intervals.loc[c, "ci_low"])
            else f"[{intervals.loc[c, 'ci_low']:.2f}, {intervals.loc[c, 'ci_high']:.2f}]"
            for c in frame.columns[1:]))
    out.print(table)
    if not intervals.empty:
        n = int(intervals["perturbations"].max())
        out.print(f"agreement r: Pearson r over the {n} treated perturbations of real against "
                  "virtual mAP, mean over runs; its interval resamples perturbations and runs "
                  "(2000 resamples)" + (f" - with {n} perturbations it can tell little apart"
                                        if n < 10 else "") + ".", highlight=False)


def _missing(value: Any) -> bool:
    """NaN or None."""
    return value is None or value != value
