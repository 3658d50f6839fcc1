"""``vsbench report``: the sections of the page and the page itself.

For every leaderboard (runs on the same data, split and settings): the table with its
uncertainty, per-channel bar charts with 95% bootstrap confidence intervals
(:mod:`~vsbench.report.charts`), a gallery of the same test fields predicted by every method
beside the ground truth (from each run's ``predictions.npz``), the masks mask-guided methods
used (``masks.png`` / ``masks.npz``), a section per tier that its runs have (its board and its
figures: :mod:`~vsbench.report.tiers`, over the tier registry), the training loss of every
run and its speed. The figure grids are drawn by :mod:`vsbench.figures`; the page is the
Jinja template ``templates/report.html.j2``. Nothing here knows the channel set or the tiers:
they come from the runs and the registry.
"""

from __future__ import annotations

import html
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from vsbench import atomic
from vsbench.errors import ReportError, ResultsError
from vsbench.figures import field_grid, mask_rows
from vsbench.layout import MASKS_NPZ, MASKS_PNG, PREDICTIONS_FILE, PREVIEW_FILE, REPORT_FILE
from vsbench.leaderboard import (Leaderboard, build_leaderboards, formatted, load_runs,
                                 mark_stale)
from vsbench.protocol import AVERAGE, METRICS
from vsbench.leaderboard.render import guidance_html
from vsbench.report.charts import bar_charts, loss_curves
from vsbench.report.images import Image, figure_image, text_png, uri
from vsbench.report.methods import Palette, ranked_runs
from vsbench.report.tiers import load_board_tiers, tier_sections
from vsbench.store import RunFolder

TEMPLATE = "report.html.j2"  # in vsbench/report/templates/ (package data)
MASK_FILES = (MASKS_PNG, MASKS_NPZ)  # written by mask-guided methods into their run folder


def build_report(results_dir: Path, out_dir: Path, data_root: Path = Path("datasets"),
                 n_fields: int = 3) -> Path:
    """Write ``out_dir/report.html`` about every completed run under ``results_dir`` and return
    its path. ``n_fields`` test fields are shown per leaderboard in the gallery."""
    runs, warnings = load_runs(results_dir)
    if runs.empty:
        raise ReportError(f"nothing to report: no completed runs under {results_dir}/runs. "
                          "Make some with `vsbench run --method unet` or `vsbench sweep`.")
    boards = mark_stale(build_leaderboards(runs), data_root)
    warnings += [note for board in boards for note in board.notes]
    palette = Palette(label for board in boards for label in board.table.index)
    sections = [_section(board, i, n_fields, palette) for i, board in enumerate(boards)]
    tier_runs = load_board_tiers(results_dir)
    for section, board in zip(sections, boards):
        section["tiers"], section["missing_tiers"] = tier_sections(board, tier_runs, data_root,
                                                                   palette)
    page = _environment().get_template(TEMPLATE).render(
        sections=sections, warnings=warnings, results_dir=str(results_dir),
        n_runs=int(runs["folder"].nunique()), generated=time.strftime("%Y-%m-%d %H:%M"))
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"Cannot create the report folder {out_dir}: {exc.strerror}; pass "
                          "a writable folder with --out.") from None
    path = out_dir / REPORT_FILE
    atomic.write_text(path, page)
    return path


def _environment():
    from jinja2 import Environment, PackageLoader

    return Environment(loader=PackageLoader("vsbench.report", "templates"), autoescape=True)


def _section(board: Leaderboard, index: int, n_fields: int, palette: Palette) -> dict:
    """Everything the page shows about one leaderboard, its methods in rank order."""
    methods = list(board.table.index)  # ranked order
    # Rows are configurations (labels); the per-run helpers below name them by that label.
    runs = ranked_runs(board)
    gallery, previews, planes = _gallery(board, runs, methods, n_fields)
    return {
        "anchor": f"board-{index}", "title": board.title(), "stale": board.stale,
        "channels": [c for c in board.channels() if c != AVERAGE], "methods": methods,
        "leaderboard": _leaderboard_tables(board), "caption": board.caption(),
        "guidance": guidance_html(board),
        "charts": bar_charts(board, palette),
        "gallery": gallery, "previews": previews, "planes": planes,
        "masks": _masks(runs),
        "loss": loss_curves(runs, palette),
        "speed": [_speed_row(Path(f), label) for f, label in zip(runs["folder"],
                                                                 runs["method"])],
    }


def _leaderboard_tables(board: Leaderboard) -> list[dict]:
    """The leaderboard as one HTML table per metric (channels as columns), which fits a page
    where one table of every channel and metric would not."""
    tables = []
    for metric in [m for m in METRICS if any(c[1] == m for c in board.metric_columns())]:
        frame = formatted(board.select(metrics=[metric]), "html",
                          ranked=metric == board.sort_by[1])
        frame.index = [html.escape(str(m)) for m in frame.index]
        frame.columns = [c if c else m for c, m in frame.columns]
        frame = frame.reset_index(names="method")
        tables.append({"metric": metric.upper(),
                       "html": frame.to_html(escape=False, index=False, border=0,
                                             classes="leaderboard")})
    return tables


def _load_predictions(folder: Path) -> dict | None:
    try:
        with np.load(folder / PREDICTIONS_FILE) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    needed = {"brightfield", "prediction", "target", "sample_ids"}
    return arrays if needed <= set(arrays) else None


def _gallery(board: Leaderboard, runs: pd.DataFrame, methods: list[str], n_fields: int
             ) -> tuple[list[Image], list[Image], int]:
    """Figures of the same test fields: ground truth and every method's prediction (rows in
    rank order), one column per channel. Methods whose runs have no ``predictions.npz`` get
    their ``predictions.png`` instead (the second list). Last: the brightfield's number of
    planes (0: no figure)."""
    chosen, shown, fallbacks = {}, [], []
    for method in methods:
        folders = [Path(f) for f in runs[runs["method"] == method]["folder"]]
        for folder in folders:
            arrays = _load_predictions(folder)
            if arrays is not None:
                seed = runs[runs["folder"] == str(folder)]["seed"].iloc[0]
                chosen[f"{method} (seed {seed})"] = arrays
                shown.append(method)
                break
        else:
            for folder in folders[:1]:
                if (folder / PREVIEW_FILE).is_file():
                    fallbacks.append(Image(
                        uri((folder / PREVIEW_FILE).read_bytes()), f"{method} predictions",
                        f"{method} ({folder.name}): no readable predictions.npz in its run "
                        "folder, so its own preview picture is shown.", (method,)))
    if not chosen:
        return [], fallbacks, 0
    first = next(iter(chosen.values()))
    common = [str(s) for s in first["sample_ids"]
              if all(str(s) in set(map(str, a["sample_ids"])) for a in chosen.values())]
    channels = [str(c) for c in first.get("channels", board.channels()[:-1])]
    figures = [figure_image(field_grid(sample_id, first, chosen, channels),
                            f"test field {sample_id}",
                            f"Test field {sample_id}: ground truth (top) and each method's "
                            "prediction, in rank order.", shown)
               for sample_id in common[:n_fields]]
    return figures, fallbacks, int(first["brightfield"].shape[1])


def _masks(runs: pd.DataFrame) -> list[Image]:
    """The masks of the section's mask-guided methods, compactly: one figure with a row per
    method (its lowest-seed run that kept masks, rank order), the masks behind the final
    prediction of its first preview image (``masks.npz``'s ``masks``), named by the method's
    registered name. A run with only ``masks.png`` gets that picture, one with unreadable
    arrays a line saying so."""
    rows, shown, notes, images, channels = {}, [], [], [], []
    for method, group in runs.groupby("method", sort=False):
        for row in group.itertuples():
            folder = Path(row.folder)
            png, npz = folder / MASK_FILES[0], folder / MASK_FILES[1]
            label = f"{method} seed {row.seed}"
            if npz.is_file():
                try:
                    with np.load(npz) as data:
                        masks = np.asarray(data["masks"], dtype=np.float32)
                        run_channels = ([str(c) for c in data["channels"]]
                                        if "channels" in data.files else [])
                        rounds = (data["masks_by_round"].shape[1]
                                  if "masks_by_round" in data.files else None)
                        first_id = (str(data["sample_ids"][0])
                                    if "sample_ids" in data.files else "the first")
                except (OSError, ValueError, KeyError, IndexError, EOFError,
                        zipfile.BadZipFile) as exc:
                    images.append(Image(text_png(f"{label}: {npz.name} unreadable: {exc}"),
                                        f"unreadable masks of {label}",
                                        f"{label} ({folder.name}): {npz.name} is unreadable.",
                                        (method,)))
                    break
                while masks.ndim > 3:  # [N, C, H, W]: the first preview image
                    masks = masks[0]
                rows[label], channels = masks.reshape((-1,) + masks.shape[-2:]), \
                    run_channels or _run_channels(folder)
                shown.append(method)
                notes.append(f"{label} ({folder.name}, image {first_id}"
                             + (f", the last of {rounds} guidance rounds" if rounds else "")
                             + ")")
                break
            if png.is_file():
                images.append(Image(uri(png.read_bytes()), f"masks of {label}",
                                    f"Masks used by {label} ({folder.name}/{png.name}, the "
                                    "method's own picture).", (method,)))
                break
    if rows:
        images.insert(0, figure_image(
            mask_rows(rows, channels), "masks of mask-guided methods",
            "Masks behind each mask-guided method's final prediction, in rank order: "
            + "; ".join(notes) + f". Every round's masks: {MASK_FILES[1]} and {MASK_FILES[0]} "
            "in the run folder.", shown))
    return images


def _run_channels(folder: Path) -> list[str]:
    try:
        return list(RunFolder(folder).read_metrics().channels)
    except ResultsError:
        return []


def _speed_row(folder: Path, label: str) -> dict:
    """One run's row of the speed table. A run that reused another run's training (shared
    training: ``config.json``'s ``training.reused``) records the donor's training seconds;
    the row says so. Posterior sampling: seconds per test image where the tier recorded them."""
    run = RunFolder(folder)
    metrics = run.read_metrics()
    try:
        config = run.read_config()
        device, epochs = config.device, config.run.get("epochs", "-")
        reused = ((config.extra.get("training") or {}).get("reused")
                  if isinstance(config.extra.get("training"), dict) else None)
    except ResultsError:
        device, epochs, reused = "-", "-", None
    per_image = metrics.predict_seconds_per_image
    sampling = ((metrics.posterior or {}).get("seconds") or {})
    train = "-" if metrics.train_seconds is None else f"{metrics.train_seconds:.1f}"
    donor = None
    if isinstance(reused, dict) and metrics.train_seconds is not None:
        donor = f"{reused.get('method', '?')}/{reused.get('run', '?')}"
        train = f"{train} (reused, {reused.get('method', '?')}'s)"  # the run: in the note
    return {"method": label, "seed": metrics.seed, "run": folder.name,
            "device": device, "epochs": epochs, "train_seconds": train,
            "reused": donor,
            "predict_seconds": f"{per_image:.4f}" if per_image is not None else "-",
            "sampling_seconds": (f"{sampling['per_image']:.4f}"
                                 if isinstance(sampling.get("per_image"), (int, float))
                                 else "-"),
            "n_test_images": metrics.n_test_images}
