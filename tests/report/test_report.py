"""``vsbench report``: the page's content from fabricated run folders, its adaptation to the
channel set, and that it renders in headless Chromium with every image and no script error."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from tests.leaderboard.test_board import CHANNELS, make_run
from tests.report.chromium import dump_doms, layout_check
from vsbench.report import REPORT_FILE, build_report

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"')


def add_artifacts(folder, channels, n_fields=3, size=24, predictions=True, loss=(0.5, 0.3)):
    """What a real run writes besides metrics: the preview arrays, a preview picture and the
    training log."""
    rng = np.random.default_rng(len(str(folder)))
    if predictions:
        np.savez_compressed(
            folder.path / "predictions.npz",
            brightfield=rng.random((n_fields, 3, size, size)).astype(np.float16),
            prediction=rng.random((n_fields, len(channels), size, size)).astype(np.float16),
            target=rng.random((n_fields, len(channels), size, size)).astype(np.float16),
            sample_ids=np.array([f"img{i:02d}" for i in range(n_fields)]),
            channels=np.array(channels))
    buffer = io.BytesIO()
    Image.fromarray((rng.random((20, 30)) * 255).astype(np.uint8)).save(buffer, format="PNG")
    (folder.path / "predictions.png").write_bytes(buffer.getvalue())
    lines = ["epoch,loss,seconds"] + [f"{i + 1},{v},1.0" for i, v in enumerate(loss)]
    (folder.path / "train_log.csv").write_text("\n".join(lines) + "\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Two leaderboards: the five Cell Painting channels (three methods, one without saved
    predictions, one with masks) and a two-channel dataset."""
    root = tmp_path_factory.mktemp("report")
    results = root / "results"
    unet = [make_run(results, "unet", seed, 0.8, mse=0.05) for seed in (0, 1)]
    for folder in unet:
        add_artifacts(folder, CHANNELS)
    # a mask-guided run writes masks.png and masks.npz (vsbench.diffusion.guided): the page
    # shows its picture; a run with only the arrays gets them drawn (the last round's masks)
    dodnet = make_run(results, "dodnet", 0, 0.7, mse=0.05)
    add_artifacts(dodnet, CHANNELS)
    png = add_artifacts(dodnet, CHANNELS)  # same folder: its masks.png is a known picture
    (dodnet.path / "masks.png").write_bytes(png)
    by_round = np.random.default_rng(0).random((2, 3, 5, 16, 16)) > 0.5
    for folder in (dodnet, unet[1]):
        np.savez_compressed(folder.path / "masks.npz", masks=by_round[:, -1],
                            masks_by_round=by_round, sample_ids=np.array(["img00", "img01"]),
                            channels=np.array(CHANNELS))
    old = make_run(results, "palette", 0, 0.6, mse=0.05)
    old_png = add_artifacts(old, CHANNELS, predictions=False)
    (old.path / "masks.png").write_bytes(png)  # only the picture: the page shows it as is
    (old.path / "predictions.npz").write_bytes(b"PK\x03\x04 cut short")  # unreadable
    two = ("Hoechst", "Actin")
    for method in ("unet", "dodnet"):
        folder = make_run(results, method, 0, 0.5, split="s2", channels=two,
                          mse=0.05)
        add_artifacts(folder, two, n_fields=2)
    path = build_report(results, root / "out", data_root=root / "no-data", n_fields=3)
    return path, old_png, png


def _images(text):
    return [(Image.open(io.BytesIO(base64.b64decode(data))), alt) for data, alt in
            IMG.findall(text)]


def test_report_shows_every_part(report):
    path, old_png, png = report
    assert path.name == REPORT_FILE
    text = path.read_text()
    images = _images(text)
    alts = [alt for _, alt in images]
    assert len(images) == text.count("<img ")  # every picture is an embedded PNG
    # five-channel board: 4 bar charts, 3 fields, palette's own picture, one figure of the
    # masks.npz of unet (seed 1) and dodnet, palette's masks.png (it has no arrays), loss;
    # two-channel board: 4 bar charts, 2 fields (the runs saved two), loss
    assert alts.count("MSE per channel") == 2 and alts.count("SSIM per channel") == 2
    assert sum(a.startswith("test field") for a in alts) == 3 + 2
    assert alts.count("palette predictions") == 1
    assert [a for a in alts if "masks" in a] == ["masks of mask-guided methods",
                                                 "masks of palette seed 0"]
    assert "unet seed 1 (" in text and "dodnet seed 0 (" in text
    assert png in [base64.b64decode(d) for d, alt in IMG.findall(text) if alt.startswith("masks")]
    assert alts.count("training loss curves") == 2
    assert len(images) == 8 + 5 + 1 + 2 + 2
    assert old_png in [base64.b64decode(d) for d, _ in IMG.findall(text)]
    # leaderboard: one table per metric with spread, intervals, ranks and p-values
    assert text.count('class="dataframe leaderboard"') == 8
    assert "<b>0.810 ± 0.000</b><br><small>[" in text and "hierarchical bootstrap test" in text
    assert "Channels: DNA, ER, RNA, AGP, Mito." in text and "Channels: Hoechst, Actin." in text
    # speed: one row per run
    assert text.count("<td>unet</td><td>0</td>") == 2 and "<td>palette</td>" in text


def test_gallery_adapts_to_the_channel_set(report):
    path, _, _ = report
    fields = [(img, alt) for img, alt in _images(path.read_text()) if alt.startswith("test field")]
    five, two = fields[:3], fields[3:]
    # rows: ground truth, unet, dodnet (palette saved no arrays); columns: brightfield + channels
    # (a label column of 1.3 inches, 1.4-inch cells, 0.3 inches of titles)
    for img, _ in five:
        assert img.width / img.height == pytest.approx((1.3 + 6 * 1.4) / (3 * 1.4 + 0.3),
                                                       rel=0.15)
    for img, _ in two:
        assert img.width / img.height == pytest.approx((1.3 + 3 * 1.4) / (3 * 1.4 + 0.3),
                                                       rel=0.15)


def test_report_renders_in_headless_chromium(report):
    path, _, _ = report
    [dom] = dump_doms([path])
    total = path.read_text().count("<img ")
    check = re.search(r'<p id="image-check" data-total="(-?\d+)" data-loaded="(-?\d+)"', dom)
    assert check, "the page's load handler did not run"
    assert (int(check[1]), int(check[2])) == (total, total)
    widths = [int(w) for w in re.findall(r'data-natural-width="(\d+)"', dom)]
    assert len(widths) == total and min(widths) > 0
    errors = re.search(r'<div id="js-errors" data-count="(\d+)">([^<]*)', dom)
    assert errors and errors[1] == "0", errors[2] if errors else dom[-2000:]
    counts, found = layout_check(dom)
    assert (counts["overlaps"], counts["clipped"], counts["outside"]) == (0, 0, 0), found
