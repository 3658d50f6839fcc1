"""A tier's per-unit file that is damaged or partial is named, and its run kept off that
tier's board (never ranked on a fragment, never a traceback)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from vsbench.layout import (FEATURE_SCORES_FILE, PER_IMAGE_INSTANCE_FILE,
                            PER_IMAGE_POSTERIOR_FILE, PROFILES_MAP_FILE)
from vsbench.leaderboard.tiers import load_tier_runs

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference-synthetic"
REFERENCE = REFERENCE / "runs" / "synthetic"


@pytest.fixture()
def results(tmp_path):
    """Seed 0 of palette and of unet from the committed reference, in a results folder."""
    for method in ("palette", "unet"):
        folder = sorted((REFERENCE / method).iterdir())[0]
        shutil.copytree(folder, tmp_path / "runs" / "synthetic" / method / folder.name)
    return tmp_path


def _palette(results: Path) -> Path:
    return next((results / "runs" / "synthetic" / "palette").iterdir())


def _half(path: Path) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[: len(lines) // 2]) + "\n")


@pytest.mark.parametrize("tier,name,damage", [
    ("instance", PER_IMAGE_INSTANCE_FILE, lambda p: p.write_bytes(p.read_bytes()[:40])),
    ("instance", PER_IMAGE_INSTANCE_FILE, _half),
    ("features", FEATURE_SCORES_FILE, lambda p: p.write_bytes(p.read_bytes()[:40])),
    ("posterior", PER_IMAGE_POSTERIOR_FILE, lambda p: p.write_bytes(p.read_bytes()[:40])),
    ("posterior", PER_IMAGE_POSTERIOR_FILE, _half),
    ("profiles", PROFILES_MAP_FILE, lambda p: p.write_bytes(p.read_bytes()[:20])),
    ("profiles", PROFILES_MAP_FILE, _half),
])
def test_a_damaged_tier_file_is_named_and_its_run_not_ranked(results, tier, name, damage):
    intact, notes = load_tier_runs(results, tier)
    assert set(intact["method"]) >= {"palette"} and not any(name in n for n in notes)
    palette = _palette(results)
    damage(palette / name)
    runs, notes = load_tier_runs(results, tier)
    assert "palette" not in set(runs["method"])
    named = [n for n in notes if str(palette / name) in n]
    assert len(named) == 1 and f"vsbench evaluate --tier {tier}" in named[0], notes
    if tier != "posterior":  # unet has every other tier: it stays on the board
        assert "unet" in set(runs["method"])
