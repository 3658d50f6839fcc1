"""Which runs a leaderboard counts, and what its rows are called.

A leaderboard row is one *configuration*: a method with its resolved settings (the run's
settings and the method's hyperparameters, i.e. its config hash without the seed,
:func:`vsbench.records.configuration_hash`). Runs of the same method with other settings get
their own row, labelled by what differs (``unet [lr=1e+06]``). Within a configuration one seed
counts once: the latest completed run of that seed; the older ones are named in a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from vsbench import layout
from vsbench.store import StoredRun


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys (``{"nsc": {"k": 3}}`` -> ``{"nsc.k": 3}``)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def settings_of(run: StoredRun) -> dict[str, Any]:
    """The resolved settings of a run that can make two of its configurations differ: the run
    settings and the method's hyperparameters, flattened."""
    assert run.config is not None
    return {**flatten(run.config.run), **flatten(run.config.method_params)}


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(map(_text, value))
    return str(value)


@dataclass(frozen=True)
class Counted:
    """A run that reaches a leaderboard, with its configuration and row label."""

    run: StoredRun
    configuration: str
    label: str


def completion_order(run: StoredRun) -> tuple[str, int]:
    """When a run completed: its state's time (seconds), then its metrics file's modification
    time (run ids and times of runs started in the same second do not order them)."""
    try:
        written = run.folder.file(layout.METRICS_FILE).stat().st_mtime_ns
    except OSError:
        written = 0
    return (run.state.time if run.state is not None else "", written)


def _labels(method: str, configs: dict[str, StoredRun]) -> dict[str, str]:
    """Row labels for one method's configurations on one board: the bare method name when
    there is one configuration; else the settings that differ, shown where the user set them
    (``--set``), so the preset's own configuration keeps the bare name."""
    if len(configs) == 1:
        return {next(iter(configs)): method}
    settings = {c: settings_of(r) for c, r in configs.items()}
    keys = sorted({k for s in settings.values() for k in s})
    differing = [k for k in keys
                 if len({json.dumps(s.get(k), sort_keys=True, default=str)
                         for s in settings.values()}) > 1]
    shown = {c: [k for k in differing if k in flatten(r.config.overrides)]
             for c, r in configs.items()}
    if sum(not keys_ for keys_ in shown.values()) > 1:  # several without a --set: say all
        shown = {c: keys_ or differing for c, keys_ in shown.items()}
    labels = {c: (f"{method} [{', '.join(f'{k}={_text(settings[c].get(k))}' for k in keys_)}]"
                  if keys_ else method) for c, keys_ in shown.items()}
    count: dict[str, int] = {}
    for label in labels.values():
        count[label] = count.get(label, 0) + 1
    # Configurations that differ only in what is not shown (e.g. the plugin's version).
    return {c: (f"{label} [config {c[:8]}]" if count[label] > 1 else label)
            for c, label in labels.items()}


def count_runs(runs: Iterable[StoredRun], board_key) -> tuple[list[Counted], list[str]]:
    """The runs a leaderboard counts and a note for each run folder it does not.

    ``board_key(run)`` is the comparability key (runs with different keys are on different
    boards, so their rows are labelled separately). A run without a readable ``config.json``
    is not counted (what produced it is unknown); of several completed runs of one
    configuration and seed, the latest counts.
    """
    notes: list[str] = []
    by_board: dict[Any, dict[str, dict[str, list[StoredRun]]]] = {}
    for run in runs:
        if run.config is None:
            notes.append(f"skipped {run.folder.path}: {run.config_problem or 'no config.json'}"
                         " - what produced its scores is unknown, so it is not ranked; "
                         "restore config.json or delete the folder.")
            continue
        configuration = run.config.configuration()
        method_configs = by_board.setdefault(board_key(run), {}).setdefault(run.method, {})
        method_configs.setdefault(configuration, []).append(run)
    counted: list[Counted] = []
    for methods in by_board.values():
        for method, configs in methods.items():
            labels = _labels(method, {c: max(group, key=completion_order)
                                      for c, group in configs.items()})
            for configuration, group in configs.items():
                by_seed: dict[int, list[StoredRun]] = {}
                for run in sorted(group, key=completion_order):  # the latest last
                    by_seed.setdefault(run.metrics.seed, []).append(run)
                for seed, seed_runs in by_seed.items():
                    latest = seed_runs[-1]
                    counted.append(Counted(latest, configuration, labels[configuration]))
                    if len(seed_runs) > 1:
                        older = ", ".join(r.folder.run_id for r in seed_runs[:-1])
                        notes.append(
                            f"not counted: {older} ({labels[configuration]} seed {seed}) - "
                            f"the same configuration and seed as the later run "
                            f"{latest.folder.run_id}, which is counted once in its place.")
    return counted, notes
