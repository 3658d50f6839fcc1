"""Every third-party import of the project is declared in pyproject.toml.

A dependency installed by hand and never declared keeps a developer's machine green and breaks
every fresh install (diffusers was such a case). This test parses the sources with ``ast``,
collects the top-level name of every import (module level and inside functions, optional ones
included: an optional import must be declared in the extra that enables it), drops the standard
library and the project's own modules, maps each name to its distribution with
``importlib.metadata.packages_distributions()`` and checks that the distribution is a core
dependency or part of an extra.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("vsbench", "methods", "benchmarks", "tests", "examples")
OWN_PACKAGES = {"vsbench", "vsbench_methods"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions(pyproject: dict) -> set[str]:
    """Normalised names of the core dependencies and of every extra's."""
    project = pyproject["project"]
    requirements = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    names = {re.split(r"[\s\[<>=!~;@]", r.strip(), maxsplit=1)[0] for r in requirements}
    # An extra may name the project itself (e.g. "vsbench[s3]"): that is not a distribution.
    return {_normalise(n) for n in names if n} - {_normalise(project["name"])}


def local_module_names() -> set[str]:
    """Names importable from the scanned folders themselves (test helpers, benchmark helpers,
    the example plugin's package): never third-party."""
    names = set(OWN_PACKAGES)
    for folder in SCANNED:
        for path in (REPO / folder).rglob("*.py"):
            names.add(path.stem)
            names.update(path.relative_to(REPO).parts[:-1])
    return names


def third_party_imports(path: Path, local: set[str]) -> list[tuple[str, int]]:
    """``(top-level name, line)`` of every absolute import in ``path`` that is neither the
    standard library nor the project's own."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in local:
                found.append((top, node.lineno))
    return found


def undeclared(pyproject: dict) -> list[str]:
    """One message per import whose distribution pyproject.toml does not declare."""
    declared = declared_distributions(pyproject)
    distributions = md.packages_distributions()
    local = local_module_names()
    problems = []
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            for top, line in third_party_imports(path, local):
                installed = {_normalise(d) for d in distributions.get(top, [])}
                # Not installed here (e.g. tomli, needed below Python 3.11 only): the import
                # name must then be the declared distribution's name.
                candidates = installed or {_normalise(top)}
                where = f"{path.relative_to(REPO)}:{line}"
                if not candidates & declared and not installed:
                    problems.append(f"{where} imports '{top}', which no installed distribution "
                                    "provides and pyproject.toml does not declare")
                elif not candidates & declared:
                    problems.append(f"{where} imports '{top}' from distribution "
                                    f"{'/'.join(sorted(candidates))}, which pyproject.toml does "
                                    "not declare (add it to the dependencies or to the extra of "
                                    "the feature that needs it)")
    return problems


def test_every_imported_distribution_is_declared():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    problems = undeclared(pyproject)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("removed", ["diffusers", "threadpoolctl", "huggingface-hub"])
def test_removing_a_declared_dependency_is_caught(removed):
    """The check itself works: without ``removed`` in pyproject.toml it names the import."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    deps = pyproject["project"]["dependencies"]
    pyproject["project"]["dependencies"] = [d for d in deps
                                            if _normalise(re.split(r"[<>=!~;\[ ]", d)[0])
                                            != removed]
    assert len(pyproject["project"]["dependencies"]) == len(deps) - 1
    problems = undeclared(pyproject)
    assert problems and all(removed in p for p in problems), problems
    assert any(p.startswith(("vsbench/", "methods/")) for p in problems)


@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "benchmarks").glob("*.py")
                                          if not p.name.startswith("_")))
def test_every_benchmark_script_answers_help(script):
    """Each benchmark imports only declared packages and explains itself."""
    import subprocess

    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--help"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "usage:" in out.stdout
