"""Configuration: presets, --set overrides, types and errors."""

from dataclasses import dataclass
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vsbench.config import ConfigError, RunConfig, coerce, parse_overrides, resolve


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
