"""``vsbench validate-tiers``: the known-answer ladder (:mod:`vsbench.ladder`) - stains of
known order scored as submissions, and which tiers order them as they must."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from vsbench import atomic
from vsbench.cli import checks
from vsbench.cli.common import console
from vsbench.cli.options import DataRoot
from vsbench.data.sources import DEFAULT_DATASET


_Dataset = Annotated[str, typer.Option("--dataset", "-d", help="The dataset whose test split "
                                       "the ladder is made of.")]
_Results = Annotated[Path, typer.Option("--results", help="Where the ladder's submitted runs "
                                        "go (a folder of their own: they are not methods and "
                                        "must not join a method board).")]
_Size = Annotated[int, typer.Option("--size", help="The fields' size in pixels (the runs' "
                                    "evaluation size).")]
_Output = Annotated[Optional[Path], typer.Option("--output", "-o", help="JSON file for the "
                                                 "scores and the orders (default: "
                                                 "RESULTS/ladder.json).")]


def validate_tiers(dataset: _Dataset = DEFAULT_DATASET, results: _Results = Path("results/ladder"),
                   data_root: DataRoot = Path("datasets"), size: _Size = 64,
                   output: _Output = None) -> None:
    """Score stains of known order on every tier and say which orders each tier gets right.

    The rungs: the real stain; it plus noise (SD 0.05, 0.1, 0.2); blurred (1, 2, 4 px); its
    intensities swapped to another perturbation's (cells in place, biology gone); the mean
    image; its channels in another order. Every tier must put the real stain first and score
    more noise or blur lower; the feature and profile tiers must put the swapped biology below
    the real stain. Orders a tier misses are listed: what it cannot tell apart. The posterior
    tier is checked on 4-sample ensembles of known spread around the real stain (calibrated,
    half and twice too wide): its coverage and outside_range must order them, and the
    calibrated one must land where the formulas say.
    """
    from vsbench.ladder import (check_orders, check_posterior, posterior_rungs,
                                real_test_stains, run_ladder)

    checks.output_folder(results, "--results")
    checks.output_folder(data_root, "--data-root")
    checks.output_file(output or results / "ladder.json", "--output" if output else "--results")
    out = console()
    scores = run_ladder(dataset, results, data_root, size=size, console=out)
    orders = check_orders(scores)
    _print_orders(out, scores, orders, f"known-answer ladder on {dataset} (test split, "
                                       f"{size} px)")
    posterior = posterior_rungs(real_test_stains(dataset, data_root, size)[2])
    posterior_checks = check_posterior(posterior)
    _print_posterior(out, posterior, posterior_checks)
    path = output or results / "ladder.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    plain = json.loads(json.dumps({"dataset": dataset, "size": size, "scores": scores,
                                   "orders": orders, "posterior": posterior,
                                   "posterior_checks": posterior_checks}),
                       parse_constant=lambda _: None)
    atomic.write_text(path, json.dumps(plain, indent=1))  # NaN (not scored) as null
    out.print(f"wrote {path}", highlight=False)


def _print_orders(out: Console, scores: dict[str, dict[str, float]], orders: list[dict],
                  title: str) -> None:
    """The rungs' headline score per tier, then how many expected orders held and the ones
    missed."""
    from vsbench.ladder import headlines

    table = Table(title=title)
    table.add_column("rung")
    for tier in headlines():
        table.add_column(tier, justify="right")
    for rung, values in scores.items():
        table.add_row(rung, *("-" if v != v else f"{v:.3f}" for v in values.values()))
    out.print(table)
    missed = [o for o in orders if not o["ordered"]]
    out.print(f"{len(orders) - len(missed)} of {len(orders)} expected orders right.",
              highlight=False)
    for o in missed:
        out.print(f"  {o['tier']}: {o['better']} ({o['better_value']:.3f}) not above "
                  f"{o['worse']} ({o['worse_value']:.3f})", highlight=False)


def _print_posterior(out: Console, posterior: dict[str, dict[str, float]],
                     posterior_checks: list[dict]) -> None:
    """The posterior rungs' coverage, outside range and CRPS, then each check, ok or missed."""
    from vsbench.ladder import POSTERIOR_SAMPLES

    table = Table(title=f"posterior tier: {POSTERIOR_SAMPLES}-sample ensembles of known spread "
                        "around the real stain")
    for column in ("rung", "coverage 50", "coverage 90", "outside range", "CRPS"):
        table.add_column(column, justify="left" if column == "rung" else "right")
    for rung, values in posterior.items():
        table.add_row(rung, *(f"{values[k]:.3f}" for k in ("coverage_50", "coverage_90",
                                                           "outside_range", "crps")))
    out.print(table)
    for check in posterior_checks:
        value = f" ({check['value']:.3f})" if "value" in check else ""
        out.print(f"  {'ok' if check['ok'] else 'MISSED'}: {check['check']}{value}",
                  highlight=False)
