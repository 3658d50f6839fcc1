"""``vsbench datasets``: the dataset sources and what is prepared of each under a data root."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from vsbench.cli import checks
from vsbench.cli.common import console, print_broken, registry
from vsbench.cli.options import DataRoot
from vsbench.cli.tables import print_listing
from vsbench.data.sources import DEFAULT_DATASET


def datasets(
    data_root: DataRoot = Path("datasets"),
) -> None:
    """List the dataset sources, their channel sets, sizes and label kinds.

    For each, also what is prepared under DATA_ROOT: cache sizes, split hash, bytes on disk.
    """
    from vsbench.data.summary import summarise

    checks.optional_input_folder(data_root, "--data-root")
    out = console()
    plugins = registry()
    columns = ("name", "description", "samples", "plates", "channels", "planes", "labels",
               "prepared", "split", "size", "from")
    rows, unavailable = [], []
    for name, entry in sorted(plugins.datasets.items()):
        origin = entry.origin
        try:
            summary = summarise(entry.spec.factory(data_root), data_root)
            cells = [str(summary[k]) for k in ("samples", "plates", "channels", "planes",
                                               "labels", "prepared", "split")]
            cells.append(f"{summary['size'] / 1e6:.1f} MB")
        except Exception as exc:  # a source whose files are missing is still listed
            cells = ["-"] * 4 + ["unavailable (below)"] + ["-"] * 3
            unavailable.append(f"{name}: {exc}")
        # which source is the default is said here, from the one constant, not in each spec
        described = ("The default. " if name == DEFAULT_DATASET else "") + entry.spec.description
        rows.append([name, described, *cells,
                     "built-in" if origin.builtin else f"{origin.distribution} {origin.version}"])
    print_listing(out, "vsbench datasets", columns, rows)
    for line in unavailable:
        out.print(f"[red]unavailable[/] {escape(line)}", highlight=False)
    print_broken(plugins)
