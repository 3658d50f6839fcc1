"""A minimal vsbench method plugin (the README's example)."""

from dataclasses import dataclass

from vsbench import MethodSpec, hookimpl


@dataclass
class Params:
    hidden: int = 16


def build(params, info):
    # Imported here so that `vsbench methods` does not import torch.
    from vsbench_example.model import TinyCNN

    return TinyCNN(params, info)


@hookimpl
def vsbench_methods():
    return [MethodSpec(
        name="tiny-cnn",
        description="Three convolutions from brightfield planes to fluorescence channels.",
        reference="vsbench README, 'Writing a method plugin'",
        params=Params,
        factory=build,
        presets={"smoke": {"epochs": 2}},
    )]
