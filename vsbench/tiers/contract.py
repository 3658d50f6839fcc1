"""The tier contract: what one evaluation tier declares, and what it is scored from.

A tier (:class:`TierSpec`) says what it scores and how its board reads it: its columns and
their directions, the column it is ranked on, the unit its intervals and paired tests are over,
the files it writes into a run folder, where its summary lives in ``metrics.json``, which tiers
it needs first, and the function that scores it. The built-in tiers are the modules of this
package; a plugin adds one by returning a :class:`TierSpec` from the ``vsbench_tiers`` hook
(:mod:`vsbench.spec`). :mod:`vsbench.tiers.driver` scores any set of tiers, in dependency order,
from :class:`TierInputs`, the same for a run, ``vsbench evaluate`` and ``vsbench score``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

# A tier's scoring function: ``score(inputs, done, names)`` returns the summary of the tiers
# ``names`` (those that share this function, scored in one pass; most tiers: their own name),
# given ``done``, the summaries already scored (by record key). It writes its files into
# ``inputs.folder`` and returns plain JSON.
Score = Callable[["TierInputs", Mapping[str, Any], Sequence[str]], dict]


@dataclass
class TierInputs:
    """What tiers are scored from, however the predictions were made: a run's fresh fields, a
    finished run's ``test_predictions.npz`` (``vsbench evaluate``) or a submission's files
    (``vsbench score``).

    Attributes:
        folder: the run folder the tiers write into.
        prediction: the test predictions ``(N, C, H, W)`` on [0, 1], in ``sample_ids`` order.
        targets: the real stains in the same order (called only by a tier that needs them).
        records: the dataset's sample records (plates, wells, labels), called when needed.
        sample: how this context draws a stochastic method's extra samples for the posterior
            tier (given the feature tier's summary, it returns the posterior summary); None:
            the predictions are scored as a point mass.
    """

    folder: Path
    prediction: Any
    sample_ids: list[str]
    channels: list[str]
    dataset_fingerprint: str
    split_hash: str
    cache_dir: Path
    targets: Callable[[], Any]
    records: Callable[[], list]
    sample: Callable[[Mapping[str, Any] | None], dict] | None = None
    segmenter: str = "watershed"
    workers: int = 1
    console: Any = None


def _no_count(record: Any) -> int | None:
    return None


def number(value: Any, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals for a headline, ``-`` when it is not a number."""
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "-"


@dataclass(frozen=True)
class TierSpec:
    """One evaluation tier.

    Attributes:
        name: the tier's name (``--tier NAME``).
        description: one line for ``--help`` and the docs.
        metrics: its board's metric names; ``higher_is_better`` their directions.
        default_sort: the ``(column group, metric)`` its board is ranked on.
        unit: what its per-unit table, intervals and paired tests are over ("test images",
            "features", "perturbations").
        files: the files it writes into a run folder, its per-unit table first.
        record_key: where ``metrics.json`` holds its summary (``biometrics``, ``profiles``,
            ``posterior``; a plugin's: ``tiers`` -> its name).
        read_units: a run folder's per-unit table, columns ``(group, metric)``; None when the
            run has none; raises on a damaged file.
        scored: whether a run's summary has this tier's numbers (not skipped or failed).
        score: the scoring function (:data:`Score`); None: scored by the prediction loop
            itself (the pixel tier).
        requires: tiers whose summaries it reads (scored before it).
        expected_units: how many units a run's summary says it scored (a shorter per-unit
            table is a fragment, not ranked); None: not recorded.
        notes: what its board must say under the table (e.g. what it cannot tell apart).
        headline: the one line ``run``, ``evaluate`` and ``score`` print for a run's summary
            (None: a line saying it was scored and how to rank it).
        figures: the tier's figures in ``vsbench report``:
            ``figures(board, runs, data_root, palette)`` returns a list of
            :class:`vsbench.report.images.Image`, given the pixel
            :class:`~vsbench.leaderboard.Leaderboard` whose section it is (its runs in rank
            order: :mod:`vsbench.report.methods`), that board's rows of the tier's long table
            (:func:`vsbench.leaderboard.tiers.load_tier_runs`), the data root and the page's
            :class:`~vsbench.report.methods.Palette` (one colour per method); None: the
            tier's section has its board alone. Import matplotlib inside it, not at module
            level, so that the tier stays importable without it.
        own_progress: its ``score`` draws its own progress bar (e.g. per image, with an ETA);
            else the driver shows one for the tier.
        ensemble_size: a run's samples per test unit (1: a point mass), for a tier whose
            columns judge a spread (:data:`vsbench.protocol.SAMPLER_ONLY`: never bold for a
            point mass, dropped when every row is one); None: not such a tier.
        board_sort: given the board's mean table (rows, ``(group, metric)`` columns), the
            column to rank on instead of ``default_sort`` (None: the default).
        board_notes: given the board's long table of runs, notes its caption must add.
        terminal_tables: ``terminal_tables(console, board)`` prints the tier's own tables
            under its board in ``vsbench compare`` (e.g. the profile tier's mAP per
            perturbation); None: the board alone.
        key_numbers: the tier's headline numbers, by label: a path into its summary (below
            ``record_key``) and whether higher is better; the known-answer ladder
            (:mod:`vsbench.ladder`) checks that each orders its rungs.
    """

    name: str
    description: str
    metrics: tuple[str, ...]
    higher_is_better: Mapping[str, bool]
    default_sort: tuple[str, str]
    unit: str
    files: tuple[str, ...]
    record_key: str
    read_units: Callable[[Path], Any]
    scored: Callable[[Mapping[str, Any]], bool]
    score: Score | None = None
    requires: tuple[str, ...] = ()
    expected_units: Callable[[Any], int | None] = _no_count
    notes: tuple[str, ...] = ()
    headline: Callable[[Mapping[str, Any]], str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    figures: Callable[[Any, Any, Path, Any], list] | None = None
    own_progress: bool = False
    ensemble_size: Callable[[Any], float] | None = None
    board_sort: Callable[[Any], tuple[str, str] | None] | None = None
    board_notes: Callable[[Any], list[str]] | None = None
    terminal_tables: Callable[[Any, Any], None] | None = None
    key_numbers: Mapping[str, tuple[tuple[str, ...], bool]] = field(default_factory=dict)

    def summary(self, record: Any) -> dict[str, Any] | None:
        """The tier's summary in a :class:`~vsbench.records.MetricsRecord` (None: absent)."""
        if self.record_key == "tiers":
            return (record.tiers.get(self.name) or {}).get("summary")
        return getattr(record, self.record_key, None)

    def status(self, record: Any) -> dict[str, Any] | None:
        """The tier's entry of the record's ``tiers``: ``status`` (scored, skipped, failed)
        and ``reason``; None where the run never scored it."""
        entry = record.tiers.get(self.name)
        return None if entry is None else {"status": entry["status"],
                                           "reason": entry.get("reason")}

    def has(self, record: Any) -> bool:
        """Whether the run's record has scores of this tier (not skipped, not failed)."""
        status = self.status(record)
        summary = self.summary(record) or {}
        if status is None or status["status"] != "scored" or not summary:
            return False
        return bool(self.scored(summary))

    def version(self, record: Any) -> float:
        """The version of the tier's summary in a run's record (NaN: not recorded)."""
        version = (self.summary(record) or {}).get("version")
        return float(version) if isinstance(version, int) else math.nan
