"""Packaging: every built-in method package is installed and registered."""

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def test_every_method_package_is_listed_and_registered():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = set(project["tool"]["setuptools"]["packages"])
    entry_modules = set(project["project"]["entry-points"]["vsbench"].values())
    for folder in (REPO / "methods").iterdir():
        if (folder / "__init__.py").is_file():
            package = f"vsbench_methods.{folder.name}"
            assert package in packages, f"add {package} to [tool.setuptools] packages"
            assert package in entry_modules, f"register {package} as a vsbench entry point"
    for folder in (REPO / "vsbench").rglob("__init__.py"):
        package = ".".join(folder.parent.relative_to(REPO).parts)
        assert package in packages, f"add {package} to [tool.setuptools] packages"
