"""The one progress-bar builder (rich): training, prediction, sampling, caching, fetching.

:func:`progress_bar` yields a :class:`Bar` whose ``advance`` moves it (and updates a status
text); with no console (library use, tests, ranks other than 0) or inside another live display
that this rich cannot nest, the bar does nothing, so callers never branch on it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


class Bar:
    """One task of a rich ``Progress``, or nothing."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress, self._task = progress, task

    @property
    def shown(self) -> bool:
        """True when a bar is being drawn."""
        return self._progress is not None

    def advance(self, steps: float = 1, status: str | None = None) -> None:
        """Move the bar ``steps`` forward; ``status`` replaces its status text."""
        if self._progress is None:
            return
        fields = {} if status is None else {"status": status}
        self._progress.update(self._task, advance=steps, **fields)


@contextmanager
def progress_bar(console: Any, description: str, total: float | None, completed: float = 0,
                 transient: bool = False, default_console: bool = False) -> Iterator[Bar]:
    """A bar over ``total`` steps on ``console`` (a rich ``Console``).

    ``console=None`` draws nothing unless ``default_console`` (then rich's own console is
    used, e.g. for sampling inside a run); ``transient`` removes the bar when done.
    """
    if console is None and not default_console:
        yield Bar()
        return
    from rich.errors import LiveError
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                        MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                        transient=transient)
    try:
        progress.start()
    except LiveError:  # an older rich inside another live display: no bar
        yield Bar()
        return
    try:
        task = progress.add_task(description, total=total, completed=completed, status="")
        yield Bar(progress, task)
    finally:
        progress.stop()
