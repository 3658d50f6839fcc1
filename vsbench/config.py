"""Run configuration: the engine's settings, presets, and ``--set key=value`` overrides.

A resolved configuration is two typed dataclasses (the run's and the method's), filled in this
order: dataclass defaults, the run preset, the method's preset, then the user's ``--set`` values.
It serialises to plain JSON for the run record. The settings parser itself
(:func:`build_dataclass`, :func:`coerce`) is :mod:`vsbench.settings_parser`, re-exported here.
This module does not import torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from vsbench.errors import ConfigError
from vsbench.settings_parser import (build_dataclass, coerce, field_types, flat_fields,
                                     flatten, unknown_key)

__all__ = ["ConfigError", "PRESETS", "ResolvedConfig", "RunConfig", "build_dataclass", "coerce",
           "flat_fields", "flatten", "parse_overrides", "resolve", "unknown_key", "valid_keys"]

PRESETS = ("smoke", "paper")


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
    run_names = set(field_types(RunConfig))
    clash = run_names & set(field_types(params_cls))
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
