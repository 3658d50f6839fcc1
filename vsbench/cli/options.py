"""Options that several commands declare alike, as ``Annotated`` aliases (torch-free).

A command takes one as ``results: Results = Path("results")``: the flag and the help text are
declared once here, the default stays in the command's signature. An option whose help differs
between commands (``--device``, ``--dataset``) is declared in its command's module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsbench.cli.common import DATA_ROOT_HELP, RESULTS_HELP

# Default Path("results"): where runs are written.
Results = Annotated[Path, typer.Option("--results", help=RESULTS_HELP)]
# Default Path("datasets"): where the dataset files and split manifests are.
DataRoot = Annotated[Path, typer.Option("--data-root", help=DATA_ROOT_HELP)]
