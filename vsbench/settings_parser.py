"""Typed settings from command-line strings or JSON (torch-free): the one parser of vsbench's
settings dataclasses (run settings, method hyperparameters, source settings).

:func:`build_dataclass` fills a dataclass from ``key=value`` pairs, where a field whose type is
itself a dataclass is set through dotted keys (``nsc.fov``) or a nested mapping, and
:func:`coerce` converts each value to its field's type (unions, literals, lists and tuples,
booleans, numbers), with one-line errors that name the ``--set`` key.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import fields
from typing import Any, Callable, Mapping, TypeVar

from vsbench.errors import ConfigError

T = TypeVar("T")


def field_types(cls: type) -> dict[str, Any]:
    """The fields of dataclass ``cls`` and their types (annotations resolved)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def _is_group(annotation: Any) -> bool:
    """True for a field whose type is itself a dataclass: its fields are set as dotted keys."""
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def flat_fields(cls: type, prefix: str = "") -> dict[str, Any]:
    """Every settable key of dataclass ``cls`` and its type; the fields of a nested dataclass
    field ``nsc`` are the dotted keys ``nsc.<name>`` (at any depth)."""
    out: dict[str, Any] = {}
    for name, annotation in field_types(cls).items():
        if _is_group(annotation):
            out.update(flat_fields(annotation, f"{prefix}{name}."))
        else:
            out[prefix + name] = annotation
    return out


def flatten(cls: type, values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``values`` with dotted keys: a mapping given for a nested dataclass field
    (``{"nsc": {"fov": 64}}``) becomes its dotted keys (``{"nsc.fov": 64}``); other keys are
    kept as they are (unknown ones are reported by :func:`build_dataclass`)."""
    types_ = field_types(cls)
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
    types_ = field_types(cls)
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
