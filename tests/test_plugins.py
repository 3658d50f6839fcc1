"""Plugin discovery: built-in, external, broken and duplicate plugins, did-you-mean."""

import sys

import pytest

from tests.conftest import EXAMPLE_PLUGIN, TINY, install_fake_distribution, run_cli
from vsbench.plugins import PluginError, build_registry

BUILTIN_METHODS = {"unet", "dodnet", "palette", "class-guided", "diffstain", "palette-threshold"}


def test_builtin_plugins_come_through_entry_points():
    registry = build_registry()
    assert BUILTIN_METHODS <= set(registry.methods)
    assert "synthetic" in registry.datasets
    unet = registry.methods["unet"]
    assert unet.origin.builtin and unet.origin.distribution == "vsbench"
    assert unet.origin.module == "vsbench_methods.unet"
    assert not registry.broken


def test_external_plugin_is_found_with_its_distribution(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE_PLUGIN))
    monkeypatch.syspath_prepend(str(plugin_site))
    registry = build_registry()
    entry = registry.methods["tiny-cnn"]
    assert entry.origin.distribution == "vsbench-example-plugin"
    assert entry.origin.version == "0.1.0" and not entry.origin.builtin


def test_broken_plugin_is_reported_and_others_work(tmp_path, monkeypatch):
    install_fake_distribution(tmp_path, "vsbench-broken", "1.0", {"broken": "no_such_module"})
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = build_registry()
    assert "unet" in registry.methods
    [broken] = registry.broken
    assert broken.origin.distribution == "vsbench-broken"
    assert "No module named 'no_such_module'" in broken.error
    # Asked for by name, the broken plugin's import error is the message, not "unknown".
    with pytest.raises(PluginError) as err:
        registry.method("broken")
    assert "'broken' is installed but its plugin failed to load" in str(err.value)
    assert "No module named 'no_such_module'" in str(err.value)
    with pytest.raises(PluginError) as err:
        registry.method("tiny-thing")  # a name it may have registered
    assert "Unknown method 'tiny-thing'" in str(err.value)
    assert "vsbench-broken (no_such_module) failed to load" in str(err.value)


def test_duplicate_names_name_both_packages(tmp_path, monkeypatch):
    install_fake_distribution(tmp_path, "vsbench-copycat", "2.0", {"copy": "vsbench_methods.unet"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as err:
        build_registry()
    assert "Two plugins register the method 'unet'" in str(err.value)
    assert "vsbench (vsbench_methods.unet)" in str(err.value)
    assert "vsbench-copycat" in str(err.value)


def test_unknown_name_suggests_close_match():
    registry = build_registry()
    with pytest.raises(PluginError, match="Unknown method 'unte'. Did you mean 'unet'?"):
        registry.method("unte")
    with pytest.raises(PluginError, match="Valid datasets: .*synthetic"):
        registry.dataset("jump")


def test_listing_does_not_import_torch():
    code = ("import sys, vsbench.cli, vsbench.plugins; vsbench.plugins.default_registry(); "
            "print('torch' in sys.modules)")
    import subprocess
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_external_plugin_end_to_end_through_cli(plugin_site, tmp_path):
    extra = [plugin_site, EXAMPLE_PLUGIN]
    listing = run_cli(["methods"], tmp_path, extra)
    assert listing.returncode == 0, listing.stderr
    assert "tiny-cnn" in listing.stdout and "vsbench-example-plugin 0.1.0" in listing.stdout
    result = run_cli(["run", "--dataset", "synthetic",
                      "--method", "tiny-cnn", "--results", str(tmp_path / "res"),
                      "--data-root", str(tmp_path / "data"), *TINY], tmp_path, extra)
    assert result.returncode == 0, result.stderr + result.stdout
    import json
    [config] = (tmp_path / "res" / "runs" / "synthetic" / "tiny-cnn").glob("*/config.json")
    record = json.loads(config.read_text())
    assert record["plugin"] == {"distribution": "vsbench-example-plugin", "version": "0.1.0",
                                "module": "vsbench_example"}
    metrics = json.loads((config.parent / "metrics.json").read_text())
    assert metrics["n_test_images"] == 24 and set(metrics["channels"]) == {
        "DNA", "ER", "RNA", "AGP", "Mito"}


def test_broken_plugin_in_cli_listing(tmp_path):
    install_fake_distribution(tmp_path / "site", "vsbench-broken", "1.0",
                              {"broken": "no_such_module"})
    result = run_cli(["methods"], tmp_path, [tmp_path / "site"])
    assert result.returncode == 0
    assert "unet" in result.stdout
    assert "broken plugin 'broken' from vsbench-broken" in result.stderr


# End-to-end: these train and evaluate through the CLI or the engine (`-m "not e2e"` skips them).
pytestmark = pytest.mark.e2e


def test_entry_points_of_the_importlib_metadata_backport_load():
    """Once some packages are imported (iohub's dependencies), importlib.metadata hands out
    importlib_metadata's EntryPoint class: the registry must load those too."""
    backport = pytest.importorskip("importlib_metadata")
    from vsbench.plugins import build_registry

    ep = backport.EntryPoint(name="synthetic", value="vsbench.data.sources.synthetic.source",
                             group="vsbench")
    registry = build_registry([ep])
    assert "synthetic" in registry.datasets and not registry.broken
