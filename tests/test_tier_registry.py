"""The tier registry and driver (vsbench.tiers): built-in order and choices, dependency order,
guarding and the skip rule, and a plugin's tier from its hook to its own board."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vsbench.plugins as plugins
from tests.leaderboard.test_board import make_run
from vsbench import TierInputs, TierSpec, hookimpl
from vsbench.errors import PluginError, ResultsError
from vsbench.leaderboard.tiers import build_tier_boards, load_tier_runs, tier_choices
from vsbench.plugins import Origin, build_registry
from vsbench.tiers.driver import score_tiers
from vsbench.tiers.registry import BUILT_IN, all_tiers, built_in, choose, in_order, scored_tiers

BRIGHTNESS_FILE = "per_image_brightness.csv"


def _read(folder: Path):
    frame = pd.read_csv(Path(folder) / BRIGHTNESS_FILE, dtype={"sample_id": str})
    out = frame.set_index("sample_id")[["bright_error"]]
    out.columns = pd.MultiIndex.from_tuples([("Average", "bright_error")])
    return out


def _score_brightness(inputs, done, names):
    """|mean predicted - mean real| per image: a tiny tier with a file and a summary."""
    real = inputs.targets()
    errors = np.abs(inputs.prediction.mean(axis=(1, 2, 3)) - real.mean(axis=(1, 2, 3)))
    pd.DataFrame({"sample_id": inputs.sample_ids, "bright_error": errors}).to_csv(
        inputs.folder / BRIGHTNESS_FILE, index=False)
    return {"version": 1, "mean_error": float(errors.mean()),
            "saw_features": "biometrics" in done}


def _fail(inputs, done, names):
    raise RuntimeError("the tier's own bug")


BRIGHTNESS = TierSpec(
    name="brightness", description="mean intensity error", metrics=("bright_error",),
    higher_is_better={"bright_error": False}, default_sort=("Average", "bright_error"),
    unit="test images", files=(BRIGHTNESS_FILE,), record_key="tiers", read_units=_read,
    scored=lambda summary: "mean_error" in summary, score=_score_brightness,
    expected_units=lambda record: int(record.n_test_images))
BROKEN = TierSpec(
    name="broken", description="fails", metrics=("bright_error",),
    higher_is_better={"bright_error": False}, default_sort=("Average", "bright_error"),
    unit="test images", files=("none.csv",), record_key="tiers", read_units=_read,
    scored=lambda summary: True, score=_fail, requires=("brightness",))


class TierPlugin:
    @hookimpl
    def vsbench_tiers(self):
        return [BROKEN, BRIGHTNESS]


@pytest.fixture
def with_plugin(monkeypatch):
    registry = build_registry(entry_points=[],
                              extra_plugins=[(TierPlugin(), Origin("t", "tests", "tests", "0"))])
    monkeypatch.setattr(plugins, "default_registry", lambda: registry)
    return registry


def _inputs(folder: Path, n: int = 4) -> TierInputs:
    rng = np.random.default_rng(0)
    real = rng.uniform(0.2, 0.8, (n, 2, 8, 8))
    return TierInputs(folder=folder, prediction=real * 0.9, sample_ids=[f"s{i}" for i in range(n)],
                      channels=["DNA", "ER"], dataset_fingerprint="fp", split_hash="h",
                      cache_dir=folder / "cache", targets=lambda: real, records=lambda: [])


def test_built_in_tiers_their_order_and_choices():
    assert tuple(all_tiers()) == BUILT_IN
    assert scored_tiers() == ["instance", "features", "profiles", "posterior"]
    assert tier_choices() == ("pixel", "instance", "features", "profiles", "posterior", "all")
    assert in_order(["posterior", "profiles", "features"]) == ["features", "profiles",
                                                               "posterior"]
    assert choose("all") == ("instance", "features", "profiles", "posterior")
    with pytest.raises(ResultsError, match="--tier pixels: choose one of instance, features"):
        choose("pixels")
    profiles = all_tiers()["profiles"]
    assert profiles.requires == ("features",) and profiles.unit == "perturbations"
    assert profiles.higher_is_better["map"] is True


def test_a_plugin_tier_is_scored_in_order_guarded_and_skippable(with_plugin, tmp_path,
                                                                monkeypatch):
    monkeypatch.delenv("VSBENCH_TIERS", raising=False)
    assert list(all_tiers())[-2:] == ["broken", "brightness"]
    assert in_order(["broken", "brightness"]) == ["brightness", "broken"]  # requires first
    out = score_tiers(_inputs(tmp_path), ["broken", "brightness"],
                      done={"biometrics": {"tiers": ["features"]}})
    assert out["tiers"]["brightness"]["status"] == "scored"
    assert out["tiers"]["broken"]["status"] == "failed"
    assert "own bug" in out["tiers"]["broken"]["reason"]
    bright, broken = out["tiers"]["brightness"]["summary"], out["tiers"]["broken"]["summary"]
    assert bright["mean_error"] == pytest.approx(
        float(np.abs(0.1 * _inputs(tmp_path).targets().mean(axis=(1, 2, 3))).mean()))
    assert bright["saw_features"] is True  # what the run already had is passed on
    assert "RuntimeError: the tier's own bug" in broken["error"] and broken["traceback"]
    assert (tmp_path / BRIGHTNESS_FILE).is_file()
    with pytest.raises(RuntimeError, match="own bug"):  # evaluate: asked for, so raised
        score_tiers(_inputs(tmp_path), ["broken"], guard=False)
    monkeypatch.setenv("VSBENCH_TIERS", "pixel")
    skipped = score_tiers(_inputs(tmp_path), ["brightness"])["tiers"]["brightness"]
    assert skipped["status"] == "skipped"
    assert skipped["reason"].startswith("VSBENCH_TIERS=pixel; score it with `vsbench "
                                        "evaluate --tier brightness")
    # a list names the tiers to score: the others are skipped, saying how to score them
    monkeypatch.setenv("VSBENCH_TIERS", "pixel, Brightness")
    chosen = score_tiers(_inputs(tmp_path), ["broken", "brightness"])["tiers"]
    assert chosen["brightness"]["status"] == "scored"
    assert chosen["broken"]["status"] == "skipped"
    assert chosen["broken"]["reason"].startswith("VSBENCH_TIERS=pixel, Brightness; score it "
                                                 "with `vsbench evaluate --tier broken")


def test_a_plugin_tier_gets_its_own_board(with_plugin, tmp_path):
    for method, error in (("unet", 0.05), ("dodnet", 0.02)):
        for seed in (0, 1):
            folder = make_run(tmp_path, method, seed, 0.8).path
            ids = [f"img{i:02d}" for i in range(24)]
            values = error + 0.001 * seed + np.linspace(-0.01, 0.01, 24)
            pd.DataFrame({"sample_id": ids, "bright_error": values}).to_csv(
                folder / BRIGHTNESS_FILE, index=False)
            metrics = json.loads((folder / "metrics.json").read_text())
            metrics["tiers"] = {"brightness": {"version": 1, "mean_error": float(values.mean())}}
            (folder / "metrics.json").write_text(json.dumps(metrics))
    assert "brightness" in tier_choices()
    runs, notes = load_tier_runs(tmp_path, "brightness")
    [board] = build_tier_boards(runs, "brightness")
    assert list(board.table.index) == ["dodnet", "unet"]  # lower is better
    assert board.table.loc["dodnet", ("Average", "bright_error")] == pytest.approx(0.0205)
    assert board.p_value["unet"] < 0.05 and board.unit == "test images"
    # and the run's headlines name it (run, evaluate and score print them)
    from vsbench.cli.headlines import tier_rows
    from vsbench.store import ResultsStore

    record = ResultsStore(tmp_path).completed()[0][0].metrics
    assert ("brightness", "scored: `vsbench compare --tier brightness` ranks it") in \
        tier_rows(record)


def test_a_plugin_tier_may_not_take_a_built_in_name_or_turn_a_metric_around(monkeypatch):
    clash = TierSpec(**{**BRIGHTNESS.__dict__, "name": "instance"})
    around = TierSpec(**{**BRIGHTNESS.__dict__, "name": "mine", "metrics": ("f1",),
                         "higher_is_better": {"f1": False}})
    for spec, message in ((clash, "has the name of a built-in tier"),
                          (around, "declares 'f1' lower is better")):
        class Plugin:
            @hookimpl
            def vsbench_tiers(self, spec=spec):
                return [spec]

        registry = build_registry(entry_points=[],
                                  extra_plugins=[(Plugin(), Origin("t", "t", "t", "0"))])
        monkeypatch.setattr(plugins, "default_registry", lambda registry=registry: registry)
        with pytest.raises(PluginError, match=message):
            all_tiers()
    not_a_spec = build_registry(entry_points=[], extra_plugins=[(
        type("P", (), {"vsbench_tiers": hookimpl(lambda self: ["nope"])})(),
        Origin("bad", "t", "t", "0"))])
    assert "not vsbench.tiers.TierSpec" in not_a_spec.broken[0].error


def test_each_tier_declares_its_metrics_and_directions_and_the_protocol_reads_them():
    import vsbench.protocol as protocol
    from vsbench.tiers import instance, posterior

    assert not hasattr(protocol, "INSTANCE_METRICS")  # kept with the tier, not in a list here
    tiers = built_in()
    assert tiers["instance"].metrics == instance.INSTANCE_METRICS
    assert tiers["posterior"].higher_is_better["crps"] is False
    for spec in tiers.values():
        for metric, higher in spec.higher_is_better.items():
            assert protocol.HIGHER_IS_BETTER[metric] is higher, metric
    assert protocol.HIGHER_IS_BETTER["count_error"] is False
    assert posterior.HIGHER_IS_BETTER["coverage_90"] is True
