"""Small modules with one job each: no module in ``vsbench/`` over 300 lines and no function
over 60 (from its ``def`` line to its last, docstring included), checked on the source, so
that a newcomer can read any one of them whole."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vsbench"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """The functions (and methods) of ``path`` longer than ``limit`` lines, with their
    lengths."""
    tree = ast.parse(path.read_text(), str(path))
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


def test_no_module_over_300_lines():
    long = {f"vsbench/{p.relative_to(PACKAGE)}": n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by job): {long}"


def test_no_function_over_60_lines():
    long = {f"vsbench/{p.relative_to(PACKAGE)}:{name}": n
            for p in sorted(PACKAGE.rglob("*.py")) for name, n in long_functions(p)}
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them): {long}"


def test_the_check_measures_from_def_to_the_last_line(tmp_path):
    source = tmp_path / "m.py"
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    source.write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    assert long_functions(source) == [("long", 61)]
    assert long_functions(source, limit=61) == []
