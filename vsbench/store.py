"""The results store (torch-free): every read and write of run folders goes through here.

A run folder is ``<results>/runs/<dataset>/<method>/<run-id>/`` (:mod:`vsbench.layout`). It is
created exclusively (two runs never share one), its records are the typed ones of
:mod:`vsbench.records`, and every file is written atomically (:mod:`vsbench.atomic`), so a crash
never leaves half a record and nothing finished is ever lost.

:class:`ResultsStore` lists the runs of a results folder with their records already read and
checked. A run whose records cannot be read is still listed, with ``problem`` saying what is
wrong, so every reader (leaderboards, reports, sweeps, ``--resume``) can name what it skips.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from vsbench import atomic, layout
from vsbench.errors import ResultsError
from vsbench.records import ConfigRecord, MetricsRecord, StateRecord


@dataclass(frozen=True)
class RunFolder:
    """The folder of one run, and its records."""

    path: Path

    @property
    def run_id(self) -> str:
        """The folder's name: ``<date>-<time>-seed<seed>-<random>``."""
        return self.path.name

    def file(self, name: str) -> Path:
        """A file of the run (see the names in :mod:`vsbench.layout`)."""
        return self.path / name

    def write_config(self, record: ConfigRecord) -> None:
        """Write ``config.json``."""
        atomic.write_json(self.file(layout.CONFIG_FILE), record.to_json())

    def write_metrics(self, record: MetricsRecord) -> None:
        """Write ``metrics.json``."""
        atomic.write_json(self.file(layout.METRICS_FILE), record.to_json())

    def set_state(self, status: str, **fields: Any) -> StateRecord:
        """Record the run's state (``running``, ``completed`` or ``failed``)."""
        record = StateRecord.now(status, **fields)
        atomic.write_json(self.file(layout.STATE_FILE), record.to_json())
        return record

    def read_config(self) -> ConfigRecord:
        """``config.json``; :class:`ResultsError` naming the file when missing or invalid."""
        return _read(ConfigRecord, self.file(layout.CONFIG_FILE))

    def read_metrics(self) -> MetricsRecord:
        """``metrics.json``; :class:`ResultsError` naming the file when missing or invalid."""
        return _read(MetricsRecord, self.file(layout.METRICS_FILE))

    def read_state(self) -> StateRecord:
        """``state.json``; :class:`ResultsError` naming the file when missing or invalid."""
        return _read(StateRecord, self.file(layout.STATE_FILE))

    def state(self) -> str:
        """The recorded status, or ``unknown`` when ``state.json`` is missing or invalid."""
        try:
            return self.read_state().status
        except ResultsError:
            return "unknown"

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete half-written temporary files a killed process left in the folder."""
        return atomic.remove_stale_temporaries(self.path)


def _read(cls, path: Path):
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ResultsError(f"{path}: missing.") from None
    except OSError as exc:
        raise ResultsError(f"{path}: unreadable ({exc.strerror}).") from None
    return cls.parse(text, path)


@dataclass(frozen=True)
class StoredRun:
    """A run folder as the store found it: its records, or why they are unusable.

    ``config``, ``state`` and ``metrics`` are None when the file is missing or invalid.
    ``problem`` says why a run that should be usable is not (its state or, once completed,
    its metrics cannot be read); ``config_problem`` why its ``config.json`` cannot be read
    (the run's scores are still usable, but not what produced them).
    """

    folder: RunFolder
    dataset: str
    method: str
    state: StateRecord | None
    config: ConfigRecord | None
    metrics: MetricsRecord | None
    problem: str | None = None
    config_problem: str | None = None

    @property
    def status(self) -> str:
        """``running``, ``completed``, ``failed`` or ``unknown`` (no readable state)."""
        return self.state.status if self.state is not None else "unknown"

    @property
    def usable(self) -> bool:
        """A completed run with valid metrics: what leaderboards rank."""
        return self.status == "completed" and self.metrics is not None

    @property
    def config_hash(self) -> str | None:
        """The configuration hash its config (else its metrics) records."""
        if self.config is not None and self.config.config_hash:
            return self.config.config_hash
        return self.metrics.config_hash if self.metrics is not None else None


def _load(path: Path, dataset: str, method: str) -> StoredRun:
    """Read one run folder's records and say what is wrong with them."""
    folder = RunFolder(path)
    records: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for name, reader in (("state", folder.read_state), ("config", folder.read_config),
                         ("metrics", folder.read_metrics)):
        try:
            records[name] = reader()
        except ResultsError as exc:
            records[name] = None
            problems[name] = str(exc)
    state = records["state"]
    status = state.status if state is not None else "unknown"
    if all(not folder.file(f).exists() for f in (layout.STATE_FILE, layout.CONFIG_FILE,
                                                 layout.METRICS_FILE)):
        problems = {}  # a folder being created right now
    elif status in ("running", "failed"):
        problems.pop("metrics", None)  # not completed: no metrics expected
    config_problem = problems.pop("config", None)
    problem = problems.get("state") or problems.get("metrics")
    return StoredRun(folder, dataset, method, state, records["config"], records["metrics"],
                     problem, config_problem)


class ResultsStore:
    """The run folders of one results folder (``--results``)."""

    def __init__(self, results_dir: Path) -> None:
        self.results_dir = Path(results_dir)

    @property
    def runs_root(self) -> Path:
        """``<results>/runs``."""
        return layout.runs_root(self.results_dir)

    def _folders(self, dataset: str | None, method: str | None) -> Iterator[tuple[Path, str, str]]:
        root = self.runs_root
        if not root.is_dir():
            return
        for dataset_dir in sorted(root.iterdir()):
            if not dataset_dir.is_dir() or (dataset is not None and dataset_dir.name != dataset):
                continue
            for method_dir in sorted(dataset_dir.iterdir()):
                if not method_dir.is_dir() or (method is not None and method_dir.name != method):
                    continue
                for run_dir in sorted(method_dir.iterdir()):
                    if run_dir.is_dir() and not run_dir.name.startswith("."):
                        yield run_dir, dataset_dir.name, method_dir.name

    def runs(self, dataset: str | None = None, method: str | None = None,
             state: str | None = None, config_hash: str | None = None) -> list[StoredRun]:
        """The runs under ``<results>/runs``, oldest first (run ids start with their start
        time), optionally only those of a dataset, a method, a status (``completed``,
        ``running``, ``failed``, ``unknown``) or a configuration hash."""
        out = []
        for path, dataset_name, method_name in self._folders(dataset, method):
            run = _load(path, dataset_name, method_name)
            if state is not None and run.status != state:
                continue
            if config_hash is not None and run.config_hash != config_hash:
                continue
            out.append(run)
        return out

    def completed(self, dataset: str | None = None, method: str | None = None
                  ) -> tuple[list[StoredRun], list[StoredRun]]:
        """``(usable, skipped)``: completed runs with valid metrics, and the run folders that
        look finished but cannot be used (each with its ``problem``)."""
        usable, skipped = [], []
        for run in self.runs(dataset, method):
            if run.usable and run.problem is None:
                usable.append(run)
            elif run.problem is not None:
                skipped.append(run)
        return usable, skipped

    def unfinished(self, dataset: str, method: str, config_hash: str) -> list[StoredRun]:
        """Runs of this configuration that did not complete (interrupted or failed), oldest
        first: what ``--resume`` may continue."""
        return [run for run in self.runs(dataset, method, config_hash=config_hash)
                if run.status != "completed" and run.config is not None]

    def completed_with(self, dataset: str, method: str, config_hash: str) -> StoredRun | None:
        """The latest completed run of this configuration, if any (what a sweep skips)."""
        done = [run for run in self.runs(dataset, method, state="completed",
                                         config_hash=config_hash) if run.usable]
        return done[-1] if done else None

    def create(self, dataset: str, method: str, seed: int) -> RunFolder:
        """Make a new, unique run folder (never reuses an existing one)."""
        parent = layout.method_runs(self.results_dir, dataset, method)
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsError(f"Cannot create results folder {parent}: {exc.strerror}; pass "
                               "a writable folder with --results.") from None
        if not os.access(parent, os.W_OK):
            raise ResultsError(f"Results folder {parent} is not writable; pass a writable "
                               "folder with --results.")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        while True:
            path = parent / f"{stamp}-seed{seed}-{secrets.token_hex(3)}"
            try:
                path.mkdir()  # exclusive: a concurrent run gets another id
                return RunFolder(path)
            except FileExistsError:
                continue
