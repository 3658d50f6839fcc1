"""One driver for every tier after the prediction loop, used by a run, ``vsbench evaluate``
and ``vsbench score``: they differ only in how they build :class:`TierInputs`.

:func:`score_tiers` scores the tiers asked for in dependency order (a tier after those it
requires), tiers that share a scoring function in one pass (instance and features), each
under a progress bar, and returns their summaries by ``metrics.json`` key. A failing tier is a
warning and an ``error`` summary with its traceback, never the end of the work: the run's
predictions and the other tiers' scores are kept, and ``vsbench evaluate --tier NAME RUN``
scores it again. ``VSBENCH_TIERS`` names the tiers to score (comma-separated; default
``all``): ``VSBENCH_TIERS=pixel`` skips every tier after the prediction loop (for quick
experiments and for the test suite's runs that test other things), ``pixel,instance`` scores
the instance tier alone; a skipped tier's summary says how to score it later.
``VSBENCH_TIER_WORKERS`` (default 1) is the processes the biological tiers spread fields
over.
"""

from __future__ import annotations

import os
import traceback
from typing import Any, Mapping, Sequence

from vsbench.records import tier_status
from vsbench.tiers.contract import TierInputs, TierSpec
from vsbench.tiers.registry import all_tiers, in_order

TIERS_VARIABLE = "VSBENCH_TIERS"
WORKERS_VARIABLE = "VSBENCH_TIER_WORKERS"


def tier_skipped(name: str) -> bool:
    """Whether ``VSBENCH_TIERS`` leaves the tier ``name`` out (it lists the tiers to score,
    comma-separated, or says ``all``)."""
    chosen = {t.strip().lower() for t in os.environ.get(TIERS_VARIABLE, "all").split(",")}
    return "all" not in chosen and name.lower() not in chosen


def tier_workers() -> int:
    """The processes the tiers use (``VSBENCH_TIER_WORKERS``, default 1)."""
    try:
        return max(1, int(os.environ.get(WORKERS_VARIABLE, "1")))
    except ValueError:
        return 1


def _store(summaries: dict[str, Any], spec: TierSpec, summary: dict[str, Any]) -> None:
    if spec.record_key == "tiers":  # a plugin's tier: metrics.json's "tiers" -> its name
        summaries.setdefault("tiers", {})[spec.name] = summary
    else:
        summaries[spec.record_key] = summary


def _groups(names: Sequence[str], known: Mapping[str, TierSpec]) -> list[list[str]]:
    """Consecutive tiers with the same scoring function, to be scored in one pass."""
    groups: list[list[str]] = []
    for name in names:
        if groups and known[groups[-1][0]].score is known[name].score:
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups


def score_tiers(inputs: TierInputs, names: Sequence[str],
                done: Mapping[str, Any] | None = None, guard: bool = True
                ) -> dict[str, Any]:
    """Score the tiers ``names`` on ``inputs``; return their summaries by record key
    (``biometrics``, ``profiles``, ``posterior``) and ``tiers``: per tier scored, its entry of
    ``metrics.json``'s ``tiers`` (status, reason; a plugin's summary). ``done``: the
    summaries the run already has (a tier that requires another one not asked for reads it
    from there). ``guard``: a failure becomes an ``error`` summary (else it raises)."""
    from vsbench.progress import progress_bar

    known = all_tiers()
    order = [n for n in in_order(names) if known[n].score is not None]
    folder = inputs.folder
    out: dict[str, Any] = {}
    entries: dict[str, dict[str, Any]] = {}
    summaries = {**(done or {})}
    for group in _groups(order, known):
        spec = known[group[0]]
        label = " and ".join(group)
        again = f"`vsbench evaluate --tier {group[0] if len(group) == 1 else 'all'} {folder}`"
        skipped = [name for name in group if tier_skipped(name)]
        if skipped:
            setting = os.environ.get(TIERS_VARIABLE, "").strip()
            for name in skipped:
                _emit(out, entries, known[name], {"skipped": f"{TIERS_VARIABLE}={setting}; "
                                                             f"score it with {again}"})
            group = [name for name in group if name not in skipped]
            if not group:
                continue
            spec, label = known[group[0]], " and ".join(group)
        try:
            if spec.own_progress:  # it draws its own bar (images, with an ETA)
                summary = spec.score(inputs, summaries, group)
            else:
                with progress_bar(inputs.console, f"{label} tier{'s' if len(group) > 1 else ''}",
                                  None):
                    summary = spec.score(inputs, summaries, group)
        except Exception as exc:  # noqa: BLE001 - a tier must not cost the run or the others
            if not guard:
                raise
            if inputs.console is not None:
                inputs.console.print(
                    f"[yellow]warning:[/] the {label} tier failed ({type(exc).__name__}: "
                    f"{exc}); score it later with {again}.",
                    highlight=False, soft_wrap=True)
            summary = {"error": f"{type(exc).__name__}: {exc}",
                       "traceback": traceback.format_exc()}
        for name in group:
            _store(summaries, known[name], summary)
            _emit(out, entries, known[name], summary)
    if entries:
        out["tiers"] = entries
    return out


def _emit(out: dict[str, Any], entries: dict[str, Any], spec: TierSpec,
          summary: dict[str, Any]) -> None:
    """A tier's result into the driver's output: a built-in tier's summary under its record
    key, and every tier's entry (a plugin's with its summary)."""
    if spec.record_key != "tiers":
        out[spec.record_key] = summary
    entries[spec.name] = _entry(spec, summary)


def _entry(spec: TierSpec, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The tier's entry of ``metrics.json``'s ``tiers``: its status and reason, and a plugin
    tier's summary."""
    entry = tier_status(summary) or {"status": "skipped", "reason": "no summary"}
    if entry["status"] == "scored" and not spec.scored(summary):
        entry = {"status": "skipped", "reason": "its scoring recorded none of its numbers"}
    if spec.record_key == "tiers":
        entry["summary"] = dict(summary)
    return entry
