"""The bad-input suite at the harness level: each case gets its one clear error."""

import json

import numpy as np
import pytest

from tests.conftest import TINY, install_fake_distribution, run_cli
from vsbench.data.source import DataError, DatasetInfo, Sample, SampleRecord, check_sample

INFO = DatasetInfo("toy", channels=("DNA", "ER"), planes=("BF",))
RECORD = SampleRecord("P1_A01_s1", "P1", "A01", "1")


def _sample(bf_shape=(1, 16, 16), fl_shape=(2, 16, 16), bf_fill=0.5, fl_fill=0.5):
    return Sample(RECORD, np.full(bf_shape, bf_fill, np.float32),
                  np.full(fl_shape, fl_fill, np.float32))


@pytest.mark.parametrize("sample,message", [
    (_sample(bf_shape=(3, 16, 16)), "Sample P1_A01_s1: brightfield has shape (3, 16, 16), "
                                    "expected [1, H, W] (BF)."),
    (_sample(fl_shape=(5, 16, 16)), "Sample P1_A01_s1: fluorescence has shape (5, 16, 16), "
                                    "expected [2, H, W] (DNA, ER)."),
    (_sample(fl_shape=(2, 16, 20)), "Sample P1_A01_s1: brightfield is (16, 16) but fluorescence "
                                    "is (16, 20); both must be the same size."),
    (_sample(bf_fill=np.nan), "Sample P1_A01_s1: brightfield contains NaN or Inf pixels"),
    (_sample(fl_fill=np.inf), "Sample P1_A01_s1: fluorescence contains NaN or Inf pixels"),
    (_sample(fl_fill=3.0), "Sample P1_A01_s1: fluorescence outside [0, 1]"),
])
def test_sample_checks(sample, message):
    with pytest.raises(DataError) as err:
        check_sample(sample, INFO)
    assert message in str(err.value)


def test_good_sample_passes():
    assert check_sample(_sample(), INFO).record is RECORD


NAN_PLUGIN = '''
from dataclasses import dataclass
from vsbench import MethodSpec, hookimpl

@dataclass
class Params:
    pass

def build(params, info):
    import torch
    from vsbench.method import Method

    class NaNMethod(Method):
        def __init__(self, params, info):
            super().__init__(params, info)
            self.model = torch.nn.Conv2d(len(info.planes), len(info.channels), 1)
        def training_loss(self, batch):
            return self.model(batch["brightfield"]).mean() ** 2
        def predict(self, batch):
            out = torch.sigmoid(self.model(batch["brightfield"]))
            out[-1, 0, 0, 0] = float("nan")
            return out
    return NaNMethod(params, info)

@hookimpl
def vsbench_methods():
    return [MethodSpec(name="nan-method", description="predicts a NaN", reference="test",
                       params=Params, factory=build)]
'''


def test_nan_prediction_fails_the_run_naming_method_and_image(tmp_path):
    site = tmp_path / "site"
    install_fake_distribution(site, "vsbench-nan", "0.0.1", {"nan": "vsbench_nan"})
    (site / "vsbench_nan.py").write_text(NAN_PLUGIN)
    result = run_cli(["run", "--dataset", "synthetic",
                      "--method", "nan-method", "--results", str(tmp_path / "res"),
                      "--data-root", str(tmp_path / "data"), *TINY], tmp_path, [site])
    assert result.returncode == 2
    assert "nan-method predicted NaN or Inf for test image SYN-P06_A" in result.stderr
    [folder] = (tmp_path / "res" / "runs" / "synthetic" / "nan-method").iterdir()
    assert json.loads((folder / "state.json").read_text())["status"] == "failed"
    assert not (folder / "metrics.json").exists()


def test_a_batch_of_one_at_a_1x1_batchnorm_map_says_what_to_change(tmp_path):
    from tests.conftest import invoke

    out = invoke(["run", "--dataset", "synthetic",
                  "--method", "unet", "--results", str(tmp_path / "res"),
                  "--data-root", str(tmp_path / "data"), *TINY, "--set", "batch_size=1"])
    assert out.returncode == 2
    text = " ".join((out.stdout + out.stderr).split())
    assert ("batch_size 1 per process leaves the network's BatchNorm one value per channel at "
            "image_size 32") in text
    assert "set --set batch_size=2 or more per process, or a larger --set image_size." in text


# ---- grids and run settings refused before anything runs (issue 15) ------------------------

@pytest.mark.parametrize("args,message", [
    (["--methods", "unet", "--seeds", "0,0"], "--seeds '0,0' names 0 more than once"),
    (["--methods", "unet", "--seeds", "0,00"], "names a seed more than once"),
    (["--methods", "unet,unet"], "--methods 'unet,unet' names unet more than once"),
    (["--methods", ""], "--methods '' names nothing"),
    (["--methods", ","], "--methods ',' names nothing"),
    (["--methods", "unet", "--seeds", ""], "--seeds '' names nothing"),
    (["--methods", "unet", "--seeds", "0,x"], "'x' is not an integer"),
    (["--methods", "unet", "--seeds", "-1"], "a seed is an integer from 0 to 4294967295"),
    (["--methods", "unet,palette", "--set", "encoder=resnet34"],
     "palette: Unknown hyperparameter 'encoder'"),
])
def test_sweep_grid_errors_run_nothing(tmp_path, args, message):
    from typer.testing import CliRunner

    from vsbench.cli import app

    out = CliRunner().invoke(app, ["sweep", "--dataset", "synthetic",
                                   *args, "--results", str(tmp_path / "res"),
                                   "--data-root", str(tmp_path / "data")],
                             env={"COLUMNS": "300"})
    assert out.exit_code == 2, out.output
    assert message in out.output and "Traceback" not in out.output
    assert not (tmp_path / "res" / "runs").exists()


@pytest.mark.parametrize("args,message", [
    (["--seed", "99999999999999999999"], "--seed 99999999999999999999: a seed is an integer "
                                         "from 0 to 4294967295."),
    (["--set", "image_size=100000"], "--set image_size=100000: one batch of 8 fields of "
                                     "100000 px"),
    (["--data-root", "FILE"], "is a file, not a folder; pass a folder"),
])
def test_run_settings_refused_before_the_run_folder_exists(tmp_path, args, message):
    from typer.testing import CliRunner

    from vsbench.cli import app

    (tmp_path / "afile").write_text("not a folder")
    args = [str(tmp_path / "afile") if a == "FILE" else a for a in args]
    if "--data-root" not in args:
        args += ["--data-root", str(tmp_path / "data")]
    out = CliRunner().invoke(app, ["run", "--dataset", "synthetic", "--method", "unet", "--results",
                                   str(tmp_path / "res"), *args], env={"COLUMNS": "300"})
    assert out.exit_code == 2, out.output
    assert message in " ".join(out.output.split()) and "failed" not in out.output
    assert not (tmp_path / "res" / "runs").exists()
