"""``vsbench predict``: apply a completed run's trained method to new brightfield fields."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vsbench.cli import checks
from vsbench.cli.common import DATA_ROOT_HELP, RESULTS_HELP, console


_Run = Annotated[str, typer.Argument(help="The completed run: its folder "
                                     "(RESULTS/runs/DATASET/METHOD/RUN_ID) or its run id.")]
_Out = Annotated[Path, typer.Option("--out", "-o", help="Folder to write the predictions and "
                                    "manifest.csv / manifest.json into (created; a folder "
                                    "holding earlier predictions needs --overwrite).")]
_Dataset = Annotated[Optional[str], typer.Option("--dataset", "-d", help="Predict the fields "
                                                 "of a registered dataset (see `vsbench "
                                                 "datasets`).")]
_Input = Annotated[Optional[Path], typer.Option("--input", "-i", help="Predict new fields: a "
                                                "folder of image files (one multi-plane TIFF "
                                                "per field) or an OME-Zarr plate (.zarr).")]
_Split = Annotated[str, typer.Option("--split", help="With --dataset: test, train or all.")]
_Format = Annotated[str, typer.Option("--format", help="ome-tiff (one file per field) or "
                                      "ome-zarr (one HCS plate).")]
_Device = Annotated[str, typer.Option("--device", help="cpu or cuda.")]
_Results = Annotated[Path, typer.Option("--results", help=RESULTS_HELP + " Where a run id is "
                                        "looked up.")]
_DataRoot = Annotated[Optional[Path], typer.Option("--data-root", help=DATA_ROOT_HELP + " "
                                                   "Default: the one the run recorded.")]
_Resolution = Annotated[str, typer.Option("--resolution", help="run: resize each field to the "
                                          "run's evaluation size, as its test fields were (the "
                                          "scale the model learned, where the new fields have "
                                          "the training data's field size); input: keep "
                                          "--input fields at their own size, predicted in "
                                          "tiles of the training size (for fields of the "
                                          "training data's pixel size).")]
_Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace the predictions an "
                                          "earlier `vsbench predict` wrote into --out (other "
                                          "files there are never deleted: such a folder is "
                                          "refused).")]


def predict(run: _Run, out: _Out, dataset: _Dataset = None, input_path: _Input = None,
            split: _Split = "test", fmt: _Format = "ome-tiff", device: _Device = "cpu",
            results: _Results = Path("results"), data_root: _DataRoot = None,
            resolution: _Resolution = "run", overwrite: _Overwrite = False) -> None:
    """Predict fluorescence for new brightfield fields with a completed run's trained method.

    Each field is normalised as the run's dataset was, resized to the run's evaluation size
    (said when it is; --resolution input keeps it at its own size) and predicted whole, in
    blended tiles of the training size; the output is [C, H, W] on
    [0, 1] with the run's channel names, one OME-TIFF per field (or one OME-Zarr plate),
    listed in manifest.csv with the run id and config hash.
    """
    from vsbench.predict.outputs import MANIFEST_CSV, staged

    _check_options(out, fmt, overwrite, input_path, results, data_root, device)
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


def _check_options(out: Path, fmt: str, overwrite: bool, input_path: Path | None,
                   results: Path, data_root: Path | None, device: str) -> None:
    """Every option checked before the run is looked up (in the order the errors are met)."""
    from vsbench.predict.outputs import check_format, check_out

    check_format(fmt)
    checks.output_folder(out, "--out")
    check_out(out, overwrite)
    if input_path is not None:
        checks.input_path(input_path, "--input")
    checks.optional_input_folder(results, "--results")
    if data_root is not None:
        checks.input_folder(data_root, "--data-root", "data root")
    checks.device(device, allowed=("cpu", "cuda", "cuda:N"))
