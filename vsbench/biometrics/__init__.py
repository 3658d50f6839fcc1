"""Biological evaluation tiers (torch-free): nuclei and cells found in a stain, and the
CellProfiler features measured on them.

One job per module:

- :mod:`~vsbench.biometrics.segmentation`: the default, deterministic and offline segmenter
  (nuclei from the DNA channel, cells grown from them on AGP or RNA) and its settings;
- :mod:`~vsbench.biometrics.segmenters`: the plugin point that swaps the segmenter;
- :mod:`~vsbench.biometrics.matching`: one-to-one matching of label images and the instance
  scores (precision, recall, F1, IoU, count error, AP);
- :mod:`~vsbench.biometrics.features`: cp-measure features per object and channel;
- :mod:`~vsbench.biometrics.feature_scores`: real-vs-predicted agreement of those features;
- :mod:`~vsbench.biometrics.ground_truth`: the ground truth's objects and features, cached per
  dataset fingerprint, split, size and settings;
- :mod:`~vsbench.biometrics.tiers`: both tiers on a run's test predictions, and their summary.
"""
