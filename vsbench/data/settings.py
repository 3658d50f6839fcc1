"""Per-dataset source settings, stored in ``<data_root>/<dataset>/source.json``.

A source's options (where its files are, which plates, its preprocessing) are a dataclass. They
are written once by ``vsbench data prepare --set key=value`` or ``vsbench data fetch`` and read by
the source's factory, so ``vsbench run --dataset NAME`` needs no extra options: the data root
holds everything a run needs.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import typing
from pathlib import Path
from typing import Any, TypeVar

from vsbench.config import ConfigError, coerce

SETTINGS_FILE = "source.json"

T = TypeVar("T")


def settings_path(data_root: Path, dataset: str) -> Path:
    """Where the settings of ``dataset`` live under ``data_root``."""
    return Path(data_root) / dataset / SETTINGS_FILE


def _check(settings: Any) -> Any:
    check = getattr(settings, "validate", None)
    if callable(check):
        check()
    return settings


def parse(cls: type[T], values: dict[str, Any], where: str = "--set") -> T:
    """Build settings ``cls`` from ``values`` (strings from the command line or JSON values).

    An unknown key or a value of the wrong type is a :class:`ConfigError` naming the valid keys.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in values.items():
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            raise ConfigError(f"Unknown setting '{key}' in {where}. Valid settings: "
                              f"{', '.join(names)}." + (f" Did you mean '{close[0]}'?"
                                                        if close else ""))
        kwargs[key] = coerce(key, value, hints[key])
    return _check(cls(**kwargs))


def load(cls: type[T], data_root: Path, dataset: str) -> T:
    """The settings stored for ``dataset``, or the defaults when none are stored."""
    path = settings_path(data_root, dataset)
    if not path.is_file():
        return _check(cls())
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Settings file {path} cannot be read ({exc}); fix it or delete it "
                          "and run `vsbench data prepare` again.") from None
    return parse(cls, values, where=str(path))


def update(cls: type[T], data_root: Path, dataset: str, overrides: dict[str, Any]) -> T:
    """Merge ``overrides`` into the stored settings, validate them and write them back."""
    current = dataclasses.asdict(load(cls, data_root, dataset))
    overrides = dict(overrides)
    if overrides.get("root"):
        # Stored absolute: a later run may start from another working directory.
        overrides["root"] = str(Path(str(overrides["root"])).expanduser().resolve())
    current.update(overrides)
    settings = parse(cls, current)
    save(settings, data_root, dataset)
    return settings


def save(settings: Any, data_root: Path, dataset: str) -> Path:
    """Write ``settings`` (atomically: a concurrent reader never sees half a file)."""
    path = settings_path(data_root, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {k: list(v) if isinstance(v, tuple) else v
              for k, v in dataclasses.asdict(settings).items()}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def resolve_root(root: str, data_root: Path, dataset: str) -> Path:
    """A source's data folder: ``root`` if set, else ``<data_root>/<dataset>``."""
    return Path(root).expanduser() if root else Path(data_root) / dataset
