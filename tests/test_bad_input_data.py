"""The bad-input suite on the input side (issue 15): data sources, source settings and
``--set`` values. Each case is refused with one line naming the file, column or key and the
fix, before anything is trained, read further or written."""

from __future__ import annotations

import pytest

from vsbench.config import resolve
from vsbench.diffusion.params import DiffusionParams
from vsbench.errors import ConfigError


@pytest.mark.parametrize("key", ["lr", "weight_decay", "grad_clip", "checkpoint_minutes",
                                 "dropout", "beta_start"])
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", float("nan")])
def test_non_finite_float_settings_are_refused(key, value):
    with pytest.raises(ConfigError) as err:
        resolve(DiffusionParams, {}, "smoke", {key: value})
    message = str(err.value)
    assert message.startswith(f"--set {key}=") and "finite number" in message
    assert "\n" not in message
