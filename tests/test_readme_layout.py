"""The README's Layout section names every package once, and every module of the top-level
package, so that a newcomer finds a thing from it (a new package or module that it misses
fails here)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Layout"):]
    return section[section.index("```\n") + 4:section.index("\n```", section.index("```\n"))]


def listed_folders(block: str) -> list[str]:
    """The folders a Layout line starts with (``vsbench/engine/``, ``methods/``)."""
    return [m.group(1) for m in re.finditer(r"^(\S+/)\s", block, flags=re.M)]


def test_every_package_is_listed_once():
    packages = sorted(f"{p.parent.relative_to(ROOT).as_posix()}/"
                      for p in (ROOT / "vsbench").rglob("__init__.py")
                      if "templates" not in p.parts)
    listed = listed_folders(layout_block())
    assert sorted(set(listed)) == sorted(listed), f"listed twice: {listed}"
    subpackages = {p for p in packages if p.count("/") > 2}
    # A package's subpackages may be described on their parent's line (data/sources/synthetic/).
    missing = [p for p in packages if p not in listed
               and not (p in subpackages and "/".join(p.split("/")[:-2]) + "/" in listed)]
    assert not missing, f"packages missing from the README's Layout: {missing}"
    assert not [f for f in listed if f.startswith("vsbench") and f not in packages], listed


def test_every_top_level_module_is_named():
    block = layout_block()
    modules = sorted(p.stem for p in (ROOT / "vsbench").glob("*.py")
                     if not p.stem.startswith("_"))
    missing = [m for m in modules if not re.search(rf"\b{m}\b", block)]
    assert not missing, f"vsbench/ modules the Layout does not name: {missing}"
