"""Discovery of method, dataset and tier plugins through entry points, and the registry users
query.

Every plugin, the built-in ones included, is a module named by an entry point in the group
``vsbench``. Each is loaded on its own: one that fails to import or whose hook raises is recorded
as broken (name, package and error) and the others still work.
"""

from __future__ import annotations

import difflib
import importlib.metadata as md
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Generic, Iterable, TypeVar

import pluggy

from vsbench.spec import ENTRY_POINT_GROUP, PROJECT, DatasetSpec, HookSpecs, MethodSpec
from vsbench.tiers.contract import TierSpec


from vsbench.errors import PluginError


@dataclass(frozen=True)
class Origin:
    """Where a plugin comes from: the entry point and the distribution that declares it."""

    entry_point: str
    module: str
    distribution: str
    version: str

    @property
    def builtin(self) -> bool:
        """True for the plugins shipped with vsbench itself."""
        return self.distribution == PROJECT


S = TypeVar("S", MethodSpec, DatasetSpec, TierSpec)


@dataclass(frozen=True)
class Registered(Generic[S]):
    """A spec (a :class:`MethodSpec`, :class:`DatasetSpec` or :class:`TierSpec`, checked when
    it is registered) together with its origin."""

    spec: S
    origin: Origin


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded, and why."""

    origin: Origin
    error: str


@dataclass
class Registry:
    """All methods and dataset sources that were found, and the plugins that failed."""

    methods: dict[str, Registered[MethodSpec]] = field(default_factory=dict)
    datasets: dict[str, Registered[DatasetSpec]] = field(default_factory=dict)
    # plugins' tiers (vsbench.tiers.registry adds the built-in ones)
    tiers: dict[str, Registered[TierSpec]] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)

    def method(self, name: str) -> Registered[MethodSpec]:
        """The method called ``name``; an unknown name raises with the valid ones."""
        return _lookup(name, self.methods, "method", "vsbench methods", self.broken)

    def dataset(self, name: str) -> Registered[DatasetSpec]:
        """The dataset source called ``name``; an unknown name raises with the valid ones."""
        return _lookup(name, self.datasets, "dataset", "vsbench datasets", self.broken)


def _lookup(name: str, table: dict[str, Registered], kind: str, listing: str,
            broken: Iterable["BrokenPlugin"] = ()) -> Registered:
    if name in table:
        return table[name]
    for plugin in broken:  # installed, but it failed to load: say why, not "unknown"
        if plugin.origin.entry_point == name:
            raise PluginError(f"The {kind} '{name}' is installed but its plugin failed to load "
                              f"({plugin.origin.distribution}, {plugin.origin.module}): "
                              f"{plugin.error}. Fix or reinstall {plugin.origin.distribution}.")
    close = difflib.get_close_matches(name, table, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    valid = ", ".join(sorted(table)) or "none installed"
    failed = "".join(f" The plugin {p.origin.distribution} ({p.origin.module}) failed to load "
                     f"and may provide it: {p.error}." for p in broken)
    raise PluginError(f"Unknown {kind} '{name}'.{hint} Valid {kind}s: {valid} (see "
                      f"`{listing}`).{failed}")


def _origin(ep: md.EntryPoint) -> Origin:
    dist = getattr(ep, "dist", None)
    return Origin(
        entry_point=ep.name,
        module=ep.value,
        distribution=dist.metadata["Name"] if dist is not None else "unknown",
        version=dist.version if dist is not None else "unknown",
    )


def _add(table: dict[str, Registered], spec: Any, origin: Origin, kind: str) -> None:
    if spec.name in table:
        other = table[spec.name].origin
        raise PluginError(
            f"Two plugins register the {kind} '{spec.name}': {other.distribution} "
            f"({other.module}) and {origin.distribution} ({origin.module}). Uninstall one of them."
        )
    table[spec.name] = Registered(spec, origin)


def build_registry(entry_points: Iterable[md.EntryPoint] | None = None,
                   extra_plugins: Iterable[tuple[object, Origin]] = ()) -> Registry:
    """Load every plugin and collect what it registers.

    Args:
        entry_points: the entry points to load; by default those of the group ``vsbench``.
        extra_plugins: plugin objects registered directly (for tests and notebooks), each with
            the origin to report for it.
    """
    if entry_points is None:
        entry_points = md.entry_points(group=ENTRY_POINT_GROUP)
    registry = Registry()
    candidates: list[tuple[object | md.EntryPoint, Origin]] = [
        (ep, _origin(ep)) for ep in sorted(entry_points, key=lambda e: e.name)
    ]
    candidates.extend(extra_plugins)
    for candidate, origin in candidates:
        pm = pluggy.PluginManager(PROJECT)
        pm.add_hookspecs(HookSpecs)
        try:
            # By shape, not class: once some packages are imported (iohub's dependencies),
            # importlib.metadata hands out importlib_metadata's EntryPoint, another class.
            is_entry_point = isinstance(candidate, md.EntryPoint) or (
                type(candidate).__name__ == "EntryPoint" and callable(getattr(candidate, "load",
                                                                               None)))
            plugin = candidate.load() if is_entry_point else candidate
            pm.register(plugin, name=origin.entry_point)
            methods = [m for batch in pm.hook.vsbench_methods() for m in batch]
            datasets = [d for batch in pm.hook.vsbench_datasets() for d in batch]
            tiers = [t for batch in pm.hook.vsbench_tiers() for t in batch]
            for spec in methods:
                if not isinstance(spec, MethodSpec):
                    raise TypeError(f"vsbench_methods returned {type(spec).__name__}, "
                                    "not vsbench.MethodSpec")
            for spec in datasets:
                if not isinstance(spec, DatasetSpec):
                    raise TypeError(f"vsbench_datasets returned {type(spec).__name__}, "
                                    "not vsbench.DatasetSpec")
            for spec in tiers:
                if not isinstance(spec, TierSpec):
                    raise TypeError(f"vsbench_tiers returned {type(spec).__name__}, "
                                    "not vsbench.tiers.TierSpec")
        except Exception as exc:  # a broken plugin must not break the others
            registry.broken.append(BrokenPlugin(origin, f"{type(exc).__name__}: {exc}"))
            continue
        for spec in methods:
            _add(registry.methods, spec, origin, "method")
        for spec in datasets:
            _add(registry.datasets, spec, origin, "dataset")
        for spec in tiers:
            _add(registry.tiers, spec, origin, "tier")
    return registry


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry of the installed plugins, built once per process."""
    return build_registry()
