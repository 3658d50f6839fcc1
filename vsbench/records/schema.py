"""The three run records (torch-free): :class:`ConfigRecord` (``config.json``),
:class:`StateRecord` (``state.json``) and :class:`MetricsRecord` (``metrics.json``), their
fields and checks, and the configuration hashes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from vsbench.errors import ResultsError
from vsbench.protocol import METRICS
from vsbench.records.base import SCHEMA_VERSION, TIER_STATUSES, Record, is_json
from vsbench.records.upgrade import upgrade_tiers

STATES = ("running", "completed", "failed")

# What determines a run's numbers (not when or where it ran): the inputs of config_hash.
HASHED_FIELDS = ("method", "dataset", "preset", "seed", "run", "method_params",
                 "dataset_fingerprint", "split_hash", "plugin")

# What each pixel metric can be (per image, and so any mean of images): PCC and SSIM in
# [-1, 1], MSE and MAE at least 0; RANGE_SLACK allows float rounding at the bounds.
METRIC_RANGES: dict[str, tuple[float, float]] = {"mse": (0.0, math.inf), "mae": (0.0, math.inf),
                                                 "pcc": (-1.0, 1.0), "ssim": (-1.0, 1.0)}
RANGE_SLACK = 1e-6


def value_problem(metric: str, value: float) -> str | None:
    """Why ``value`` cannot be a ``metric`` of the protocol (NaN, infinite, out of its
    :data:`METRIC_RANGES`), or None when it can. An undefined PCC (NaN) is the caller's to
    allow."""
    low, high = METRIC_RANGES[metric]
    if math.isnan(value):
        return "is NaN, not a number"
    if math.isinf(value):
        return f"is {value}, not a finite number"
    if value < low - RANGE_SLACK or value > high + RANGE_SLACK:
        return (f"is {value:g}, outside [{low:g}, {high:g}]" if math.isfinite(high)
                else f"is {value:g}, below {low:g}")
    return None


def config_hash(values: Mapping[str, Any]) -> str:
    """The hash of a run's configuration: 16 hex digits of the SHA-256 of the
    :data:`HASHED_FIELDS` of ``values`` (a config record as a dict)."""
    text = json.dumps({k: values.get(k) for k in HASHED_FIELDS}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def configuration_hash(values: Mapping[str, Any]) -> str:
    """:func:`config_hash` without the seed: runs of one configuration that differ only in
    their seed share it (one leaderboard row)."""
    return config_hash({**values, "seed": None})


_OPT_DICT = (dict, type(None))
_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))


@dataclass(frozen=True)
class ConfigRecord(Record):
    """``config.json``: everything that produced a run."""

    method: str
    dataset: str
    preset: str
    seed: int
    run: dict[str, Any]
    method_params: dict[str, Any]
    dataset_fingerprint: str
    split_hash: str
    config_hash: str = ""
    device: str = "cpu"
    overrides: dict[str, Any] = field(default_factory=dict)
    deterministic: bool = False
    split_manifest: str | None = None
    channels: list[str] = field(default_factory=list)
    planes: list[str] = field(default_factory=list)
    plugin: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)
    started: str | None = None
    world_size: int = 1
    method_record: dict[str, Any] | None = None
    threads: int | None = None  # torch's CPU threads (a sweep with --jobs gives each its share)
    # A control method (MethodSpec.control: an all-zero guide, oracle masks ...): shown in its
    # own section, never ranked with real methods. Not hashed: it follows from the method.
    control: bool = False
    # Predictions made outside vsbench and scored by ``vsbench score``: no training record;
    # ``predictions_digest`` is the SHA-256 of the files (also in ``method_params``, so that
    # other files make another configuration), ``description`` the submitter's.
    submitted: bool = False
    description: str | None = None
    predictions_digest: str | None = None
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    file_name: ClassVar[str] = "config.json"
    _required: ClassVar[tuple[str, ...]] = ("method", "dataset", "preset", "seed", "run",
                                            "method_params", "dataset_fingerprint", "split_hash")
    _types: ClassVar[dict[str, Any]] = {
        "method": str, "dataset": str, "preset": str, "seed": int, "run": dict,
        "method_params": dict, "dataset_fingerprint": str, "split_hash": str,
        "config_hash": str, "device": str, "overrides": dict, "deterministic": bool,
        "split_manifest": _OPT_STR, "channels": list, "planes": list, "plugin": dict,
        "versions": dict, "started": _OPT_STR, "world_size": int, "method_record": _OPT_DICT,
        "threads": _OPT_INT, "control": bool, "submitted": bool, "description": _OPT_STR,
        "predictions_digest": _OPT_STR, "schema_version": int}

    def hashed(self) -> "ConfigRecord":
        """This record with its ``config_hash`` computed from its fields."""
        return self.replace(config_hash=config_hash(self.to_json()))

    def configuration(self) -> str:
        """:func:`configuration_hash` of this record (its config minus the seed)."""
        return configuration_hash(self.to_json())


@dataclass(frozen=True)
class StateRecord(Record):
    """``state.json``: where a run stands."""

    status: str
    time: str = ""
    pid: int | None = None
    host: str | None = None
    error: str | None = None
    traceback: str | None = None
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    file_name: ClassVar[str] = "state.json"
    _required: ClassVar[tuple[str, ...]] = ("status",)
    _types: ClassVar[dict[str, Any]] = {"status": str, "time": str, "pid": _OPT_INT,
                                        "host": _OPT_STR, "error": _OPT_STR,
                                        "traceback": _OPT_STR, "schema_version": int}

    @classmethod
    def now(cls, status: str, **fields: Any) -> "StateRecord":
        """A state stamped with the current time; unknown keyword arguments go to ``extra``."""
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in fields.items() if k in names}
        extra = {k: v for k, v in fields.items() if k not in names}
        record = cls(status=status, time=time.strftime("%Y-%m-%dT%H:%M:%S"), **known,
                     extra=extra)
        record._check("state")
        return record

    def _check(self, source: object) -> None:
        if self.status not in STATES:
            raise ResultsError(f"{source}: status '{self.status}' is not one of "
                               f"{', '.join(STATES)}.")


@dataclass(frozen=True)
class MetricsRecord(Record):
    """``metrics.json``: a completed run's scores under the metric protocol."""

    method: str
    dataset: str
    dataset_fingerprint: str
    split_hash: str
    preset: str
    seed: int
    n_test_images: int
    channels: dict[str, dict[str, float]]
    average: dict[str, float]
    train_seconds: float | None  # None: not trained by vsbench (a submitted run)
    predict_seconds_per_image: float | None
    image_size: int | None = None
    eval_image_size: int | None = None
    pcc_undefined_images: int = 0
    run_id: str | None = None
    config_hash: str | None = None
    method_record: dict[str, Any] | None = None
    # A guided method's unguided first estimates (same noise): ``channels``, ``average``,
    # ``n_test_images``, ``per_image_file`` (per_image_metrics_unguided.csv).
    unguided: dict[str, Any] | None = None
    # The biological tiers (vsbench.biometrics.tiers; its own "version" inside); None in
    # runs made before them.
    biometrics: dict[str, Any] | None = None
    # The profile tier (vsbench.profiles.tier: well-level mAP, real vs virtual) and the
    # posterior tier (vsbench.engine.posterior: ensemble CRPS, coverage); None in older runs.
    profiles: dict[str, Any] | None = None
    posterior: dict[str, Any] | None = None
    # Every tier scored after the prediction loop, by name: {"status": one of TIER_STATUSES,
    # "reason": why it was skipped or failed (None when scored), "summary": a plugin tier's
    # summary (the built-in tiers' stay typed in biometrics / profiles / posterior)}.
    tiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    file_name: ClassVar[str] = "metrics.json"
    _required: ClassVar[tuple[str, ...]] = (
        "method", "dataset", "dataset_fingerprint", "split_hash", "preset", "seed",
        "n_test_images", "channels", "average", "train_seconds", "predict_seconds_per_image")
    _types: ClassVar[dict[str, Any]] = {
        "method": str, "dataset": str, "dataset_fingerprint": str, "split_hash": str,
        "preset": str, "seed": int, "n_test_images": int, "channels": dict, "average": dict,
        "train_seconds": (float, type(None)), "predict_seconds_per_image": (float, type(None)),
        "image_size": _OPT_INT,
        "eval_image_size": _OPT_INT, "pcc_undefined_images": int, "run_id": _OPT_STR,
        "config_hash": _OPT_STR, "method_record": _OPT_DICT, "unguided": _OPT_DICT,
        "biometrics": _OPT_DICT, "profiles": _OPT_DICT, "posterior": _OPT_DICT,
        "tiers": dict, "schema_version": int}

    @classmethod
    def from_json(cls, data: Any, source: object = "record") -> "MetricsRecord":
        """As :meth:`Record.from_json`; a version 1-2 record is read into version 3."""
        if isinstance(data, dict) and is_json(data.get("schema_version", 1), int) \
                and data.get("schema_version", 1) < 3:
            data = upgrade_tiers(data)
        return super().from_json(data, source)

    def _check(self, source: object) -> None:
        for name, entry in self.tiers.items():
            if not isinstance(entry, dict) or entry.get("status") not in TIER_STATUSES:
                raise ResultsError(f"{source}: tiers.{name} must be an object with a status "
                                   f"({', '.join(TIER_STATUSES)}).")
        if not self.channels:
            raise ResultsError(f"{source}: 'channels' must map channel names to metrics.")
        for name, values in [*self.channels.items(), ("average", self.average)]:
            if not isinstance(values, dict) or any(
                    not is_json(values.get(m), float) for m in METRICS):
                raise ResultsError(f"{source}: '{name}' must have numeric "
                                   f"{', '.join(METRICS)}.")
        # Values no scoring produces: an edited or damaged record is never ranked.
        undefined_pcc = any(math.isnan(float(v["pcc"])) for v in self.channels.values())
        for name, values in [*self.channels.items(), ("Average", self.average)]:
            for metric in METRICS:
                value = float(values[metric])
                # PCC is undefined (NaN) on a constant ground truth; the Average of a record
                # written before the documented rule is NaN where a channel's is.
                if math.isnan(value) and metric == "pcc" and (name != "Average"
                                                              or undefined_pcc):
                    continue
                problem = value_problem(metric, value)
                if problem:
                    raise ResultsError(f"{source}: {name} {metric.upper()} {problem}; no "
                                       "scoring writes that (an edited or damaged record) - "
                                       "re-run the run, or delete its folder.")

    @property
    def scored_size(self) -> int | None:
        """The size the test fields were scored at (runs from before tiled evaluation were
        scored at their training size)."""
        return self.eval_image_size or self.image_size

    def value(self, channel: str, metric: str) -> float:
        """One number of the table (``channel`` may be ``Average``); NaN where undefined."""
        values = self.average if channel == "Average" else self.channels.get(channel, {})
        value = values.get(metric)
        return float(value) if value is not None else math.nan
