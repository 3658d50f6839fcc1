"""The report's tier sections come from the tier registry: every tier a leaderboard's runs have
gets one section (its board, its caption, the figures its TierSpec declares), the built-in ones
and a plugin's alike, in the registry's order; a tier's failing figures are named on the page,
and the tiers no run has are named once, with how to score them."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import vsbench.plugins as plugins
from tests.leaderboard.test_board import CHANNELS, N_IMAGES, make_run
from tests.report.fabricate import METHODS, make_method_runs
from vsbench import TierSpec, hookimpl
from vsbench.layout import METRICS_FILE
from vsbench.plugins import Origin, build_registry
from vsbench.report import build_report
from vsbench.tiers.registry import built_in

BRIGHTNESS_FILE = "per_image_brightness.csv"
CALLS: list[dict] = []  # what the plugin's figures were given


def _read(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(Path(folder) / BRIGHTNESS_FILE, dtype={"sample_id": str})
    out = frame.set_index("sample_id")[["bright_error"]]
    out.columns = pd.MultiIndex.from_tuples([("Average", "bright_error")])
    return out


def _brightness_figures(board, runs, data_root, palette) -> list:
    """One bar per method of the pixel board, in its rank order and the page's colours."""
    from vsbench.report.images import figure_image, pyplot

    CALLS.append({"methods": list(board.table.index), "runs": runs, "data_root": data_root})
    labels = list(board.table.index)
    means = runs.groupby("label")["value"].mean()
    fig, ax = pyplot().subplots(figsize=(3, 2))
    ax.bar(range(len(labels)), [means.get(label, np.nan) for label in labels],
           color=palette.colors(labels))
    return [figure_image(fig, "brightness error", "Mean brightness error of each method.",
                         labels, palette.colors(labels))]


def _failing_figures(board, runs, data_root, palette) -> list:
    raise RuntimeError("the plugin's own bug")


def _spec(name: str, figures) -> TierSpec:
    return TierSpec(
        name=name, description=f"{name}: mean intensity error", metrics=("bright_error",),
        higher_is_better={"bright_error": False}, default_sort=("Average", "bright_error"),
        unit="test images", files=(BRIGHTNESS_FILE,), record_key="tiers", read_units=_read,
        scored=lambda summary: "mean_error" in summary,
        expected_units=lambda record: int(record.n_test_images), figures=figures)


class TierPlugin:
    @hookimpl
    def vsbench_tiers(self):
        return [_spec("brightness", _brightness_figures), _spec("dimness", _failing_figures)]


@pytest.fixture
def with_plugin(monkeypatch):
    registry = build_registry(entry_points=[],
                              extra_plugins=[(TierPlugin(), Origin("t", "tests", "tests", "0"))])
    monkeypatch.setattr(plugins, "default_registry", lambda: registry)
    CALLS.clear()
    return registry


def _add_brightness(folder: Path, error: float) -> None:
    """The plugin tiers' per-image table and their summaries (a version 1 ``tiers``)."""
    values = error + np.linspace(-0.01, 0.01, N_IMAGES)
    pd.DataFrame({"sample_id": [f"img{i:02d}" for i in range(N_IMAGES)],
                  "bright_error": values}).to_csv(folder / BRIGHTNESS_FILE, index=False)
    metrics = json.loads((folder / METRICS_FILE).read_text())
    summary = {"version": 1, "mean_error": float(values.mean())}
    metrics["tiers"] = {"brightness": summary, "dimness": summary}
    (folder / METRICS_FILE).write_text(json.dumps(metrics))


def _headings(text: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r"<h3>([^<]*)</h3>", text)]


def test_every_tier_a_board_has_gets_one_section_a_plugins_included(with_plugin, tmp_path):
    methods = METHODS[:2]
    make_method_runs(tmp_path / "results", tmp_path / "data", methods, CHANNELS[:1], planes=1)
    for k, metrics in enumerate(sorted((tmp_path / "results").rglob(METRICS_FILE))):
        _add_brightness(metrics.parent, 0.05 + 0.02 * k)
    path = build_report(tmp_path / "results", tmp_path / "out", data_root=tmp_path / "data",
                        n_fields=1)
    text = path.read_text()
    tiers = [h for h in _headings(text) if h.endswith(" tier")]
    assert tiers == ["Instance tier", "Features tier", "Profiles tier", "Posterior tier",
                     "Brightness tier", "Dimness tier"]  # the registry's order
    # each section: its description, then its tables, its caption, its figures
    start = text.index("<h3>Brightness tier</h3>")
    section = text[start:text.index("<h3>Dimness tier</h3>")]
    assert '<p class="note">Brightness: mean intensity error.</p>' in section
    assert "<h4>brightness: bright_error</h4>" in section
    assert "Rank by Average BRIGHT_ERROR" in section
    assert 'alt="brightness error"' in section
    # the figure was given the pixel board (rank order), its rows of the tier, the data root
    [call] = CALLS
    assert call["methods"] == list(methods) and call["data_root"] == tmp_path / "data"
    assert set(call["runs"]["metric"]) == {"bright_error"} and len(call["runs"]) == 2
    # the figure's methods in the board's order, in the page's colours
    figure = re.search(r"<figure data-methods='([^']*)' data-colors='([^']*)'\s+"
                       r"data-problems='\[\]'><img [^>]*alt=\"brightness error\"", section)
    assert figure and json.loads(figure[1]) == list(methods)
    outlines = re.search(r"<figure data-methods='[^']*' data-colors='([^']*)'\s+"
                         r"data-problems='[^']*'><img [^>]*alt=\"nuclei outlines\"", text)
    assert json.loads(figure[2]) == json.loads(outlines[1])
    # a tier whose figures fail: its board, and the failure named, not the report ended
    dim = text[text.index("<h3>Dimness tier</h3>"):]
    assert "<h4>dimness: bright_error</h4>" in dim
    assert "The dimness tier&#39;s figures could not be drawn: RuntimeError: the plugin&#39;s " \
           "own bug" in dim
    # every built-in tier's figures, each in its own tier's section
    for tier, alts in (("Instance", ["nuclei outlines"]), ("Features", ["feature scatter"]),
                       ("Profiles", ["mAP per perturbation"]),
                       ("Posterior", ["calibration", "sample gallery"])):
        begin = text.index(f"<h3>{tier} tier</h3>")
        end = text.index("<h3>", begin + 4)
        assert re.findall(r'alt="([^"]*)"', text[begin:end]) == alts, tier
    assert "No run of this leaderboard has the" not in text


def test_tiers_no_run_has_are_named_once(with_plugin, tmp_path):
    make_run(tmp_path / "results", "unet", 0, 0.8)
    text = build_report(tmp_path / "results", tmp_path / "out",
                        data_root=tmp_path / "no-data").read_text()
    assert not [h for h in _headings(text) if h.endswith(" tier")]
    names = ", ".join(name for name in built_in() if name != "pixel")
    assert (f"No run of this leaderboard has the\n{names}, brightness, dimness tiers (score one "
            "with\n<code>vsbench evaluate --tier NAME RUN...</code>") in text


def test_the_tier_modules_declare_their_figures_and_import_no_matplotlib():
    declared = {name: spec.figures is not None for name, spec in built_in().items()}
    assert declared == {"pixel": False, "instance": True, "features": True, "profiles": True,
                        "posterior": True}  # pixel: the section's own charts
    import subprocess
    import sys

    code = ("import sys, vsbench.tiers.registry as r; r.built_in(); "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
