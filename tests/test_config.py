"""Configuration: presets, --set overrides, types and errors."""

import json
from dataclasses import dataclass, field
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vsbench.config import (ConfigError, RunConfig, build_dataclass, coerce, parse_overrides,
                            resolve, valid_keys)


@dataclass
class Params:
    width: int = 8
    loss: Literal["l1", "l2"] = "l1"
    widths: tuple[int, ...] = (4, 8)
    dropout: float = 0.0
    ema: bool = True


PRESETS = {"smoke": {"width": 4, "epochs": 2}, "paper": {"width": 64}}


def test_precedence_defaults_preset_overrides():
    cfg = resolve(Params, PRESETS, "smoke", {"epochs": "3", "dropout": "0.2"})
    assert cfg.run.epochs == 3  # --set beats the method preset
    assert cfg.run.image_size == 64  # run preset
    assert cfg.method.width == 4  # method preset
    assert cfg.method.dropout == 0.2
    paper = resolve(Params, PRESETS, "paper", {})
    assert paper.run.image_size == 512 and paper.run.lr == 5e-4 and paper.method.width == 64
    assert cfg.to_dict()["method"]["widths"] == (4, 8)


def test_typed_coercion():
    cfg = resolve(Params, PRESETS, "smoke", {"widths": "16,32,64", "ema": "false",
                                             "loss": "l2"})
    assert cfg.method.widths == (16, 32, 64)
    assert cfg.method.ema is False and cfg.method.loss == "l2"


def test_unknown_key_lists_valid_keys_and_suggests():
    with pytest.raises(ConfigError) as err:
        resolve(Params, PRESETS, "smoke", {"widht": "3"})
    message = str(err.value)
    assert "Unknown hyperparameter 'widht'" in message
    assert "epochs" in message and "width" in message and "Did you mean 'width'?" in message


@pytest.mark.parametrize("key,value,expected", [
    ("epochs", "two", "--set epochs=two: expected an integer."),
    ("lr", "fast", "--set lr=fast: expected a number."),
    ("loss", "l3", "--set loss=l3: must be one of l1, l2."),
    ("ema", "maybe", "--set ema=maybe: expected true or false."),
    ("epochs", "0", "--set epochs=0: must be at least 1."),
    ("image_size", "100", "--set image_size=100: must be a multiple of 32"),
    ("lr", "-1", "--set lr=-1.0: must be positive."),
])
def test_bad_values_name_the_key(key, value, expected):
    with pytest.raises(ConfigError) as err:
        resolve(Params, PRESETS, "smoke", {key: value})
    assert expected in str(err.value)


def test_unknown_preset_and_malformed_set():
    with pytest.raises(ConfigError, match="Unknown preset 'fast'"):
        resolve(Params, PRESETS, "fast", {})
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_overrides(["epochs"])
    assert parse_overrides(["epochs=2", " lr = 0.1 "]) == {"epochs": "2", "lr": "0.1"}


@given(st.integers(min_value=-10**6, max_value=10**6))
def test_int_roundtrip(n):
    assert coerce("epochs", str(n), int) == n


@given(st.text())
def test_coerce_never_raises_anything_but_config_error(text):
    for annotation in (int, float, bool, Literal["a", "b"], tuple[int, ...]):
        try:
            coerce("key", text, annotation)
        except ConfigError as exc:
            assert "--set key=" in str(exc)


def test_run_config_defaults_are_valid():
    RunConfig().validate()


# --------------------------------------------------------------------------- nested keys


@dataclass
class Inner:
    depth: int = 2
    mode: Literal["a", "b"] = "a"


@dataclass
class Middle:
    inner: Inner = field(default_factory=lambda: Inner(depth=3))  # not Inner's own default
    scale: float = 1.0


@dataclass
class Nested:
    width: int = 8
    mid: Middle = field(default_factory=Middle)

    def validate(self) -> None:
        if self.mid.inner.depth < 1:
            raise ConfigError(f"--set mid.inner.depth={self.mid.inner.depth}: must be at least 1.")


def test_nested_keys_are_dotted_at_any_depth():
    assert [k for k in valid_keys(Nested) if "." in k] == ["mid.inner.depth", "mid.inner.mode",
                                                         "mid.scale"]
    cfg = resolve(Nested, {}, "smoke", {"mid.inner.mode": "b", "mid.scale": "0.5"})
    assert cfg.method.mid.inner == Inner(depth=3, mode="b")  # the field's default kept
    assert cfg.method.mid.scale == 0.5 and cfg.method.width == 8
    assert resolve(Nested, {}, "smoke", {}).method == Nested()


def test_nested_presets_dotted_or_nested_merge_key_by_key():
    presets = {"smoke": {"mid": {"inner": {"depth": 5}, "scale": 2.0}},
               "paper": {"mid.inner.depth": 7, "mid.inner.mode": "b"}}
    smoke = resolve(Nested, presets, "smoke", {"mid.scale": "3"})
    assert smoke.method.mid == Middle(inner=Inner(depth=5), scale=3.0)
    paper = resolve(Nested, presets, "paper", {"mid": {"inner": {"mode": "a"}}})
    assert paper.method.mid.inner == Inner(depth=7, mode="a")


def test_nested_record_json_is_nested_and_round_trips():
    cfg = resolve(Nested, {}, "smoke", {"mid.inner.depth": "4"})
    record = json.loads(json.dumps(cfg.to_dict()))
    assert record["method"] == {"width": 8, "mid": {"inner": {"depth": 4, "mode": "a"},
                                                    "scale": 1.0}}
    # what a run recorded builds the same hyperparameters again
    assert resolve(Nested, {}, "smoke", record["method"]).method == cfg.method


def test_nested_errors_name_the_dotted_key():
    with pytest.raises(ConfigError) as err:
        resolve(Nested, {}, "smoke", {"mid.inner.dpth": "4"})
    message = str(err.value)
    assert "Unknown hyperparameter 'mid.inner.dpth'" in message
    assert "Did you mean 'mid.inner.depth'?" in message and "epochs" in message
    with pytest.raises(ConfigError, match="--set mid.inner.depth=deep: expected an integer"):
        resolve(Nested, {}, "smoke", {"mid.inner.depth": "deep"})
    with pytest.raises(ConfigError, match="--set mid.inner.depth=0: must be at least 1"):
        resolve(Nested, {}, "smoke", {"mid.inner.depth": "0"})
    with pytest.raises(ConfigError, match="'mid' is a group of settings.*mid.inner.depth"):
        resolve(Nested, {}, "smoke", {"mid": "x"})
    with pytest.raises(ConfigError, match="Unknown hyperparameter 'width.x'"):
        resolve(Nested, {}, "smoke", {"width.x": "1"})


def test_build_dataclass_is_the_one_parser():
    assert build_dataclass(Nested, {"mid.scale": "2"}).mid.scale == 2.0
    with pytest.raises(ConfigError, match="Unknown key 'wdth' for Nested.*Did you mean 'width'"):
        build_dataclass(Nested, {"wdth": 1})
    with pytest.raises(ConfigError, match="custom wdth"):
        build_dataclass(Nested, {"wdth": 1}, unknown=lambda k: ConfigError(f"custom {k}"))


def test_diffstain_embeds_its_nsc_config():
    from vsbench.nsc.config import NSCConfig
    from vsbench_methods.diffstain import DiffStainParams

    keys = [k for k in valid_keys(DiffStainParams) if k.startswith("nsc")]
    assert keys == sorted(f"nsc.{name}" for name in NSCConfig.__dataclass_fields__)
    cfg = resolve(DiffStainParams, {}, "smoke", {"nsc.fov": "64", "nsc.allow_download": "no"})
    assert cfg.method.nsc == NSCConfig(fov=64)
    assert cfg.to_dict()["method"]["nsc"]["fov"] == 64
    with pytest.raises(ConfigError, match="--set nsc.fov=4: must be at least 8"):
        resolve(DiffStainParams, {}, "smoke", {"nsc.fov": "4"})
    with pytest.raises(ConfigError, match="Did you mean 'nsc.backbone'"):
        resolve(DiffStainParams, {}, "smoke", {"nsc.backbon": "x"})
