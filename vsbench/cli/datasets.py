"""``vsbench datasets``: the dataset sources and what is prepared of each under a data root."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from vsbench.cli import checks
from vsbench.cli.common import DATA_ROOT_HELP, console, print_broken, registry


def datasets(
    data_root: Path = typer.Option(Path("datasets"), "--data-root", help=DATA_ROOT_HELP),
) -> None:
    """List the dataset sources, their channel sets, sizes and label kinds.

    For each, also what is prepared under DATA_ROOT: cache sizes, split hash, bytes on disk.
    """
    from vsbench.data.summary import summarise

    checks.optional_input_folder(data_root, "--data-root")
    out = console()
    plugins = registry()
    table = Table(title="vsbench datasets")
    for column in ("name", "description", "samples", "plates", "channels", "planes", "labels",
                   "prepared", "split", "size", "from"):
        table.add_column(column)
    unavailable = []
    for name, entry in sorted(plugins.datasets.items()):
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
    out.print(table)
    for line in unavailable:
        out.print(f"[red]unavailable[/] {line}", highlight=False, soft_wrap=True)
    print_broken(plugins)
