"""A minimal vsbench method plugin (the README's example, as written there)."""

from dataclasses import dataclass
from vsbench import MethodSpec, hookimpl

@dataclass
class Params:            # every field can be set with --set hidden=32
    hidden: int = 16

def build(params, info):
    from vsbench_example.model import TinyCNN   # heavy imports here
    return TinyCNN(params, info)

@hookimpl
def vsbench_methods():
    return [MethodSpec(name="tiny-cnn",
                       description="Three convolutions from brightfield planes to fluorescence channels.",
                       reference="vsbench README, 'Writing a method plugin'",
                       params=Params, factory=build, presets={"smoke": {"epochs": 2}})]
