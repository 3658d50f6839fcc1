"""Reading back what vsbench wrote (torch-free): a damaged file is named, never a traceback.

A file vsbench wrote earlier (a run's npz, csv or json, a cache, a checkpoint) can be truncated
by a full disk or a kill, or edited by hand. Each reader wraps its parsing in :func:`reading`,
which turns the errors a damaged file raises into one :class:`vsbench.errors.ResultsError` line
that names the file and says what to do.
"""

from __future__ import annotations

import pickle
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from vsbench.errors import ResultsError, VsbenchError

# What numpy, pandas, json, zipfile and torch raise on a truncated, empty or foreign file.
DAMAGED_FILE_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile,
    pickle.UnpicklingError, UnicodeDecodeError, zlib.error)


@contextmanager
def reading(path: Path, fix: str) -> Iterator[None]:
    """Around the parsing of ``path``: a damaged file becomes a :class:`ResultsError` naming
    it, the error and ``fix`` (e.g. "re-run it with `vsbench run`")."""
    try:
        yield
    except VsbenchError:
        raise
    except DAMAGED_FILE_ERRORS as exc:
        detail = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise ResultsError(f"{path}: damaged or unreadable ({type(exc).__name__}"
                           f"{': ' + detail if detail else ''}); {fix}") from None
