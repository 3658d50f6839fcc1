"""``vsbench methods``: the registered methods (torch-free: no method module is built)."""

from __future__ import annotations

from vsbench.cli.common import console, print_broken, registry
from vsbench.cli.tables import print_listing


def methods() -> None:
    """List the registered methods.

    Name, description, reference and where each comes from (built-in or which package);
    plugins that failed to load are reported with their error.
    """
    plugins = registry()
    rows = []
    for name, entry in sorted(plugins.methods.items()):
        origin = entry.origin
        source = "built-in" if origin.builtin else f"{origin.distribution} {origin.version}"
        rows.append([name, entry.spec.description, entry.spec.reference, source])
    print_listing(console(), "vsbench methods", ("name", "description", "reference", "from"),
                  rows)
    print_broken(plugins)
