"""The control methods (all-zero guide, oracle masks): flagged, recorded, and what they guide
with; a guided run records its unguided first estimate beside its prediction."""

import csv
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import TINY, TINY_DIFFUSION, run_method
from vsbench.cli import app
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.engine import RunRequest, plan_run
from vsbench.errors import MethodFailed
from vsbench.layout import PER_IMAGE_FILE, PER_IMAGE_UNGUIDED_FILE
from vsbench.plugins import build_registry
from vsbench.records import ConfigRecord
from vsbench_methods.palette_oracle_masks import OracleMasksParams
from vsbench_methods.palette_oracle_masks.method import OracleMasksMethod
from vsbench_methods.palette_threshold.method import threshold_mask
from vsbench_methods.palette_zero_guide.method import ZeroGuideMethod
from vsbench.diffusion.guided_params import MaskGuidedParams

TINY_PARAMS = {"width": 8, "channel_mults": (1, 2), "layers_per_block": 1, "head_dim": 8,
               "dropout": 0.0, "num_train_timesteps": 2000, "sampler": "ddim",
               "sample_steps": 4}
FAST = TINY_DIFFUSION
INFO = SyntheticSource().info
CONTROLS = {"palette-zero-guide", "palette-oracle-masks"}


def test_controls_are_registered_and_flagged_and_nothing_else_is():
    registry = build_registry()
    flagged = {name for name, entry in registry.methods.items() if entry.spec.control}
    assert flagged == CONTROLS
    for name in CONTROLS:
        assert registry.methods[name].origin.builtin


def test_the_control_flag_reaches_the_run_config(tmp_path):
    for name, control in [("palette-zero-guide", True), ("palette-threshold", False)]:
        plan = plan_run(RunRequest(dataset="synthetic",
                                   method=name, data_root=tmp_path / "data", device="cpu"))
        assert plan.config.control is control
        assert plan.config.to_json()["control"] is control
    # an old config.json without the key reads as not a control
    old = {k: v for k, v in plan.config.to_json().items() if k != "control"}
    assert ConfigRecord.from_json(old).control is False


def test_zero_guide_starts_from_black(monkeypatch):
    method = ZeroGuideMethod(MaskGuidedParams(**TINY_PARAMS), INFO)
    starts = []
    real = method.generate
    monkeypatch.setattr(method, "generate",
                        lambda batch, start=None, start_fraction=None, on_step=None:
                        starts.append(start) or real(batch, start=start,
                                                     start_fraction=start_fraction,
                                                     on_step=on_step))
    with torch.inference_mode():
        out = method.predict({"brightfield": torch.rand(2, 3, 16, 16)})
    assert starts[0] is None and torch.equal(starts[1], torch.zeros(2, 5, 16, 16))
    assert not out.extras["masks"].any()


def test_oracle_masks_come_from_the_ground_truth():
    params = OracleMasksParams(**TINY_PARAMS)
    method = OracleMasksMethod(params, INFO)
    truth = torch.zeros(1, 5, 16, 16)
    truth[..., 4:10, 3:12] = 0.8
    truth += 0.05 * torch.rand(1, 5, 16, 16, generator=torch.Generator().manual_seed(0))
    batch = {"brightfield": torch.rand(1, 3, 16, 16), "fluorescence": truth}
    with torch.inference_mode():
        out = method.predict(batch)
    expected = np.stack([threshold_mask(c, "local", params.threshold_block,
                                        params.threshold_floor) for c in truth[0].numpy()])
    assert np.array_equal(out.extras["masks"][0, 0].numpy(), expected)
    assert expected[:, 4:10, 3:12].mean() > 0.9 and expected[:, :3].mean() < 0.05
    assert method.mask_source_record()["of"] == "ground truth"
    with pytest.raises(MethodFailed, match="needs the ground-truth fluorescence"):
        method.guide_masks({"brightfield": batch["brightfield"]}, truth)


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _run(method, tmp_path):
    return run_method(tmp_path, method, *TINY, *FAST)[0]


def test_guided_runs_record_their_unguided_estimate_and_controls_are_never_ranked(tmp_path):
    folders = {m: _run(m, tmp_path) for m in ("palette-threshold", "palette-zero-guide",
                                              "palette-oracle-masks")}
    for method, folder in folders.items():
        assert json.loads((folder / "config.json").read_text())["control"] is (
            method in CONTROLS)
        guided = _rows(folder / PER_IMAGE_FILE)
        unguided = _rows(folder / PER_IMAGE_UNGUIDED_FILE)
        # the same images and channels, row by row: a paired comparison
        assert [(r["sample_id"], r["channel"]) for r in guided] == \
            [(r["sample_id"], r["channel"]) for r in unguided]
        metrics = json.loads((folder / "metrics.json").read_text())
        assert len(guided) == 5 * metrics["n_test_images"]
        assert any(g["pcc"] != u["pcc"] for g, u in zip(guided, unguided))  # guidance acted
        record = metrics["unguided"]
        assert record["per_image_file"] == PER_IMAGE_UNGUIDED_FILE
        assert record["n_test_images"] == metrics["n_test_images"]
        for channel in INFO.channels:  # the summary is the mean of the per-image file
            values = [float(r["ssim"]) for r in unguided if r["channel"] == channel]
            assert record["channels"][channel]["ssim"] == pytest.approx(np.mean(values))
        assert record["average"] != metrics["average"]

    from vsbench.leaderboard import build_leaderboards, load_runs, render

    runs, _ = load_runs(tmp_path / "res")
    boards = build_leaderboards(runs)
    by_section = {b.section: b for b in boards}
    assert set(by_section) == {"methods", "controls"} and len(boards) == 2
    methods, controls = by_section["methods"], by_section["controls"]
    assert list(methods.table.index) == ["palette-threshold"]
    assert int(methods.rank["palette-threshold"]) == 1
    assert set(controls.table.index) == CONTROLS
    assert controls.rank is None and controls.p_value is None  # never ranked, never tested
    assert "CONTROLS" in controls.title() and "not ranked" in controls.caption()
    # guided minus unguided, paired per image, equals the difference of the two files
    guided = _rows(folders["palette-threshold"] / PER_IMAGE_FILE)
    unguided = _rows(folders["palette-threshold"] / PER_IMAGE_UNGUIDED_FILE)
    dna = [float(g["pcc"]) - float(u["pcc"]) for g, u in zip(guided, unguided)
           if g["channel"] == "DNA"]
    assert methods.guidance.loc["palette-threshold", ("DNA", "pcc", "diff")] == \
        pytest.approx(np.mean(dna))
    assert 0 <= methods.guidance.loc["palette-threshold", ("Average", "pcc", "p")] <= 1
    text = render(methods, "markdown")
    assert "Guided minus unguided" in text and "Average PCC" in text
    assert "rank" in render(controls, "markdown")  # the column is there, empty: "-"
    # every export carries the paired differences: the CSV the numbers, LaTeX and HTML tables
    import io

    import pandas as pd

    csv = pd.read_csv(io.StringIO(render(methods, "csv")), index_col="method")
    assert csv.loc["palette-threshold", "DNA PCC guided-unguided"] == pytest.approx(
        np.mean(dna), rel=1e-5)
    assert 0 <= csv.loc["palette-threshold", "Average PCC guided-unguided p"] <= 1
    # the board, guided minus unguided, and guided minus the controls of the same first
    # estimates (the zero guide and the oracle masks restart from palette-threshold's)
    assert render(methods, "latex").count("\\begin{tabular}") == 3
    assert "Guided minus unguided" in render(methods, "latex")
    assert "Guided minus each control restarted" in render(methods, "latex")
    assert "<h4>Guided minus unguided" in render(methods, "html")
    assert "Average PCC guided-unguided" in render(controls, "csv")  # controls are guided too
    listing = CliRunner().invoke(app, ["compare", "--results", str(tmp_path / "res")],
                                 env={"COLUMNS": "250"})
    assert listing.exit_code == 0 and "CONTROLS" in listing.output
    assert "Guided minus unguided" in listing.output
