"""Run records on disk: one folder per run, written so that nothing finished is ever lost.

Layout: ``<results>/runs/<dataset>/<method>/<run-id>/`` with ``config.json`` (what produced the
run), ``state.json`` (running / completed / failed, with the traceback on failure),
``metrics.json``, ``per_image_metrics.csv``, ``train_log.csv``, ``checkpoint.pt``,
``predictions.png`` and ``predictions.npz``. Every file is written to a temporary name and
renamed, so a crash never leaves half a file, and a run folder is created exclusively, so two
runs never share one. Only runs whose state is ``completed`` and whose ``metrics.json`` is
valid reach a leaderboard.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from vsbench.metrics import METRICS

STATE_FILE, CONFIG_FILE, METRICS_FILE = "state.json", "config.json", "metrics.json"
PER_IMAGE_FILE, TRAIN_LOG_FILE = "per_image_metrics.csv", "train_log.csv"
CHECKPOINT_FILE, PREVIEW_FILE = "checkpoint.pt", "predictions.png"
# The preview images' arrays (brightfield, prediction, target, sample_ids, channels), so that a
# report can show every method's prediction of the same test fields without re-running models.
PREDICTIONS_FILE = "predictions.npz"

METRICS_KEYS = ("method", "dataset", "dataset_fingerprint", "split_hash", "preset", "seed",
                "n_test_images", "channels", "average", "train_seconds",
                "predict_seconds_per_image")


class ResultsError(ValueError):
    """A results folder or record that cannot be used."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


@dataclass(frozen=True)
class RunFolder:
    """The folder of one run."""

    path: Path

    @classmethod
    def create(cls, results_dir: Path, dataset: str, method: str, seed: int) -> "RunFolder":
        """Make a new, unique run folder (never reuses an existing one)."""
        parent = Path(results_dir) / "runs" / dataset / method
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
                return cls(path)
            except FileExistsError:
                continue

    def write_json(self, name: str, obj: Any) -> None:
        """Write a JSON file of the run atomically."""
        atomic_write_json(self.path / name, obj)

    def set_state(self, status: str, **extra: Any) -> None:
        """Record the run's state: running, completed or failed."""
        self.write_json(STATE_FILE, {"status": status, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                     **extra})

    def state(self) -> str:
        """The recorded state, or ``unknown``."""
        try:
            return json.loads((self.path / STATE_FILE).read_text())["status"]
        except (OSError, ValueError, KeyError):
            return "unknown"


def unfinished_runs(results_dir: Path, dataset: str, method: str, config_hash: str
                    ) -> list[RunFolder]:
    """Runs of ``method`` on ``dataset`` with this configuration hash that did not complete
    (interrupted or failed), oldest first."""
    parent = Path(results_dir) / "runs" / dataset / method
    found = []
    for config_path in sorted(parent.glob(f"*/{CONFIG_FILE}")):
        folder = RunFolder(config_path.parent)
        if folder.state() == "completed":
            continue
        try:
            if json.loads(config_path.read_text()).get("config_hash") == config_hash:
                found.append(folder)
        except (OSError, ValueError):
            continue
    return found


def validate_metrics(record: Any, source: Path) -> dict:
    """Check a ``metrics.json`` against the schema; raise :class:`ResultsError` naming the file."""
    if not isinstance(record, dict):
        raise ResultsError(f"{source}: not a JSON object.")
    missing = [k for k in METRICS_KEYS if k not in record]
    if missing:
        raise ResultsError(f"{source}: missing key(s) {', '.join(missing)}.")
    channels = record["channels"]
    if not isinstance(channels, dict) or not channels:
        raise ResultsError(f"{source}: 'channels' must map channel names to metrics.")
    for name, values in [*channels.items(), ("average", record["average"])]:
        if not isinstance(values, dict) or any(
                not isinstance(values.get(m), (int, float)) for m in METRICS):
            raise ResultsError(f"{source}: '{name}' must have numeric {', '.join(METRICS)}.")
    return record


def iter_completed_runs(results_dir: Path) -> Iterator[tuple[Path, dict | None, str | None]]:
    """Every completed run under ``results_dir``: ``(folder, metrics, None)``, or
    ``(folder, None, problem)`` when its ``metrics.json`` is malformed."""
    runs = Path(results_dir) / "runs"
    if not runs.is_dir():
        return
    for metrics_path in sorted(runs.glob(f"*/*/*/{METRICS_FILE}")):
        folder = metrics_path.parent
        if RunFolder(folder).state() != "completed":
            continue
        try:
            record = validate_metrics(json.loads(metrics_path.read_text()), metrics_path)
        except json.JSONDecodeError as exc:
            yield folder, None, f"{metrics_path}: invalid JSON ({exc})."
            continue
        except (ResultsError, OSError) as exc:
            yield folder, None, str(exc)
            continue
        yield folder, record, None
