"""Headless Chromium for the report tests: the DOM of pages after their scripts ran (several
pages at once, one browser process each, in parallel) and a screenshot."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")
WINDOW = (1280, 1000)  # a laptop's browser window: the page is 1200 px wide inside it


def chromium() -> str | None:
    """The Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def need_chromium() -> str:
    """The Chromium executable; the test is skipped without one."""
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
    return browser


def dump_doms(pages: list[Path], timeout: float = 120) -> list[str]:
    """Each page's DOM after its load handlers ran (``--dump-dom``), rendered in parallel."""
    browser = need_chromium()
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for i, page in enumerate(pages):
            profile = Path(tmp) / f"profile{i}"  # a fresh profile each: no shared state
            procs.append(subprocess.Popen(
                [browser, *FLAGS, f"--user-data-dir={profile}",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}", "--virtual-time-budget=10000",
                 "--dump-dom", Path(page).as_uri()],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        doms = []
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0 and "</html>" in out, err[-2000:]
            doms.append(out)
    return doms


def screenshot(page: Path, png: Path, height: int = 6000) -> None:
    """A PNG of the top ``height`` pixels of ``page`` at the test window's width."""
    browser = need_chromium()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}",
                        f"--window-size={WINDOW[0]},{height}", f"--screenshot={png}",
                        Path(page).as_uri()], capture_output=True, timeout=120, check=True)


def layout_check(dom: str) -> tuple[dict[str, int], dict]:
    """The counts and the lists the page's layout check wrote into ``#layout-check``."""
    match = re.search(r'<div id="layout-check"([^>]*)>([^<]*)</div>', dom)
    assert match, "the page's layout check did not run"
    counts = {k: int(v) for k, v in re.findall(r'data-([a-z-]+)="(-?\d+)"', match[1])}
    return counts, json.loads(html.unescape(match[2]))
