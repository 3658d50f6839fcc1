"""``vsbench predict``: apply a completed run's trained method to new brightfield fields."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from vsbench.cli import checks
from vsbench.cli.common import DATA_ROOT_HELP, RESULTS_HELP, console


def predict(
    run: str = typer.Argument(..., help="The completed run: its folder "
                              "(RESULTS/runs/DATASET/METHOD/RUN_ID) or its run id."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the predictions and "
                             "manifest.csv / manifest.json into (created; a folder holding "
                             "earlier predictions needs --overwrite)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Predict the fields "
                                          "of a registered dataset (see `vsbench datasets`)."),
    input_path: Optional[Path] = typer.Option(None, "--input", "-i", help="Predict new "
                                              "fields: a folder of image files (one "
                                              "multi-plane TIFF per field) or an OME-Zarr "
                                              "plate (.zarr)."),
    split: str = typer.Option("test", "--split", help="With --dataset: test, train or all."),
    fmt: str = typer.Option("ome-tiff", "--format", help="ome-tiff (one file per field) or "
                            "ome-zarr (one HCS plate)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    results: Path = typer.Option(Path("results"), "--results", help=RESULTS_HELP + " Where a "
                                 "run id is looked up."),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help=DATA_ROOT_HELP + " "
                                             "Default: the one the run recorded."),
    resolution: str = typer.Option("run", "--resolution", help="run: resize each field to "
                                   "the run's evaluation size, as its test fields were (the "
                                   "scale the model learned, where the new fields have the "
                                   "training data's field size); input: keep --input fields "
                                   "at their own size, predicted in tiles of the training size "
                                   "(for fields of the training data's pixel size)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the predictions an "
                                   "earlier `vsbench predict` wrote into --out (other files "
                                   "there are never deleted: such a folder is refused)."),
) -> None:
    """Predict fluorescence for new brightfield fields with a completed run's trained method.

    Each field is normalised as the run's dataset was, resized to the run's evaluation size
    (said when it is; --resolution input keeps it at its own size) and predicted whole, in
    blended tiles of the training size; the output is [C, H, W] on
    [0, 1] with the run's channel names, one OME-TIFF per field (or one OME-Zarr plate),
    listed in manifest.csv with the run id and config hash.
    """
    from vsbench.predict.outputs import MANIFEST_CSV, check_format, check_out, staged

    check_format(fmt)
    checks.output_folder(out, "--out")
    check_out(out, overwrite)
    if input_path is not None:
        checks.input_path(input_path, "--input")
    checks.optional_input_folder(results, "--results")
    if data_root is not None:
        checks.input_folder(data_root, "--data-root", "data root")
    checks.device(device, allowed=("cpu", "cuda", "cuda:N"))
    from vsbench.predict.apply import find_run, predict_run, resized_note

    folder = find_run(run, results)
    shown = console()
    with staged(out, overwrite) as stage:
        rows = predict_run(folder, stage, dataset=dataset, input_path=input_path, split=split,
                           fmt=fmt, device=device, data_root=data_root,
                           resolution=resolution, console=shown)
    note = resized_note(rows)
    if note:
        shown.print(note, highlight=False, soft_wrap=True)
    shown.print(f"predicted {len(rows)} field(s) with {folder.run_id} -> {out} "
                f"({out / MANIFEST_CSV})", highlight=False, soft_wrap=True)
