"""What the commands share: consoles, option help texts, the plugin registry and its report."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

RESULTS_HELP = "Results folder: runs are written to RESULTS/runs/DATASET/METHOD/RUN_ID/."
DATA_ROOT_HELP = "Local data root holding dataset files and split manifests (DATA_ROOT/DATASET/)."


def console(stderr: bool = False) -> Console:
    """A console for this command's output (stderr for warnings and errors)."""
    # Made per call so that the terminal width is read when the command runs.
    return Console(stderr=stderr)


def warn(message: str) -> None:
    """``warning: MESSAGE`` on stderr."""
    console(stderr=True).print(f"[yellow]warning:[/] {escape(message)}", highlight=False,
                               soft_wrap=True)


def registry():
    """The plugin registry (a :class:`vsbench.errors.PluginError`, e.g. two plugins
    registering one name, is the user's to fix)."""
    from vsbench.plugins import default_registry

    return default_registry()


def print_broken(plugins) -> None:
    """Name each plugin that failed to load, with its error, on stderr."""
    for broken in plugins.broken:
        console(stderr=True).print(f"[red]broken plugin[/] '{broken.origin.entry_point}' from "
                                   f"{broken.origin.distribution} ({broken.origin.module}): "
                                   f"{broken.error}", highlight=False, soft_wrap=True)
