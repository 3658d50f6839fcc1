"""The data package's shape (AST, so function-level imports count too): the data contract
imports no data implementation, there are no import cycles among the data modules, and every
path under a data root and every atomic write goes through the shared modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "vsbench" / "data"


def imports(path: Path) -> set[str]:
    """Every ``vsbench`` module ``path`` imports, anywhere in the file."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("vsbench")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("vsbench"):
                continue
            out.add(node.module)
            # ``from vsbench.data import settings``: a module, not a name
            out |= {f"{node.module}.{a.name}" for a in node.names
                    if (DATA.parent.parent / f"{node.module}.{a.name}".replace(".", "/")
                        ).with_suffix(".py").is_file()}
    return out


def data_graph() -> dict[str, set[str]]:
    modules = {f"vsbench.data.{p.stem}": p for p in DATA.glob("*.py") if p.stem != "__init__"}
    return {name: {m for m in imports(path) if m in modules} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_data_contract_imports_no_data_implementation():
    assert {m for m in imports(DATA / "source.py") if m.startswith("vsbench.data")} == set()


def test_no_import_cycles_among_data_modules():
    graph = data_graph()
    assert find_cycle(graph) is None, find_cycle(graph)
    # the check sees function-level imports and would catch a cycle
    assert "vsbench.data.normalise" in graph["vsbench.data.cache"]
    assert find_cycle({**graph, "vsbench.data.source": {"vsbench.data.summary"}})


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.py")))
def test_no_hand_rolled_paths_or_atomic_writes(name):
    text = (DATA / name).read_text()
    for spelled in ('"split.csv"', '"source.json"', '"digests.json"', '/ "cache"', ".tmp"):
        assert spelled not in text, f"{name} spells {spelled}: use vsbench.layout / atomic"
    # the one rename allowed: a complete cache folder (and fetch's resumable .part file)
    allowed = {"cache.py": 1, "fetch.py": 1}
    assert text.count("os.replace(") == allowed.get(name, 0), name
