"""The default dataset is learnable but not trivial: U-Net clearly beats the trivial predictors.

Measured on the default split at 64 px (seed 0, 2-core CPU): training-mean image MSE 0.0217,
per-pixel linear map PCC 0.306 (average over channels); U-Net smoke preset (30 epochs) MSE
0.0108, PCC 0.672; with the 12 epochs used here MSE 0.0139 and PCC 0.575.
"""


import pytest
from rich.console import Console

from vsbench import baselines
from vsbench.data.splits import load_or_create_split
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.data.torch_dataset import PairedImageDataset
from vsbench.engine import RunRequest, run_benchmark


@pytest.fixture(scope="module")
def trivial(tmp_path_factory):
    source = SyntheticSource()
    split = load_or_create_split(source.records(),
                                 tmp_path_factory.mktemp("split") / "split.csv")
    train = PairedImageDataset(source, split.ids("train"), 64)
    test = PairedImageDataset(source, split.ids("test"), 64)
    return baselines.mean_image(train, test), baselines.linear_map(train, test)


def test_trivial_predictors_are_weak(trivial):
    mean, linear = trivial
    assert mean["average"]["pcc"] < 0.1
    assert 0.2 < linear["average"]["pcc"] < 0.4
    assert linear["average"]["mse"] < mean["average"]["mse"]


def test_unet_clearly_beats_trivial_predictors(trivial, tmp_path):
    mean, linear = trivial
    result = run_benchmark(RunRequest(dataset="synthetic", method="unet", overrides={"epochs": 12},
                                      results_dir=tmp_path / "res", data_root=tmp_path / "data"),
                           Console(quiet=True))
    unet = result.metrics.to_json()
    print("unet", unet["average"], "mean", mean["average"], "linear", linear["average"])
    assert unet["average"]["mse"] < 0.75 * mean["average"]["mse"]
    assert unet["average"]["pcc"] > linear["average"]["pcc"] + 0.15
    for channel in ("DNA", "ER", "RNA"):
        assert unet["channels"][channel]["pcc"] > linear["channels"][channel]["pcc"] + 0.15


# End-to-end: these train and evaluate through the CLI or the engine (`-m "not e2e"` skips them).
pytestmark = pytest.mark.e2e
