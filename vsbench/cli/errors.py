"""The one error policy of the command line.

Every command lets errors propagate; :class:`Group` (the class of the ``vsbench`` app) catches
them once, around whichever command runs:

- a :class:`vsbench.errors.VsbenchError`: its message as one line, ``error: ...`` on stderr,
  then exit with its ``exit_code`` (2: something to fix; 1: the work failed or found nothing);
- ``KeyboardInterrupt`` (Ctrl-C): exit 130 after one line saying what was kept
  (:data:`INTERRUPTED`);
- anything else escapes with its traceback: a bug. A method's own code is the exception:
  ``run`` wraps the run in :func:`method_failures`, which turns a crash into
  :class:`vsbench.errors.MethodFailed` (exit 1, the traceback in the run folder's state.json),
  unless ``VSBENCH_DEBUG=1`` asks for the traceback here.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from vsbench.errors import MethodFailed, VsbenchError

DEBUG_ENV = "VSBENCH_DEBUG"
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report it
# What an interrupted command says (by top-level command name); the others say DEFAULT.
INTERRUPTED = {
    "run": "interrupted; the run folder is marked failed, finished runs are untouched.",
    "sweep": "interrupted; completed runs are untouched and the same sweep skips them when "
             "run again.",
    "data": "interrupted; run the same command again to continue where it stopped.",
}
INTERRUPTED_DEFAULT = "interrupted."


def print_error(message: str) -> None:
    """``error: MESSAGE`` on stderr (one line; the message is shown as written)."""
    # Made per call so that the terminal (or a test runner's stream) is the current one.
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                               soft_wrap=True)


def exit_with(message: str, code: int) -> typer.Exit:
    """Print ``message`` as an error line and return the exit to raise."""
    print_error(message)
    return typer.Exit(code)


class Group(TyperGroup):
    """The ``vsbench`` command group: runs a command under the error policy."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VsbenchError as exc:
            raise exit_with(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            message = INTERRUPTED.get(ctx.invoked_subcommand or "", INTERRUPTED_DEFAULT)
            raise exit_with(message, INTERRUPTED_EXIT) from None


@contextmanager
def method_failures(method: str) -> Iterator[None]:
    """Around the code that runs ``method``: an unexpected exception (a crashing plugin)
    becomes one line, :class:`MethodFailed` (exit 1); the engine has already put the traceback
    in the run folder's state.json. ``VSBENCH_DEBUG=1`` re-raises it instead."""
    try:
        yield
    except VsbenchError:
        raise
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        raise MethodFailed(f"method '{method}' failed: {type(exc).__name__}: {exc} (traceback "
                           f"in the run folder's state.json, or rerun with {DEBUG_ENV}=1)."
                           ) from exc
