"""The shared conditional-diffusion toolkit: a thin, tested layer over diffusers.

Every diffusion method of the benchmark (``palette``, ``class-guided``, ``palette-threshold``,
``diffstain``) is built from these parts, so that a difference on the leaderboard comes from the
method and not from a different noise schedule, network or sampler:

- :mod:`vsbench.diffusion.params` - ``DiffusionParams`` (the shared, typed hyperparameters) and
  the shared ``smoke`` / ``paper`` presets; torch-free, so plugins can declare themselves cheaply;
- :mod:`vsbench.diffusion.schedule` - the linear noise schedule and the three samplers
  (``ddpm``, ``ddim``, ``dpm``) built from one configuration;
- :mod:`vsbench.diffusion.forward` - the forward process q(y_t | y_0), training timesteps, the
  noise-prediction loss, and the [0, 1] <-> [-1, 1] data ranges;
- :mod:`vsbench.diffusion.network` - the denoiser (diffusers ``UNet2DModel``) conditioned by
  channel concatenation and, optionally, a class embedding;
- :mod:`vsbench.diffusion.ema` - the exponential moving average of the weights used to evaluate;
- :mod:`vsbench.diffusion.sampling` - the reverse process from pure noise or, SDEdit-style, from
  a given image noised to a chosen step (what mask guidance needs);
- :mod:`vsbench.diffusion.flow` - conditional flow matching on the straight path (the path,
  its velocity, the few-step Euler / Heun sampler on diffusers' flow-matching scheduler), which
  ``flow-matching`` builds on with the same network and EMA;
- :mod:`vsbench.diffusion.method` - ``ConditionalDiffusionMethod``, the base class the methods
  subclass (hooks: ``condition``, ``condition_channels``, ``class_labels``,
  ``num_class_embeds``, ``generate``).

This package's ``__init__`` imports nothing heavy: importing ``vsbench.diffusion.params`` must
not import torch.
"""
