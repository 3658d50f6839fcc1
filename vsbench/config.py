"""Run configuration: the engine's settings, presets, and ``--set key=value`` overrides.

A resolved configuration is two typed dataclasses (the run's and the method's), filled in this
order: dataclass defaults, the run preset, the method's preset, then the user's ``--set`` values.
It serialises to plain JSON for the run record. This module does not import torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, TypeVar

from vsbench.errors import ConfigError

__all__ = ["ConfigError", "PRESETS", "ResolvedConfig", "RunConfig", "build_dataclass", "coerce",
           "flat_fields", "flatten", "parse_overrides", "resolve", "unknown_key", "valid_keys"]

PRESETS = ("smoke", "paper")

T = TypeVar("T")


@dataclass
class RunConfig:
    """Settings the engine owns; the same for every method so that budgets are comparable."""

    image_size: int = 64
    epochs: int = 30
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    eval_batch_size: int = 8
    augment: bool = True
    precision: str = "auto"
    num_workers: int = 0
    n_preview: int = 4
    max_train_images: int = 0
    checkpoint_every: int = 0  # optimiser steps between checkpoints (0: by time only)
    checkpoint_minutes: float = 10.0  # and at least this often (0: only at the end)
    tensorboard: bool = True  # write TensorBoard events when the package is installed
    eval_image_size: int = 0  # test fields' size (0: image_size); larger ones are predicted tiled
    tile_overlap: int = 16  # pixels shared by neighbouring tiles in tiled prediction
    channels_last: bool = False  # NHWC memory format for the model and its image inputs
    cudnn_benchmark: bool = True  # let cuDNN pick the fastest convolutions (CUDA only)
    compile: bool = False  # torch.compile the model (needs a C++ compiler on the CPU)
    # Samples per test image of the posterior tier, for methods that declare themselves
    # stochastic (MethodSpec.stochastic). Left out of the hashed run settings at its default
    # (:data:`DEFAULT_N_SAMPLES`), so the configurations of earlier runs keep their hash.
    n_samples: int = 4

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values outside their range."""
        positive = ("image_size", "epochs", "batch_size", "eval_batch_size", "n_samples")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"--set {name}={getattr(self, name)}: must be at least 1.")
        if self.image_size % 32:
            raise ConfigError(f"--set image_size={self.image_size}: must be a multiple of 32 "
                              "(the networks downsample five times).")
        if self.lr <= 0:
            raise ConfigError(f"--set lr={self.lr}: must be positive.")
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError(f"--set precision={self.precision}: use auto, fp32, bf16 or fp16.")
        for name in ("num_workers", "n_preview", "max_train_images", "weight_decay", "grad_clip",
                     "checkpoint_every", "checkpoint_minutes"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--set {name}={getattr(self, name)}: must not be negative.")
        if self.eval_image_size and self.eval_image_size < self.image_size:
            raise ConfigError(f"--set eval_image_size={self.eval_image_size}: must be 0 (the "
                              f"training size) or at least image_size ({self.image_size}).")
        if not 0 <= self.tile_overlap < self.image_size // 2 + 1:
            raise ConfigError(f"--set tile_overlap={self.tile_overlap}: must be between 0 and "
                              f"half the tile (image_size // 2 = {self.image_size // 2}).")


DEFAULT_N_SAMPLES = 4  # RunConfig.n_samples's default (not hashed when at it)

# What each preset changes in the run settings (methods may refine these in their own presets).
RUN_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"image_size": 64, "batch_size": 8, "eval_batch_size": 8},
    "paper": {"image_size": 512, "batch_size": 1, "lr": 5e-4, "eval_batch_size": 1},
}


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _is_group(annotation: Any) -> bool:
    """True for a field whose type is itself a dataclass: its fields are set as dotted keys."""
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def flat_fields(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every settable key of dataclass ``cls`` and its type; the fields of a nested dataclass
    field ``nsc`` are the dotted keys ``nsc.<name>`` (at any depth)."""
    out: dict[str, Any] = {}
    for name, annotation in _field_types(cls).items():
        if _is_group(annotation):
            out.update(flat_fields(annotation, f"{prefix}{name}."))
        else:
            out[prefix + name] = annotation
    return out


def flatten(cls: type, values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``values`` with dotted keys: a mapping given for a nested dataclass field
    (``{"nsc": {"fov": 64}}``) becomes its dotted keys (``{"nsc.fov": 64}``); other keys are
    kept as they are (unknown ones are reported by :func:`build_dataclass`)."""
    types_ = _field_types(cls)
    out: dict[str, Any] = {}
    for key, value in values.items():
        head, _, rest = key.partition(".")
        annotation = types_.get(head)
        if _is_group(annotation) and not rest and dataclasses.is_dataclass(value):
            value = dataclasses.asdict(value)  # a whole nested object: its fields
        if _is_group(annotation) and (rest or isinstance(value, Mapping)):
            inner = {rest: value} if rest else value
            out.update(flatten(annotation, inner, f"{prefix}{head}."))
        else:
            out[prefix + key] = value
    return out


def unknown_key(key: str, valid: list[str], message: str) -> ConfigError:
    """The error for an unknown key: ``message`` and the closest valid key, if any."""
    close = difflib.get_close_matches(key, valid, n=1)
    return ConfigError(message + (f" Did you mean '{close[0]}'?" if close else ""))


def _group_error(key: str, value: Any, keys: list[str]) -> ConfigError:
    inner = [k for k in keys if k.startswith(key + ".")]
    return ConfigError(f"--set {key}={value}: '{key}' is a group of settings; set one of its "
                       f"keys instead, e.g. --set {inner[0]}=... (its keys: "
                       f"{', '.join(inner)}).")


def build_dataclass(cls: type[T], values: Mapping[str, Any],
                    unknown: Callable[[str], ConfigError] | None = None,
                    validate: bool = True) -> T:
    """Build dataclass ``cls`` from ``values`` (command-line strings or JSON values), the one
    settings parser of vsbench (run settings, method hyperparameters, source settings).

    Keys may be dotted (``nsc.fov``) or nested mappings for fields whose type is a dataclass;
    each value is coerced to its field's type. Fields not given keep their defaults (a nested
    field starts from its own default). ``unknown(key)`` makes the error for a key ``cls`` does
    not have (by default one naming ``cls`` and its keys). With ``validate``, the object's
    ``validate()`` (if any) is called: it is responsible for its nested parts too.
    """
    types_ = flat_fields(cls)
    flat = flatten(cls, values)
    for key, value in flat.items():
        if key not in types_:
            keys = sorted(types_)
            if any(k.startswith(key + ".") for k in keys):
                raise _group_error(key, value, keys)
            if unknown is None:
                raise unknown_key(key, keys, f"Unknown key '{key}' for {cls.__name__}. Valid "
                                             f"keys: {', '.join(keys)}.")
            raise unknown(key)
    obj = _instantiate(cls, {k: coerce(k, v, types_[k]) for k, v in flat.items()})
    check = getattr(obj, "validate", None)
    if validate and callable(check):
        check()
    return obj


def _instantiate(cls: type[T], values: dict[str, Any], base: Any = None) -> T:
    """``cls`` (or a copy of ``base``) with the coerced dotted ``values`` filled in."""
    kwargs: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        head, dot, rest = key.partition(".")
        if dot:
            groups.setdefault(head, {})[rest] = value
        else:
            kwargs[key] = value
    types_ = _field_types(cls)
    for name, inner in groups.items():
        current = getattr(base, name) if base is not None else _default(cls, name)
        kwargs[name] = _instantiate(types_[name], inner, current)
    return dataclasses.replace(base, **kwargs) if base is not None else cls(**kwargs)


def _default(cls: type, name: str) -> Any:
    """The default value of field ``name`` of ``cls`` (None when it has none)."""
    spec = next(f for f in fields(cls) if f.name == name)
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return None if spec.default is dataclasses.MISSING else spec.default


def coerce(key: str, value: Any, annotation: Any) -> Any:
    """Convert ``value`` (often a string from the command line) to the field's type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        errors = []
        for arg in args:
            try:
                return coerce(key, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is typing.Literal:
        allowed = typing.get_args(annotation)
        if value not in allowed:
            raise ConfigError(f"--set {key}={value}: must be one of "
                              f"{', '.join(map(str, allowed))}.")
        return value
    if origin in (tuple, list):
        inner = typing.get_args(annotation)[0] if typing.get_args(annotation) else str
        items = value.split(",") if isinstance(value, str) else list(value)
        items = [coerce(key, item.strip() if isinstance(item, str) else item, inner)
                 for item in items if not (isinstance(item, str) and not item.strip())]
        return tuple(items) if origin is tuple else items
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"--set {key}={value}: expected true or false.")
    if annotation in (int, float, str):
        if annotation is int and isinstance(value, float) and not value.is_integer():
            raise ConfigError(f"--set {key}={value}: expected an integer.")
        if annotation in (int, float) and isinstance(value, bool):
            raise ConfigError(f"--set {key}={value}: expected a number.")
        try:
            converted = annotation(value)
        except (TypeError, ValueError):
            kind = {int: "an integer", float: "a number", str: "text"}[annotation]
            raise ConfigError(f"--set {key}={value}: expected {kind}.") from None
        if annotation is float and not math.isfinite(converted):
            # NaN compares false with every bound, so range checks downstream would pass it.
            raise ConfigError(f"--set {key}={value}: expected a finite number (not NaN or "
                              "infinity).")
        return converted
    return value


MAX_SEED = 2**32 - 1  # what numpy's and torch's generators accept from every entry point


def check_seed(seed: int, option: str = "--seed") -> int:
    """``seed`` when it is in 0..2**32-1, else a :class:`ConfigError` naming ``option``."""
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{option} {seed}: a seed is an integer from 0 to {MAX_SEED}.")
    return seed


def parse_overrides(items: list[str]) -> dict[str, str]:
    """Parse ``key=value`` strings from ``--set``."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set epochs=2.")
        out[key.strip()] = value.strip()
    return out


@dataclass
class ResolvedConfig:
    """The run settings and the method's hyperparameters, both typed."""

    run: RunConfig
    method: Any

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, as recorded in ``config.json``."""
        return {"run": dataclasses.asdict(self.run), "method": dataclasses.asdict(self.method)}


def valid_keys(params_cls: type) -> list[str]:
    """Every key ``--set`` accepts for a method: the run's and the method's (the fields of a
    nested dataclass as dotted keys, e.g. ``nsc.fov``)."""
    return sorted(set(flat_fields(RunConfig)) | set(flat_fields(params_cls)))


def _unknown_hyperparameter(params_cls: type) -> Callable[[str], ConfigError]:
    def error(key: str) -> ConfigError:
        keys = valid_keys(params_cls)
        return unknown_key(key, keys, f"Unknown hyperparameter '{key}'. Valid keys: "
                                      f"{', '.join(keys)}.")
    return error


def resolve(params_cls: type, method_presets: dict[str, dict[str, Any]], preset: str,
            overrides: Mapping[str, Any]) -> ResolvedConfig:
    """Fill the run settings and method hyperparameters for ``preset`` and ``overrides``.

    Presets and overrides may name a nested field's keys dotted (``{"nsc.fov": 64}``) or as a
    mapping (``{"nsc": {"fov": 64}}``); later sources override single keys of earlier ones.
    """
    if preset not in PRESETS and preset not in method_presets:
        raise ConfigError(f"Unknown preset '{preset}'. Valid presets: {', '.join(PRESETS)}.")
    run_names = set(_field_types(RunConfig))
    clash = run_names & set(_field_types(params_cls))
    if clash:
        raise ConfigError(f"{params_cls.__name__} redefines run settings {sorted(clash)}; "
                          "rename them in the plugin.")
    values: dict[str, Any] = {}
    for source in (RUN_PRESETS.get(preset, {}), method_presets.get(preset, {}), overrides):
        values.update(flatten(params_cls, source))
    error = _unknown_hyperparameter(params_cls)
    run_values = {k: v for k, v in values.items() if k in run_names}
    method_values = {k: v for k, v in values.items() if k not in run_names}
    # Method keys first: an unknown key is reported as such, whichever dataclass it missed.
    method = build_dataclass(params_cls, method_values, error, validate=False)
    run = build_dataclass(RunConfig, run_values, error)
    check = getattr(method, "validate", None)
    if callable(check):
        check()
    return ResolvedConfig(run=run, method=method)
