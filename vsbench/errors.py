"""The one error hierarchy of vsbench (torch-free).

Every error vsbench raises on purpose subclasses :class:`VsbenchError`. Its message is one line
meant for the user: what is wrong, naming the file, key or name, and what to do about it. The
command line catches the base class once (:mod:`vsbench.cli.errors`) and exits with the error's
``exit_code``: 2 for something the user must fix (a bad option, file or setting), 1 when the
input was fine but the work failed or found nothing (a method that crashed, nothing to compare,
a reproduction outside its tolerance). Anything else that escapes is a bug or a plugin's crash.
"""

from __future__ import annotations


class VsbenchError(Exception):
    """Base of every error vsbench raises on purpose; ``str(error)`` is the user's message."""

    exit_code: int = 2


class ConfigError(VsbenchError, ValueError):
    """A configuration value or key the user must fix (``--set``, presets, settings files)."""


class DataError(VsbenchError, ValueError):
    """Bad data: the message names the sample or file and what to do about it."""


class PluginError(VsbenchError):
    """A problem with plugins the user must fix (unknown name, duplicate name)."""


class ResultsError(VsbenchError, ValueError):
    """A results folder or record that cannot be used."""


class EngineError(VsbenchError, RuntimeError):
    """A run that cannot start or continue; the message says why and what to do."""


class CheckpointError(EngineError):
    """A checkpoint that cannot be written or read."""


class MetricError(VsbenchError, ValueError):
    """A prediction the metrics cannot score (NaN, wrong shape, too small)."""


class LeaderboardError(VsbenchError, ValueError):
    """A filter or sort option that matches nothing; the message names it and the choices."""


class NothingToShow(VsbenchError):
    """Nothing to compare, report or check: no completed runs where the user pointed."""

    exit_code = 1


class ReportError(NothingToShow, ValueError):
    """Nothing to report, or a report that cannot be written; the message says what to do."""


class ReproductionError(NothingToShow, ValueError):
    """Nothing to check: one side has no completed runs, or no run matches the other side."""


class MethodFailed(VsbenchError):
    """A method's own code crashed during a run; the traceback is in the run folder."""

    exit_code = 1
