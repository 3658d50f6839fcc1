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


def test_every_data_file_is_package_data():
    """Files of vsbench/ that are not Python (e.g. the report's Jinja template) are installed
    only when [tool.setuptools.package-data] names them, so a normal install would lack them."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = set(project["tool"]["setuptools"]["packages"])
    data = project["tool"]["setuptools"].get("package-data", {})
    for path in (REPO / "vsbench").rglob("*"):
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        package = ".".join(path.parent.relative_to(REPO).parts)
        assert package in packages, f"add {package} (holding {path.name}) to packages"
        assert any(path.match(pattern) for pattern in data.get(package, ())), \
            f"add {path.name} to [tool.setuptools.package-data] {package}"
