"""The layering of the harness, checked on the source (ast), so that it stays as designed.

- ``vsbench`` never imports the built-in methods (``vsbench_methods``): they are plugins.
- The modules that only read results (protocol, records, store, leaderboard, report, cli) import
  no torch at module level, directly or through the vsbench modules they import at module level,
  so ``vsbench compare``, ``report`` and ``methods`` start without it; so does every module
  whose docstring says it is torch-free.
- The data contract (``vsbench.data.source``) imports no data implementation.
- No import cycles between vsbench modules, counting imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "vsbench"

# Module-level torch is forbidden in these (and in everything below a package named here).
TORCH_FREE = ("vsbench.protocol", "vsbench.records", "vsbench.store", "vsbench.errors",
              "vsbench.atomic", "vsbench.layout", "vsbench.leaderboard", "vsbench.report",
              "vsbench.cli", "vsbench.biometrics")
DATA_CONTRACT = "vsbench.data.source"


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Every module below ``root`` (a package folder named ``package``), by dotted name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module ``name`` refers to, or its closest enclosing package that is one of ours."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports(path: Path, module: str, modules: dict[str, Path],
            module_level_only: bool = False) -> set[str]:
    """Absolute names imported by ``path`` (``from a import b`` gives ``a.b`` when that is a
    module of ours, else ``a``); with ``module_level_only``, not those inside functions."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.Lambda))
            if isinstance(child, ast.Import) and not (module_level_only and in_function):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and not (module_level_only and in_function):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")
                    anchor = anchor if is_package else anchor[:-1]
                    anchor = anchor[:len(anchor) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in modules else base)
            visit(child, nested)

    visit(tree, False)
    return found


def graph(modules: dict[str, Path], module_level_only: bool = False,
          prefix: str = "vsbench") -> dict[str, set[str]]:
    """Edges between our modules (an import of a submodule is an edge to that submodule)."""
    out = {}
    for name, path in modules.items():
        targets = {_resolve(i, modules) for i in imports(path, name, modules, module_level_only)
                   if i == prefix or i.startswith(prefix + ".")}
        out[name] = {t for t in targets if t and t != name}
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return result


MODULES = module_names(PACKAGE, "vsbench")


def test_vsbench_never_imports_the_builtin_methods():
    offenders = {name: sorted(i for i in imports(path, name, MODULES)
                              if i.split(".")[0] == "vsbench_methods")
                 for name, path in MODULES.items()}
    assert not {k: v for k, v in offenders.items() if v}


def says_torch_free(path: Path) -> bool:
    """Whether a module's docstring says it is torch-free (it must then be)."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    return "torch-free" in " ".join(doc.split()).lower()


def test_readers_of_results_import_no_torch_at_module_level():
    edges = graph(MODULES, module_level_only=True)
    third_party = {name: imports(path, name, MODULES, module_level_only=True)
                   for name, path in MODULES.items()}
    problems = []
    for root in (m for m in MODULES if any(m == t or m.startswith(t + ".") for t in TORCH_FREE)
                 or says_torch_free(MODULES[m])):
        seen, todo, parent = {root}, [root], {root: None}
        while todo:
            current = todo.pop()
            if any(i == "torch" or i.startswith("torch.") for i in third_party[current]):
                chain, step = [], current
                while step is not None:
                    chain.append(step)
                    step = parent[step]
                problems.append(" <- ".join(chain))
                break
            for nxt in edges[current] - seen:
                seen.add(nxt)
                parent[nxt] = current
                todo.append(nxt)
    assert not problems, "module-level torch import reached from:\n" + "\n".join(problems)


def test_the_data_contract_imports_no_data_implementation():
    used = imports(MODULES[DATA_CONTRACT], DATA_CONTRACT, MODULES)
    assert not [i for i in used if i.startswith("vsbench.data.") and i != DATA_CONTRACT]


def test_no_import_cycles_counting_function_level_imports():
    found = cycles(graph(MODULES))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_cycle_check_finds_a_cycle(tmp_path):
    """The checker itself: a package whose two modules import each other (one inside a
    function) is reported, and a package without a cycle is not."""
    pkg = tmp_path / "toy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from toy import b\n")
    (pkg / "b.py").write_text("def f():\n    from toy.a import x\n")
    (pkg / "c.py").write_text("import toy.b\n")
    modules = module_names(pkg, "toy")
    assert cycles(graph(modules, prefix="toy")) == [["toy.a", "toy.b"]]
    (pkg / "b.py").write_text("def f():\n    return 1\n")
    assert cycles(graph(modules, prefix="toy")) == []
