"""``vsbench score``: score predictions made outside vsbench on a dataset's test split."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vsbench.cli import checks
from vsbench.cli.common import console
from vsbench.cli.headlines import print_headlines
from vsbench.cli.options import DataRoot, Results


def score(
    predictions: Path = typer.Option(..., "--predictions", help="Folder of one prediction "
                                     "per test sample: SAMPLE_ID.tif/.tiff/.npy, [C, H, W] "
                                     "float on [0, 1], the dataset's channels in order."),
    dataset: str = typer.Option(..., "--dataset", "-d", help="The dataset whose test split "
                                "was predicted (see `vsbench datasets`)."),
    name: str = typer.Option(..., "--name", help="The method's name on the leaderboard."),
    description: Optional[str] = typer.Option(None, "--description", help="What the method "
                                              "is (recorded in config.json)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="The leaderboard to join: "
                                         "its preset (default: the one board of vsbench runs "
                                         "scored at the predictions' size)."),
    image_size: Optional[int] = typer.Option(None, "--image-size", help="The leaderboard to "
                                             "join: its training size (default as --preset)."),
    results: Results = Path("results"),
    data_root: DataRoot = Path("datasets"),
) -> None:
    """Score predictions made outside vsbench with the same metric protocol and biological
    tiers as every run; write them as a submitted run folder that `vsbench compare` ranks.

    Every file is checked first (a missing, extra or misshapen prediction is an error naming
    it); the real stains are the test fields at the predictions' size.
    """
    from vsbench.score.submitted import score_submission

    checks.input_folder(predictions, "--predictions")
    checks.output_folder(results, "--results")
    checks.output_folder(data_root, "--data-root")
    folder, record = score_submission(predictions, dataset, name, description=description,
                                      results=results, data_root=data_root, preset=preset,
                                      image_size=image_size)
    out = console()
    average = record.average
    out.print(f"{name} on {dataset} ({record.n_test_images} test fields, "
              f"{record.eval_image_size} px): PCC {average['pcc']:.4f}, SSIM "
              f"{average['ssim']:.4f}, MSE {average['mse']:.5f}", highlight=False,
              soft_wrap=True)
    print_headlines(out, record, folder.path, f"{name}: tier headlines")
