"""Precise BatchNorm statistics after training (vsbench.engine.batchnorm and the engine's
callback)."""

import torch
from typer.testing import CliRunner

from tests.conftest import TINY
from vsbench.cli import app
from vsbench.engine.batchnorm import batchnorm_layers, recompute_batchnorm_statistics


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, padding=1), torch.nn.BatchNorm2d(3),
                               torch.nn.ReLU())


def test_statistics_are_the_average_over_the_batches():
    model = _model()
    batches = [torch.randn(4, 2, 8, 8, generator=torch.Generator().manual_seed(i)) * (i + 1)
               for i in range(3)]
    with torch.no_grad():  # stale statistics, as an exponential average would leave them
        model[1].running_mean.fill_(5.0)
        model[1].running_var.fill_(9.0)
    model.eval()
    assert recompute_batchnorm_statistics(model, batches, model) == 1
    with torch.no_grad():
        features = [model[0](b) for b in batches]
    means = torch.stack([f.mean((0, 2, 3)) for f in features])
    variances = torch.stack([f.transpose(0, 1).reshape(3, -1).var(1, unbiased=True)
                             for f in features])
    torch.testing.assert_close(model[1].running_mean, means.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model[1].running_var, variances.mean(0), rtol=1e-4, atol=1e-4)
    assert model[1].momentum == 0.1 and not model.training  # both restored


def test_models_without_batchnorm_are_left_alone():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.GroupNorm(1, 3))
    calls = []
    assert recompute_batchnorm_statistics(model, [torch.zeros(1, 2, 4, 4)], calls.append) == 0
    assert calls == []


def test_a_run_saves_the_recomputed_statistics(tmp_path):
    """The checkpoint of a finished unet run holds statistics that recomputing again over the
    training split (plain, no augmentation) does not change: the engine did it last."""
    out = CliRunner().invoke(app, ["run", "--dataset", "synthetic",
                                   "--method", "unet", "--results", str(tmp_path / "r"),
                                   "--data-root", str(tmp_path / "data"), *TINY],
                             env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    [folder] = (tmp_path / "r" / "runs" / "synthetic" / "unet").iterdir()

    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.engine import load_trained

    trained = load_trained(folder, "cpu", data_root=tmp_path / "data")
    method, plan = trained.method, trained.plan
    saved = [(layer.running_mean.clone(), layer.running_var.clone())
             for layer in batchnorm_layers(method.model)]
    assert saved
    data = PairedImageDataset(plan.source, plan.train_ids, plan.resolved.run.image_size)
    loader = torch.utils.data.DataLoader(data, batch_size=plan.resolved.run.batch_size)
    recompute_batchnorm_statistics(method.model, loader, method.predict)
    for (mean, var), layer in zip(saved, batchnorm_layers(method.model)):
        torch.testing.assert_close(layer.running_mean, mean, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(layer.running_var, var, rtol=1e-4, atol=1e-5)


def test_a_training_part_that_leaves_a_batch_of_one_still_trains(tmp_path):
    """9 fields in batches of 8: the precise-BatchNorm pass drops the lone last field (a batch
    of one has no statistics) instead of failing the run."""
    from tests.conftest import TINY, run_method

    folder, _ = run_method(tmp_path, "unet", *TINY, "--set", "max_train_images=9",
                           "--set", "batch_size=8")
    assert (folder / "metrics.json").is_file()
