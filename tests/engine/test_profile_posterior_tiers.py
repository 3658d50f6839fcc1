"""The profile and posterior tiers wired into runs: files and summaries of a tiny run, the
real stain's profile scores cached, a deterministic method's CRPS equal to its MAE, a
stochastic method's ensemble scored from its samples, `vsbench evaluate --tier profiles|
posterior` on a finished run, `vsbench compare --tier profiles|posterior`, and the
configuration hash left as it was."""

from __future__ import annotations

import io

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from rich.console import Console
from typer.testing import CliRunner

from vsbench.cli import app
from vsbench.engine import RunRequest, run_benchmark
from tests.conftest import all_tiers
from vsbench.engine.plan import plan_run
from vsbench.engine.posterior import repeat_batch
from vsbench.layout import (FEATURE_POSTERIOR_FILE, METRICS_FILE, PER_IMAGE_FEATURE_POSTERIOR_FILE,
                            PER_IMAGE_MEAN_FILE, PER_IMAGE_POSTERIOR_FILE, POSTERIOR_SAMPLES_FILE,
                            PROFILES_MAP_FILE)
from vsbench.profiles.tier import is_control, label_table, skip_note

TINY = {"image_size": 32, "epochs": 1, "max_train_images": 8, "n_preview": 2,
        "tensorboard": False}
TINY_DIFFUSION = {"width": 8, "channel_mults": (1, 2), "layers_per_block": 1, "head_dim": 8,
                  "sample_steps": 1, "n_samples": 2}
runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny unet run and a tiny palette run (2 samples per image) on one data root."""
    root = tmp_path_factory.mktemp("later")
    out = {}
    patch = all_tiers()
    try:
        for method, extra in (("unet", {}), ("palette", TINY_DIFFUSION)):
            shown = Console(file=io.StringIO(), width=200)
            out[method] = run_benchmark(RunRequest(dataset="synthetic",
                                                   method=method, overrides={**TINY, **extra},
                                                   device="cpu", results_dir=root / "res",
                                                   data_root=root / "data"), shown)
            out[f"{method} output"] = shown.file.getvalue()
    finally:
        patch.undo()
    return root, out


def test_every_tier_phase_shows_its_progress(runs):
    _, out = runs
    for method in ("unet", "palette"):
        text = out[f"{method} output"]
        assert "instance and features tiers" in text and "profiles tier" in text, text
    # the stochastic method's extra samples: a bar over the test images
    assert "posterior: 1 more samples" in out["palette output"]
    assert "24/24" in out["palette output"].split("posterior: 1 more samples")[1]
    assert "posterior:" not in out["unet output"]  # a point mass draws nothing


def test_every_run_scores_profiles_real_and_virtual_with_the_real_stain_cached(runs):
    root, out = runs
    first, second = out["unet"].metrics.profiles, out["palette"].metrics.profiles
    table = pd.read_csv(out["unet"].folder / PROFILES_MAP_FILE)
    # the default layout's test plate: 4 treated perturbations, 2 per target, 4 control wells
    assert sorted(table["target"]) == ["microtubule"] * 2 + ["mitochondria"] * 2
    assert {"map_real", "map_virtual", "p_corrected_real", "retrieved_virtual"} <= set(table)
    assert table["map_real"].between(0, 1).all() and table["map_virtual"].between(0, 1).all()
    assert first["n_wells"] == 12 and first["n_control_wells"] == 4
    assert first["virtual"]["mean_map"] == pytest.approx(table["map_virtual"].mean())
    assert first["real"]["mean_map"] == pytest.approx(table["map_real"].mean())
    assert first["agreement"]["n_perturbations"] == 4
    assert first["settings"]["normalisation"] == "mad_robustize"
    # the real stain is scored once per dataset and settings, then read from the cache
    cache = root / "data" / "synthetic" / "biometrics" / f"profiles-{first['real_cache']['key']}.json"
    assert cache.is_file()
    assert first["real_cache"]["from_cache"] is False and second["real_cache"]["from_cache"]
    assert second["real"] == first["real"]


def test_a_deterministic_method_is_a_point_mass_whose_crps_is_its_mae(runs):
    _, out = runs
    record = out["unet"].metrics
    posterior = record.posterior
    assert posterior["stochastic"] is False and posterior["n_samples"] == 1
    for channel, values in posterior["channels"].items():
        assert values["crps"] == pytest.approx(values["mae_first"], abs=1e-12)
        assert values["mae_mean"] == pytest.approx(values["mae_first"], abs=1e-12)
        assert values["diversity"] == 0.0
        # the saved float16 predictions against the run's float32 ones
        assert values["crps"] == pytest.approx(record.channels[channel]["mae"], abs=1e-3)
    rows = pd.read_csv(out["unet"].folder / PER_IMAGE_POSTERIOR_FILE)
    assert len(rows) == record.n_test_images * 5
    # its cell features too: the CRPS of a point mass is its absolute error, here checked
    # against the feature tier's own per-cell table (real and predicted per cell)
    cells = pd.read_csv(out["unet"].folder / "cell_features.csv.gz").dropna()
    scored = pd.read_csv(out["unet"].folder / FEATURE_POSTERIOR_FILE).set_index(
        ["channel", "feature"])
    checked = 0
    for (channel, feature), group in cells.groupby(["channel", "feature"]):
        if (channel, feature) not in scored.index:
            continue
        direct = (group["predicted"] - group["real"]).abs().mean() / group["real"].std(ddof=0)
        assert scored.loc[(channel, feature), "crps"] == pytest.approx(direct, rel=1e-6)
        # a point mass covers a real value only where it hits it exactly (e.g. both 0)
        assert scored.loc[(channel, feature), "coverage_90"] == pytest.approx(
            (group["predicted"] == group["real"]).mean())
        checked += 1
    assert checked > 100
    assert posterior["features"]["n_samples"] == 1
    assert set(posterior["features"]["channels"]) == {"DNA", "ER", "RNA", "AGP", "Mito"}


def test_a_stochastic_method_is_scored_as_an_ensemble_of_its_samples(runs):
    _, out = runs
    folder, record = out["palette"].folder, out["palette"].metrics
    posterior = record.posterior
    assert posterior["stochastic"] is True and posterior["n_samples"] == 2
    assert posterior["seconds"]["per_image"] > 0
    config = json.loads((folder / "config.json").read_text())
    assert config["posterior"] == {"stochastic": True, "n_samples": 2}
    with np.load(folder / POSTERIOR_SAMPLES_FILE) as saved:
        samples = saved["samples"].astype(np.float64)
        target = saved["target"].astype(np.float64)
        sample_id = str(saved["sample_id"])
    assert samples.shape == (2, 5, 32, 32)
    # the first sample is the run's prediction (what the pixel tier scored)
    with np.load(folder / "test_predictions.npz") as test:
        index = list(test["sample_ids"]).index(sample_id)
        np.testing.assert_allclose(samples[0], test["prediction"][index], atol=1e-3)
    rows = pd.read_csv(folder / PER_IMAGE_POSTERIOR_FILE).set_index(["sample_id", "channel"])
    for c, channel in enumerate(("DNA", "ER", "RNA", "AGP", "Mito")):
        x, y = samples[:, c], target[c]
        s = len(x)  # the fair CRPS: distinct pairs only
        direct = (np.abs(x - y).mean(0)
                  - 0.5 * np.abs(x[:, None] - x[None]).sum((0, 1)) / (s * (s - 1))).mean()
        assert rows.loc[(sample_id, channel), "crps"] == pytest.approx(direct, abs=2e-3)
    assert posterior["average"]["diversity"] > 0
    assert posterior["calibration"]["nominal"][4] == 0.5
    assert len(posterior["calibration"]["empirical"]["Average"]) == 9
    mean = pd.read_csv(folder / PER_IMAGE_MEAN_FILE)
    assert len(mean) == record.n_test_images * 5
    # the samples' cell features, measured on the ground truth's cells
    features = posterior["features"]
    assert features["n_samples"] == 2 and features["seconds_measuring"] > 0
    assert 0 < features["average"]["median_spread"]
    assert 0 <= features["average"]["coverage_50"] <= features["average"]["coverage_90"] <= 1
    per_image = pd.read_csv(folder / PER_IMAGE_FEATURE_POSTERIOR_FILE)
    assert set(per_image["sample_id"]) == set(rows.index.get_level_values(0))
    assert (per_image["feature_crps"] > 0).all()


def test_evaluate_fills_in_the_tiers_of_a_finished_run(runs, tmp_path):
    _, out = runs
    for method, tiers in (("unet", ("profiles", "posterior")), ("palette", ("posterior",))):
        source = out[method].folder
        copy = tmp_path / "runs" / "synthetic" / method / source.name
        shutil.copytree(source, copy)
        before = json.loads((copy / METRICS_FILE).read_text())
        stripped = {k: v for k, v in before.items() if k not in ("profiles", "posterior")}
        (copy / METRICS_FILE).write_text(json.dumps(stripped))  # as a run made before them
        (copy / PROFILES_MAP_FILE).unlink()
        for tier in tiers:
            result = runner.invoke(app, ["evaluate", "--tier", tier, "--device", "cpu",
                                         str(copy)], env={"COLUMNS": "200"})
            assert result.exit_code == 0, result.output
        after = json.loads((copy / METRICS_FILE).read_text())
        assert {k: v for k, v in after.items() if k in stripped} == stripped
        # the same seed, device and weights: the run's own numbers
        assert after["posterior"]["average"] == before["posterior"]["average"]
        if "profiles" in tiers:
            assert after["profiles"]["virtual"] == before["profiles"]["virtual"]
            assert after["profiles"]["real_cache"]["from_cache"] is True
            assert (copy / PROFILES_MAP_FILE).read_text() == (
                source / PROFILES_MAP_FILE).read_text()


def test_compare_shows_the_profile_and_posterior_columns(runs):
    root, _ = runs
    result = runner.invoke(app, ["compare", "--results", str(root / "res"), "--data-root",
                                 str(root / "data"), "--tier", "posterior"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "posterior tier" in result.output and "CRPS" in result.output
    assert "COVERAGE_90" in result.output and "palette" in result.output
    assert "FEATURE_CRPS" in result.output
    result = runner.invoke(app, ["compare", "--results", str(root / "res"), "--data-root",
                                 str(root / "data"), "--tier", "profiles"],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "profiles tier" in result.output and "real stain" in result.output
    assert "nocodazole-like" in result.output and "agreement r" in result.output
    assert "agreement r, 95% CI" in result.output
    assert "its interval resamples perturbations and runs" in result.output


def test_n_samples_at_its_default_leaves_the_configuration_hash_alone(tmp_path):
    request = RunRequest(dataset="synthetic", method="unet", device="cpu", data_root=tmp_path)
    plain = plan_run(request).config
    assert "n_samples" not in plain.run
    assert plain.extra["posterior"] == {"stochastic": False, "n_samples": 4}
    same = plan_run(RunRequest(dataset="synthetic", method="unet", device="cpu", data_root=tmp_path,
                               overrides={"n_samples": 4})).config
    other = plan_run(RunRequest(dataset="synthetic",
                                method="unet", device="cpu", data_root=tmp_path,
                                overrides={"n_samples": 8})).config
    assert same.config_hash == plain.config_hash != other.config_hash
    assert other.run["n_samples"] == 8


def test_samples_are_batched_image_by_image_and_controls_are_recognised():
    batch = {"brightfield": torch.arange(2.0).reshape(2, 1), "labels": {"p": torch.tensor([5, 6])},
             "index": torch.tensor([0, 1])}
    repeated = repeat_batch(batch, 3)
    assert repeated["brightfield"].flatten().tolist() == [0, 0, 0, 1, 1, 1]
    assert repeated["labels"]["p"].tolist() == [5, 5, 5, 6, 6, 6]
    assert is_control({"perturbation": "DMSO", "target": "x"})
    assert is_control({"perturbation": "a", "target": "control"})
    assert not is_control({"perturbation": "nocodazole", "target": "microtubule"})

    class Record:
        def __init__(self, sample_id, well, pert, target):
            self.sample_id, self.plate, self.well, self.site = sample_id, "P1", well, "1"
            self.labels = {"perturbation": pert, "target": target}

    treated = [Record(f"s{i}", f"A0{i}", "drug", "t") for i in range(2)]
    assert "no control wells" in skip_note(label_table(treated, ["s0", "s1"]))
    one_each = [Record("s0", "A01", "drug", "t"), Record("s1", "A02", "DMSO", "control")]
    assert "two replicate wells" in skip_note(label_table(one_each, ["s0", "s1"]))
    unlabelled = [Record("s0", "A01", None, None)]
    assert "no perturbation labels" in skip_note(label_table(unlabelled, ["s0"]))


def test_the_report_has_the_profile_and_posterior_section(runs, tmp_path):
    from vsbench.report import build_report

    root, _ = runs
    page = build_report(root / "res", tmp_path / "report", data_root=root / "data").read_text()
    assert "<h3>Profiles tier</h3>" in page and "<h3>Posterior tier</h3>" in page
    for alt in ("mAP per perturbation", "calibration", "sample gallery"):
        assert f'alt="{alt}"' in page, alt
    assert "posterior: crps" in page and "profiles: map" in page


pytestmark = [pytest.mark.e2e, pytest.mark.tiers]
