"""The ``vsbench`` command line (typer): one module per command, one error policy.

Each command module imports its heavy dependencies (torch, pandas, matplotlib) inside the
command, so ``vsbench --help`` answers at once and ``methods``, ``datasets``, ``compare`` and
``report`` never import torch. Errors are handled once, by :class:`vsbench.cli.errors.Group`
(see that module for the policy and the exit codes).
"""

from __future__ import annotations

import typer

from vsbench.cli import (compare, datasets, evaluate, methods, predict, report, run, score,
                         sweep, validate, weights)
from vsbench.cli.data import data_app
from vsbench.cli.errors import Group

app = typer.Typer(
    name="vsbench", cls=Group, no_args_is_help=True, add_completion=False,
    rich_markup_mode="markdown",
    help="Benchmark virtual staining: train and evaluate methods that predict Cell Painting "
         "fluorescence channels from brightfield, on shared splits with one metric protocol, "
         "and compare them on leaderboards.")
app.add_typer(data_app, name="data", help="Fetch, prepare (cache) and split datasets.")
# In the order `vsbench --help` lists them.
app.command()(sweep.sweep)
app.command()(weights.weights)
app.command()(run.run)
app.command()(evaluate.evaluate)
app.command()(predict.predict)
app.command()(score.score)
app.command(name="validate-tiers")(validate.validate_tiers)
app.command()(compare.compare)
app.command()(report.report)
app.command()(methods.methods)
app.command()(datasets.datasets)


def main() -> None:
    """Console-script entry point."""
    app()
