"""Data: the sample contract, dataset sources, preprocessing and shared splits (torch-free).

The torch ``Dataset`` wrapper lives in :mod:`vsbench.data.torch_dataset`.
"""

from vsbench.data.source import (DataError, DatasetInfo, DatasetSource, Sample, SampleRecord,
                                 check_sample)

__all__ = ["DataError", "DatasetInfo", "DatasetSource", "Sample", "SampleRecord", "check_sample"]
