"""The plugin contract: pluggy hook specifications and the records plugins return.

A plugin is any module registered under the entry-point group ``vsbench``. It implements one or
both hooks below with :data:`hookimpl` and returns light records: building a model (and importing
torch) happens only when a method is run, so listing plugins stays fast.

Example (a complete plugin module)::

    from dataclasses import dataclass
    from vsbench import MethodSpec, hookimpl

    @dataclass
    class Params:
        width: int = 16

    def build(params, info):
        from my_pkg.model import MyMethod   # heavy imports here
        return MyMethod(params, info)

    @hookimpl
    def vsbench_methods():
        return [MethodSpec(name="my-method", description="...", reference="...",
                           params=Params, presets={"smoke": {"width": 8}}, factory=build)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

PROJECT = "vsbench"
ENTRY_POINT_GROUP = "vsbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class MethodSpec:
    """What a method plugin declares.

    Attributes:
        name: the name users type (``vsbench run --method NAME``); lower case, dashes allowed.
        description: one line.
        reference: the publication or URL the method follows.
        params: a dataclass whose fields (with type hints and defaults) are the method's
            hyperparameters; every field can be overridden with ``--set key=value``.
        presets: per preset name (``smoke``, ``paper``, ...), overrides of the method's
            hyperparameters and of the run's (``epochs``, ``image_size``, ...).
        factory: ``factory(params, info) -> vsbench.method.Method``; called when the method is
            run, so it may import torch and the model code.
        control: a control, not a method to rank (e.g. an all-zero guide, or masks from the
            ground truth: an upper bound). Recorded as ``control`` in the run's config.json;
            leaderboards show controls in their own section, never ranked with real methods.
        stochastic: the prediction is a sample of a distribution (a diffusion sampler): the
            posterior tier draws ``n_samples`` samples per test image and scores them as an
            ensemble; a deterministic method is scored as a point mass (CRPS = MAE).
        trains_as: the name of the method whose training this one's is, bit for bit (the same
            network, loss, data and random numbers; it differs only at inference, e.g. in the
            masks that guide sampling). A run then starts from the final checkpoint of a
            completed run with the same training key instead of training again
            (:mod:`vsbench.engine.shared_training`; ``--retrain`` trains anyway). Declare it
            only when that holds: a test should compare the two final checkpoints.
        test_labels: ``predict`` is given each test field's class label (e.g. its
            perturbation: class-guided diffusion). On the profile tier, which asks whether a
            stain carries the perturbation's phenotype, that is the answer leaking in: its
            boards flag such a method.
    """

    name: str
    description: str
    reference: str
    params: type
    factory: Callable[[Any, Any], Any]
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    control: bool = False
    stochastic: bool = False
    trains_as: str | None = None
    test_labels: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset-source plugin declares.

    Attributes:
        name: the name users type (``--dataset NAME``).
        description: one line.
        reference: where the data come from.
        factory: ``factory(data_root: pathlib.Path) -> vsbench.data.DatasetSource``.
    """

    name: str
    description: str
    reference: str
    factory: Callable[[Any], Any]


class HookSpecs:
    """The hooks a vsbench plugin may implement."""

    @hookspec
    def vsbench_methods(self) -> list[MethodSpec]:
        """Return the methods this plugin provides."""

    @hookspec
    def vsbench_datasets(self) -> list[DatasetSpec]:
        """Return the dataset sources this plugin provides."""

    @hookspec
    def vsbench_tiers(self) -> list:
        """Return the evaluation tiers this plugin provides
        (:class:`vsbench.tiers.TierSpec`: its columns, sort, unit, files, reader and scoring
        function; :mod:`vsbench.tiers.contract`)."""
