"""Per-dataset source settings, stored in ``<data_root>/<dataset>/source.json``.

A source's options (where its files are, which plates, its preprocessing) are a dataclass. They
are written once by ``vsbench data prepare --set key=value`` or ``vsbench data fetch`` and read by
the source's factory, so ``vsbench run --dataset NAME`` needs no extra options: the data root
holds everything a run needs.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, TypeVar

from vsbench import atomic
from vsbench.config import ConfigError, build_dataclass, unknown_key
from vsbench.layout import dataset_folder

T = TypeVar("T")


def parse(cls: type[T], values: dict[str, Any], where: str = "--set") -> T:
    """Build settings ``cls`` from ``values`` (strings from the command line or JSON values).

    An unknown key or a value of the wrong type is a :class:`ConfigError` naming the valid keys
    (the parser is :func:`vsbench.config.build_dataclass`, as for hyperparameters).
    """
    names = [f.name for f in dataclasses.fields(cls)]

    def unknown(key: str) -> ConfigError:
        return unknown_key(key, names, f"Unknown setting '{key}' in {where}. Valid settings: "
                                       f"{', '.join(names)}.")

    return build_dataclass(cls, values, unknown)


def load(cls: type[T], data_root: Path, dataset: str) -> T:
    """The settings stored for ``dataset``, or the defaults when none are stored."""
    path = dataset_folder(data_root, dataset).settings_file
    if not path.is_file():
        return parse(cls, {})
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Settings file {path} cannot be read ({exc}); fix it or delete it "
                          "and run `vsbench data prepare` again.") from None
    return parse(cls, values, where=str(path))


def merge(cls: type[T], data_root: Path, dataset: str, overrides: dict[str, Any]) -> T:
    """The stored settings with ``overrides`` merged in and validated; nothing is written."""
    current = dataclasses.asdict(load(cls, data_root, dataset))
    overrides = dict(overrides)
    if overrides.get("root"):
        # Stored absolute: a later run may start from another working directory.
        overrides["root"] = str(Path(str(overrides["root"])).expanduser().resolve())
    current.update(overrides)
    return parse(cls, current)


def update(cls: type[T], data_root: Path, dataset: str, overrides: dict[str, Any]) -> T:
    """Merge ``overrides`` into the stored settings, validate them and write them back."""
    settings = merge(cls, data_root, dataset, overrides)
    save(settings, data_root, dataset)
    return settings


@dataclasses.dataclass
class Candidate:
    """A source built from candidate settings that are not stored yet.

    ``vsbench data prepare --set ...`` builds one with :func:`candidate`, checks it (its
    records, the split manifest, the cache) and only then calls :meth:`save`: a refused
    prepare leaves ``source.json``, and so the dataset the data root runs, as it was.
    """

    dataset: str
    data_root: Path
    settings: Any
    source: Any

    def save(self) -> Path:
        """Store the settings (the last step, once everything they lead to was checked)."""
        return save(self.settings, self.data_root, self.dataset)


def candidate(stored: Any, data_root: Path, dataset: str,
              overrides: dict[str, Any]) -> Candidate:
    """``stored`` (the source as its factory built it from the stored settings) rebuilt with
    ``overrides`` merged into those settings, validated, and nothing written.

    The source's class must offer ``from_settings(settings, data_root)`` (every
    :class:`~vsbench.data.sources.files.FileSource` does); a source without settings is a
    :class:`ConfigError`.
    """
    current = getattr(stored, "settings", None)
    if current is None or not dataclasses.is_dataclass(current):
        raise ConfigError(f"Dataset '{dataset}' has no settings to --set.")
    settings = merge(type(current), data_root, dataset, overrides)
    build = getattr(type(stored), "from_settings", None)
    if not callable(build):
        raise ConfigError(f"Dataset '{dataset}' cannot be built from --set values (its source "
                          "has no from_settings); edit its settings file instead: "
                          f"{dataset_folder(data_root, dataset).settings_file}.")
    return Candidate(dataset, Path(data_root), settings, build(settings, data_root))


def save(settings: Any, data_root: Path, dataset: str) -> Path:
    """Write ``settings`` (atomically: a concurrent reader never sees half a file)."""
    path = dataset_folder(data_root, dataset).settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {k: list(v) if isinstance(v, tuple) else v
              for k, v in dataclasses.asdict(settings).items()}
    atomic.write_text(path, json.dumps(values, indent=2, sort_keys=True) + "\n")
    return path


def resolve_root(root: str, data_root: Path, dataset: str) -> Path:
    """A source's data folder: ``root`` if set, else ``<data_root>/<dataset>``."""
    return Path(root).expanduser() if root else dataset_folder(data_root, dataset).path
