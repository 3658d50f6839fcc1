"""The report's layout over the grid of 1, 5 and 10 methods and 1 and 5 channels (fabricated
runs with every section): in headless Chromium no block overlaps another, no text is clipped,
nothing runs past the page and no figure is shrunk; inside the figures (checked in Python when
they are drawn) no legend touches an axes and no text another; every figure takes the methods
in the leaderboard's rank order, each method in one colour; captions, names, planes, masks and
the speed table say what they show."""

from __future__ import annotations

import base64
import html
import io
import json
import multiprocessing
import re
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.leaderboard.test_board import CHANNELS
from tests.report.chromium import dump_doms, layout_check, need_chromium
from tests.report.fabricate import MASKED, METHODS, STOCHASTIC, make_method_runs
from vsbench.report import build_report
from vsbench.report.overlaps import layout_problems

GRID = [(m, c) for m in (1, 5, 10) for c in (1, 5)]
FIGURE = re.compile(r"<figure data-methods='([^']*)' data-colors='([^']*)'\s+"
                    r"data-problems='([^']*)'><img src=\"data:image/png;base64,([^\"]+)\" "
                    r"alt=\"([^\"]*)\">\s*<figcaption>(.*?)</figcaption>", re.S)
SECTION = re.compile(r"<section id=\"(board-\d+)\" data-methods='([^']*)'>")


def _make_report(root: Path, n_methods: int, n_channels: int) -> Path:
    channels = CHANNELS[:n_channels]
    make_method_runs(root / "results", root / "data", METHODS[:n_methods], channels,
                     planes=1 if n_channels == 1 else 3)
    return build_report(root / "results", root / "out", data_root=root / "data", n_fields=1)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """(methods, channels) -> the report's path. One channel: one brightfield plane. Built
    in two processes (the machine's two cores), the largest first."""
    roots = {key: tmp_path_factory.mktemp(f"grid{key[0]}x{key[1]}") for key in GRID}
    keys = sorted(GRID, key=lambda key: -key[0] * (key[1] + 2))
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {key: pool.submit(_make_report, roots[key], *key) for key in keys}
        return {key: futures[key].result() for key in GRID}


def figures(text: str) -> list[dict]:
    """Every figure of a page: methods, colours, problems, picture, alt text and caption."""
    found = []
    for methods, colors, problems, data, alt, caption in FIGURE.findall(text):
        found.append({"methods": json.loads(methods), "colors": json.loads(colors),
                      "problems": json.loads(problems), "alt": html.unescape(alt),
                      "caption": html.unescape(caption),
                      "image": Image.open(io.BytesIO(base64.b64decode(data)))})
    assert len(found) == text.count("<figure "), "a figure the pattern does not read"
    return found


def board_order(text: str) -> list[str]:
    [(_, methods)] = SECTION.findall(text)  # one leaderboard per grid report
    return json.loads(methods)


@pytest.mark.parametrize("size", GRID, ids=[f"{m}methods-{c}channels" for m, c in GRID])
def test_every_section_is_drawn_without_overlaps_in_rank_order(grid, size):
    n_methods, _ = size
    text = grid[size].read_text()
    order = board_order(text)
    assert order == list(METHODS[:n_methods])  # PCC falls along METHODS
    shown = figures(text)
    alts = [f["alt"] for f in shown]
    expected = {"MSE per channel", "SSIM per channel", "test field img00", "nuclei outlines",
                "feature scatter", "mAP per perturbation", "training loss curves"}
    if set(MASKED) & set(order):
        expected |= {"masks of mask-guided methods"}
    if set(STOCHASTIC) & set(order):  # a point mass has no calibration curve
        expected |= {"sample gallery", "calibration"}
    else:
        assert "calibration" not in alts
    assert expected <= set(alts), expected - set(alts)
    for figure in shown:
        assert figure["problems"] == [], (figure["alt"], figure["problems"])
        # the methods a figure shows, in the board's order (all of them where it shows all)
        assert figure["methods"] == [m for m in order if m in figure["methods"]], figure["alt"]
        if figure["alt"] in ("MSE per channel", "test field img00", "nuclei outlines",
                             "mAP per perturbation", "training loss curves"):
            assert figure["methods"] == order, figure["alt"]
        if figure["alt"] == "training loss curves":  # the runs logged a validation loss
            assert "the loss on the validation fields after each epoch" in figure["caption"]
        if figure["alt"] == "calibration":  # the samplers only, in rank order
            assert figure["methods"] == [m for m in order if m in STOCHASTIC]
    # one colour per method, the same in every figure that colours it; no two share one
    colors = {}
    for figure in shown:
        for method, color in zip(figure["methods"], figure["colors"], strict=False):
            assert colors.setdefault(method, color) == color, (method, figure["alt"])
    assert len(set(colors.values())) == len(colors)


def test_sections_name_the_method_they_show(grid):
    text = grid[5, 5].read_text()
    by_alt = {f["alt"]: f for f in figures(text)}
    scatter, samples = by_alt["feature scatter"], by_alt["sample gallery"]
    assert scatter["methods"] == ["unet"]
    assert scatter["caption"].startswith("unet (the best-ranked method): real against")
    # unet and dodnet keep one sample: the best-ranked stochastic method is shown, and named
    assert samples["methods"] == ["palette-threshold-local"]
    assert samples["caption"].startswith(
        "palette-threshold-local (ranked 2, the best-ranked method with samples)")
    masks = by_alt["masks of mask-guided methods"]
    assert masks["methods"] == ["palette-threshold-local", "palette"]
    assert "Method" not in masks["caption"]  # not the class name, the registered one
    # compact: one row of 1.1-inch cells per method (at 100 dpi), not every round of images
    assert masks["image"].height < 2 * 110 + 80


def test_captions_sit_with_their_own_tables(grid):
    text = grid[5, 5].read_text()
    order = [("instance tables", text.index("<h4>instance: f1</h4>")),
             ("instance caption", text.index("Rank by nuclei F1")),
             ("features tables", text.index("<h4>features: feature_r</h4>")),
             ("features caption", text.index("Rank by Average FEATURE_R")),
             ("profiles tables", text.index("<h4>profiles: map</h4>")),
             ("profiles caption", text.index("Rank by activity MAP")),
             ("posterior tables", text.index("<h4>posterior: crps</h4>"))]
    assert [name for name, _ in sorted(order, key=lambda item: item[1])] == [
        name for name, _ in order]


def test_planes_are_named_only_where_there_are_several(grid):
    assert "middle plane" not in grid[5, 1].read_text()
    assert "(its middle\nplane of 3)" in grid[5, 5].read_text()


def test_speed_table_says_reused_training_and_sampling_time(grid):
    text = grid[5, 5].read_text()
    speed = text[text.index("<h3>Speed</h3>"):]
    rows = {re.search(r"<td>([^<]+)</td>", row)[1]: row
            for row in re.findall(r"<tr><td>.*?</tr>", speed, re.S)}
    donor = re.search(r"<td>unet</td><td>0</td><td>([^<]+)</td>", speed)[1]
    assert "<td>1.0 (reused, unet&#39;s)</td>" in rows["palette-threshold-local"]
    assert "reused" not in rows["unet"] and "Reused: the run started from" in speed
    assert f"palette-threshold-local seed 0 reused unet/{donor}." in speed
    assert "<th>posterior sampling (s / image)</th>" in speed
    assert "<td>0.1350</td>" in rows["palette-threshold-local"]  # 0.125 + 0.01 x rank 1
    assert rows["unet"].count("<td>-</td>") == 1  # deterministic: no sampling time
    one = grid[1, 1].read_text()  # no run sampled, none reused: no such column or note
    assert "posterior sampling" not in one and "Reused:" not in one


def test_figures_scale_with_channels_and_methods(grid):
    def size(key, alt):
        [figure] = [f for f in figures(grid[key].read_text()) if f["alt"] == alt]
        return figure["image"].size

    for methods in (1, 5, 10):  # more channels: wider gallery and charts
        assert size((methods, 5), "test field img00")[0] > 1.8 * size((methods, 1),
                                                                       "test field img00")[0]
        assert size((methods, 5), "MSE per channel")[0] > size((methods, 1),
                                                                "MSE per channel")[0]
    for channels in (1, 5):  # more methods: a taller gallery, wider bar groups
        heights = [size((m, channels), "test field img00")[1] for m in (1, 5, 10)]
        assert heights[0] < heights[1] < heights[2]
        widths = [size((m, channels), "MSE per channel")[0] for m in (1, 5, 10)]
        assert widths[0] < widths[1] <= widths[2]
    # a one-channel, one-method chart is small, not a third of the page
    assert size((1, 1), "MSE per channel")[0] < 450
    assert size((1, 1), "test field img00")[0] < 450


def test_reports_render_in_chromium_without_overlap_clipping_or_shrinking(grid, tmp_path):
    need_chromium()
    # the check's own test: a copy of a report with a box over another, clipped text, a line
    # past the page, and a very wide table (which must scroll, not count as any of these)
    broken = tmp_path / "broken.html"
    wide = "<table><tr>" + "<td>wide cell</td>" * 80 + "</tr></table>"
    broken.write_text(grid[1, 1].read_text().replace("<h1>vsbench report</h1>", (
        "<h1>vsbench report</h1>\n"
        '<p style="margin-top:-40px">a paragraph over the title</p>\n'
        '<h4 style="width:40px;overflow:hidden;white-space:nowrap">a clipped heading</h4>\n'
        f'<p style="white-space:nowrap">{"past the page " * 40}</p>\n{wide}')))
    pages = [grid[key] for key in GRID] + [broken]
    doms = dump_doms(pages)
    for key, dom in zip(GRID + ["broken"], doms):
        counts, found = layout_check(dom)
        if key == "broken":
            assert any("a paragraph over the title" in o for o in found["overlaps"])
            assert any("a clipped heading" in c for c in found["clipped"])
            # its box is the page's width; its text runs past it, and the page scrolls
            assert any("past the page" in c for c in found["clipped"])
            assert found["outside"] == ["the page scrolls sideways"]
            assert not any("wide cell" in x for lst in found.values() for x in lst)
            continue
        assert counts["blocks"] > 50
        assert (counts["overlaps"], counts["clipped"], counts["outside"]) == (0, 0, 0), found
        total = dom.count("<img ")
        check = re.search(r'id="image-check" data-total="(\d+)" data-loaded="(\d+)"', dom)
        assert check and int(check[1]) == int(check[2]) == total
        errors = re.search(r'<div id="js-errors" data-count="(\d+)">', dom)
        assert errors and errors[1] == "0"
        page = counts["page-width"]
        assert 1000 <= page <= 1200
        for img in re.findall(r"<img [^>]*>", dom):
            natural = int(re.search(r'data-natural-width="(\d+)"', img)[1])
            rendered = int(re.search(r'data-rendered-width="(\d+)"', img)[1])
            # every figure at its drawn size (its text as legible as drawn), inside the page
            assert rendered <= page and abs(rendered - natural) <= 1, (key, natural, rendered)


def test_layout_problems_finds_legends_over_bars_and_spilling_labels():
    from vsbench.figures import pyplot
    from vsbench.report.charts import legend_outside

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.bar([0, 1], [1, 1], label="a")
    ax.bar([0.4, 1.4], [1, 1], label="b")
    ax.legend(loc="center")
    problems = layout_problems(fig)
    assert any("legend of axes 0 over axes 0" in p for p in problems)
    assert any("over a plotted Rectangle" in p for p in problems)
    ax.get_legend().remove()
    legend_outside(ax, ["a", "b"])
    assert layout_problems(fig) == []
    plt.close(fig)
    # the old gallery: a rotated row label (on the first channel's column) longer than its
    # row runs into the brightfield column's cells of the rows above and below, and into the
    # next row's label
    fig, axes = plt.subplots(3, 2, figsize=(2, 3))
    for a in axes.flat:
        a.imshow(np.zeros((4, 4)))
    for r in (1, 2):
        axes[r, 1].set_ylabel("a rather long method name (seed 0)", fontsize=8)
    problems = layout_problems(fig)
    assert any("over axes 0" in p for p in problems)  # axes[0, 0]
    assert any("over text 'a rather long" in p for p in problems)
    plt.close(fig)
    # the report's gallery: row labels wrapped, horizontal, inside their cell
    from vsbench.figures import field_grid

    arrays = {"sample_ids": np.array(["f"]), "brightfield": np.zeros((1, 1, 8, 8)),
              "target": np.zeros((1, 2, 8, 8)), "prediction": np.zeros((1, 2, 8, 8))}
    fig = field_grid("f", arrays, {"palette-threshold-local (seed 0)": arrays,
                                   "a-very-long-method-name-x (seed 1)": arrays}, ["A", "B"])
    assert layout_problems(fig) == []
    fig.axes[4].texts[0].set_text("x" * 60)  # a word too long to wrap: out of its cell
    assert any("outside its cell" in p for p in layout_problems(fig))
    plt.close(fig)
