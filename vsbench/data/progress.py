"""Progress bars for the data commands (rich), or nothing when no console is given."""

from __future__ import annotations

from contextlib import nullcontext


def progress_bar(console, description: str, total: int, completed: int = 0):
    """A context manager giving a rich ``Progress`` with one task (``.tasks[0]``), or ``None``
    when ``console`` is None (library use and tests stay quiet)."""
    if console is None:
        return nullcontext(None)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console)
    progress.add_task(description, total=total, completed=completed)
    return progress
