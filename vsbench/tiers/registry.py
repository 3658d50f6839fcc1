"""Every tier vsbench knows, in one place: the built-in ones (the modules of this package) and
those plugins return from the ``vsbench_tiers`` hook (:mod:`vsbench.spec`), found through the
same entry points as methods and datasets (:mod:`vsbench.plugins`). ``compare --tier``,
``evaluate --tier`` and the scoring driver take their choices from here."""

from __future__ import annotations

from typing import Iterable

from vsbench.errors import PluginError
from vsbench.tiers.contract import TierSpec

# The built-in tiers, in the order boards and headlines show them.
BUILT_IN = ("pixel", "instance", "features", "profiles", "posterior")


def built_in() -> dict[str, TierSpec]:
    """The built-in tiers by name (their metrics' directions joined to
    :data:`vsbench.protocol.HIGHER_IS_BETTER`, which boards and renderers read)."""
    from vsbench.protocol import HIGHER_IS_BETTER
    from vsbench.tiers import features, instance, pixel, posterior, profiles

    tiers = (pixel.TIER, instance.TIER, features.TIER, profiles.TIER, posterior.TIER)
    for spec in tiers:
        for metric, higher in spec.higher_is_better.items():
            HIGHER_IS_BETTER.setdefault(metric, bool(higher))
    return {t.name: t for t in tiers}


def all_tiers() -> dict[str, TierSpec]:
    """Every tier: the built-in ones, then the installed plugins' (a plugin that fails to
    load is named by ``vsbench methods``, as for methods; its tiers are absent)."""
    from vsbench.plugins import default_registry

    from vsbench.protocol import HIGHER_IS_BETTER

    out = built_in()
    for name, registered in default_registry().tiers.items():
        if name in out:
            raise PluginError(f"The tier '{name}' of {registered.origin.distribution} "
                              f"({registered.origin.module}) has the name of a built-in tier; "
                              "rename it.")
        spec = registered.spec
        for metric, higher in spec.higher_is_better.items():
            # Boards, renderers and ranks read a column's direction from the protocol's
            # table: a plugin's metric joins it, and may not turn a known one around.
            if HIGHER_IS_BETTER.setdefault(metric, bool(higher)) != bool(higher):
                raise PluginError(f"The tier '{name}' ({registered.origin.distribution}) "
                                  f"declares '{metric}' {'higher' if higher else 'lower'} is "
                                  "better, against the built-in metric of that name; rename "
                                  "it.")
        out[name] = spec
    return out


def tier(name: str) -> TierSpec:
    """The tier called ``name``; an unknown name is a :class:`PluginError` naming the valid
    ones."""
    known = all_tiers()
    if name not in known:
        raise PluginError(f"Unknown tier '{name}'. Valid tiers: {', '.join(known)}, or all.")
    return known[name]


def scored_tiers() -> list[str]:
    """The tiers scored after the prediction loop (every tier but the pixel one)."""
    return [name for name, spec in all_tiers().items() if spec.score is not None]


def choose(choice: str, option: str = "--tier") -> tuple[str, ...]:
    """The scored tiers of ``--tier CHOICE`` (one name, or ``all``); an unknown one is a
    :class:`~vsbench.errors.ResultsError` naming the valid ones."""
    from vsbench.errors import ResultsError

    names = scored_tiers()
    if choice == "all":
        return tuple(names)
    if choice not in names:
        raise ResultsError(f"{option} {choice}: choose one of {', '.join(names)}, all.")
    return (choice,)


def in_order(names: Iterable[str]) -> list[str]:
    """``names`` with every tier after the tiers it requires (when they are among them), in
    the registry's order otherwise."""
    known = all_tiers()
    chosen = [n for n in known if n in set(names)]
    out: list[str] = []

    def visit(name: str, seen: tuple[str, ...] = ()) -> None:
        if name in out:
            return
        if name in seen:
            raise PluginError(f"tiers {' -> '.join((*seen, name))} require each other.")
        for needed in known[name].requires:
            if needed in chosen:
                visit(needed, (*seen, name))
        out.append(name)

    for name in chosen:
        visit(name)
    return out
