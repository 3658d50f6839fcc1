"""``vsbench methods``: the registered methods (torch-free: no method module is built)."""

from __future__ import annotations

from rich.table import Table

from vsbench.cli.common import console, print_broken, registry


def methods() -> None:
    """List the registered methods.

    Name, description, reference and where each comes from (built-in or which package);
    plugins that failed to load are reported with their error.
    """
    plugins = registry()
    table = Table(title="vsbench methods")
    for column in ("name", "description", "reference", "from"):
        table.add_column(column)
    for name, entry in sorted(plugins.methods.items()):
        origin = entry.origin
        source = "built-in" if origin.builtin else f"{origin.distribution} {origin.version}"
        table.add_row(name, entry.spec.description, entry.spec.reference, source)
    console().print(table)
    print_broken(plugins)
