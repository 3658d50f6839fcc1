"""The engine's speed switches on the CPU: channels_last, compile's missing-compiler error,
loader options, and cuDNN autotuning left alone off CUDA."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

from vsbench.config import RunConfig, resolve
from vsbench.engine import EngineError, apply_speedups, loader_options, to_device


@dataclass
class _Params:
    width: int = 1


class _Tiny:
    def __init__(self):
        self.model = torch.nn.Conv2d(2, 3, 3, padding=1)


def test_channels_last_weights_and_inputs():
    method = _Tiny()
    apply_speedups(method, RunConfig(channels_last=True), torch.device("cpu"))
    assert method.model.weight.is_contiguous(memory_format=torch.channels_last)
    batch = to_device({"brightfield": torch.rand(2, 2, 8, 8), "index": torch.arange(2)},
                      torch.device("cpu"), channels_last=True)
    assert batch["brightfield"].is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(method.model(batch["brightfield"]),
                          torch.nn.functional.conv2d(batch["brightfield"].contiguous(),
                                                     method.model.weight, method.model.bias,
                                                     padding=1), atol=1e-6)


def test_compile_without_a_compiler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("vsbench.engine.runtime.shutil.which", lambda name: None)
    with pytest.raises(EngineError, match="C\\+\\+ compiler"):
        apply_speedups(_Tiny(), RunConfig(compile=True), torch.device("cpu"))


def test_cudnn_benchmark_untouched_on_cpu():
    before = torch.backends.cudnn.benchmark
    apply_speedups(_Tiny(), RunConfig(cudnn_benchmark=True), torch.device("cpu"))
    assert torch.backends.cudnn.benchmark == before


def test_loader_options():
    cpu = loader_options(RunConfig(num_workers=0), torch.device("cpu"))
    assert cpu == {"num_workers": 0, "pin_memory": False, "persistent_workers": False}
    assert loader_options(RunConfig(num_workers=2), torch.device("cpu"))["persistent_workers"]


def test_switches_are_settable():
    resolved = resolve(_Params, {}, "smoke", {"compile": "true", "channels_last": "yes",
                                      "cudnn_benchmark": "false"})
    assert resolved.run.compile and resolved.run.channels_last
    assert not resolved.run.cudnn_benchmark
