"""Run configuration: the engine's settings, presets, and ``--set key=value`` overrides.

A resolved configuration is two typed dataclasses (the run's and the method's), filled in this
order: dataclass defaults, the run preset, the method's preset, then the user's ``--set`` values.
It serialises to plain JSON for the run record. This module does not import torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, fields
from typing import Any

PRESETS = ("smoke", "paper")


from vsbench.errors import ConfigError

__all__ = ["ConfigError", "PRESETS", "ResolvedConfig", "RunConfig", "coerce", "parse_overrides",
           "resolve", "valid_keys"]


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

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values outside their range."""
        positive = ("image_size", "epochs", "batch_size", "eval_batch_size")
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


# What each preset changes in the run settings (methods may refine these in their own presets).
RUN_PRESETS: dict[str, dict[str, Any]] = {
    "smoke": {"image_size": 64, "batch_size": 8, "eval_batch_size": 8},
    "paper": {"image_size": 512, "batch_size": 1, "lr": 5e-4, "eval_batch_size": 1},
}


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


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
            return annotation(value)
        except (TypeError, ValueError):
            kind = {int: "an integer", float: "a number", str: "text"}[annotation]
            raise ConfigError(f"--set {key}={value}: expected {kind}.") from None
    return value


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
    """Every key ``--set`` accepts for a method: the run's and the method's."""
    return sorted(set(_field_types(RunConfig)) | set(_field_types(params_cls)))


def resolve(params_cls: type, method_presets: dict[str, dict[str, Any]], preset: str,
            overrides: dict[str, Any]) -> ResolvedConfig:
    """Fill the run settings and method hyperparameters for ``preset`` and ``overrides``."""
    if preset not in PRESETS and preset not in method_presets:
        raise ConfigError(f"Unknown preset '{preset}'. Valid presets: {', '.join(PRESETS)}.")
    run_types = _field_types(RunConfig)
    method_types = _field_types(params_cls)
    clash = set(run_types) & set(method_types)
    if clash:
        raise ConfigError(f"{params_cls.__name__} redefines run settings {sorted(clash)}; "
                          "rename them in the plugin.")
    values: dict[str, Any] = {}
    for source in (RUN_PRESETS.get(preset, {}), method_presets.get(preset, {}), overrides):
        values.update(source)
    run_kwargs, method_kwargs = {}, {}
    for key, value in values.items():
        if key in run_types:
            run_kwargs[key] = coerce(key, value, run_types[key])
        elif key in method_types:
            method_kwargs[key] = coerce(key, value, method_types[key])
        else:
            close = difflib.get_close_matches(key, valid_keys(params_cls), n=1)
            raise ConfigError(f"Unknown hyperparameter '{key}'. Valid keys: "
                              f"{', '.join(valid_keys(params_cls))}."
                              + (f" Did you mean '{close[0]}'?" if close else ""))
    run = RunConfig(**run_kwargs)
    run.validate()
    method = params_cls(**method_kwargs)
    check = getattr(method, "validate", None)
    if callable(check):
        check()
    return ResolvedConfig(run=run, method=method)
