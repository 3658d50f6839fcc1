"""The one training and prediction loop every method runs through.

The engine plans a run (resolved configuration, device, data source and split, the config
record), builds the data and the method from its plugin, trains it (device, precision, seeds,
optimiser, checkpoints, resume, progress, distributed), predicts the test part, scores it with
the one metric protocol, and writes the run folder. A method supplies only its model, its
training-step loss and its prediction. The other commands that use a trained method or
predictions live beside it: :mod:`vsbench.predict` (``vsbench predict``),
:mod:`vsbench.rescore` (``vsbench evaluate``), :mod:`vsbench.score` (``vsbench score``).
One module per job:

- :mod:`~vsbench.engine.plan` - :class:`RunRequest` -> frozen :class:`RunPlan` (no image read);
- :mod:`~vsbench.engine.build` - :func:`build_data`, :func:`create_method`,
  :func:`load_trained`: the one way to construct a method or reload a trained one;
- :mod:`~vsbench.engine.runtime` - device, seeds, precision, speed switches, torch flags;
- :mod:`~vsbench.engine.predict_step` - one prediction step (autocast, tiles, float32,
  timed), used by evaluation, the posterior tier's samples and ``vsbench predict``;
- :mod:`~vsbench.engine.train` - the loop around :meth:`Trainer.run_step`, :class:`TrainState`;
- :mod:`~vsbench.engine.callbacks` - progress, tracking, precise BatchNorm, checkpoints;
- :mod:`~vsbench.engine.checkpointing` - what a checkpoint holds;
- :mod:`~vsbench.engine.evaluate` - prediction, scoring and the preview;
- :mod:`~vsbench.engine.record` - the files a finished run writes;
- :mod:`~vsbench.engine.run` - :func:`run_benchmark`, the orchestration;
- :mod:`~vsbench.engine.resources` - will a run's batch fit, checked before anything is made;
- :mod:`~vsbench.engine.shared_training` - methods that train the same network train once;
- :mod:`~vsbench.engine.predictions` - the saved test predictions (``test_predictions.npz``);
- :mod:`~vsbench.engine.tiers` - a run's tiers after the prediction loop (the inputs of the
  one driver, :mod:`vsbench.tiers.driver`); :mod:`~vsbench.engine.posterior` draws and
  scores a method's samples (a run's, and ``vsbench evaluate``'s);
- :mod:`~vsbench.engine.distributed`, :mod:`~vsbench.engine.batchnorm`,
  :mod:`~vsbench.engine.tracking` - torchrun, precise BatchNorm, TensorBoard.
"""

from vsbench.engine.build import TrainedRun, build_data, create_method, load_trained
from vsbench.engine.evaluate import Evaluation, evaluate
from vsbench.engine.plan import RunPlan, RunRequest, plan_run
from vsbench.engine.run import RunResult, run_benchmark
from vsbench.engine.runtime import (apply_speedups, autocast_context, loader_options,
                                    restored_torch_flags, seed_everything, select_device, to_device)
from vsbench.engine.train import Trainer, TrainState, train
from vsbench.errors import EngineError

__all__ = ["EngineError", "Evaluation", "RunPlan", "RunRequest", "RunResult", "TrainState",
           "TrainedRun", "Trainer", "apply_speedups", "autocast_context", "build_data",
           "create_method", "evaluate", "load_trained", "loader_options", "plan_run",
           "restored_torch_flags", "run_benchmark", "seed_everything", "select_device",
           "to_device", "train"]
