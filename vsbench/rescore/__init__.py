"""``vsbench evaluate``: a finished run's saved test predictions scored again, for any tier,
without retraining.

- :mod:`~vsbench.rescore.finished` - :func:`rescore_run`: the run's predictions and real
  stains as the driver's inputs, ``metrics.json`` rewritten atomically;
- :mod:`~vsbench.rescore.posterior` - the posterior tier of a finished run (a stochastic
  method reloaded and sampled, a deterministic one's predictions as a point mass).
"""
