"""Data: the sample contract, dataset sources, preprocessing and shared splits.

Importing this package is torch-free (it exports the contract only).

The sources themselves live in :mod:`vsbench.data.sources` (synthetic, JUMP, folder,
OME-Zarr); this package holds what they share:

- :mod:`~vsbench.data.source` - the contract (:class:`DatasetSource`, :class:`Sample`);
- :mod:`~vsbench.data.settings` - per-dataset source settings (``source.json``);
- :mod:`~vsbench.data.images`, :mod:`~vsbench.data.digests` - reading image files, their
  digests;
- :mod:`~vsbench.data.preprocess`, :mod:`~vsbench.data.normalise` - intensity and
  illumination correction; one loaded sample made into what a run trains on;
- :mod:`~vsbench.data.cache` - the preprocessed, memory-mapped cache;
- :mod:`~vsbench.data.splits`, :mod:`~vsbench.data.summary` - shared splits; what
  ``vsbench datasets`` shows;
- :mod:`~vsbench.data.symmetry`, :mod:`~vsbench.data.augment`, :mod:`~vsbench.data.sampler`
  - the symmetry groups, paired augmentation, training order;
- :mod:`~vsbench.data.torch_dataset` - the torch ``Dataset``.

Torch is imported by torch_dataset, normalise, augment and sampler only.
"""

from vsbench.data.source import (DataError, DatasetInfo, DatasetSource, Sample, SampleRecord,
                                 check_sample)

__all__ = ["DataError", "DatasetInfo", "DatasetSource", "Sample", "SampleRecord", "check_sample"]
