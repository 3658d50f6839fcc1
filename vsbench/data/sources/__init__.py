"""The built-in dataset sources, one module or subpackage each (each registered through the
``vsbench`` entry-point group, as a third-party source would be):

- :mod:`~vsbench.data.sources.synthetic` - the built-in procedural Cell Painting plates
  (``synthetic``, ``synthetic-graded``, ``synthetic-hard``): geometry, stains, optics,
  rendering and the injected faults, one module each;
- :mod:`~vsbench.data.sources.jump` - JUMP Cell Painting (``jump-cpg0000``): the plate
  reader, its load_data and platemap tables, and ``vsbench data fetch``;
- :mod:`~vsbench.data.sources.folder` - a folder of image files (``folder``);
- :mod:`~vsbench.data.sources.omezarr` - an OME-Zarr HCS plate (``ome-zarr``);
- :mod:`~vsbench.data.sources.files` - what the file-backed sources share (settings, the
  per-plane percentile clip, the preprocessed cache).
"""

# The dataset a run, sweep or ladder uses when none is named: the graded panel, on which the
# profile tier's mAP can tell a real stain from a virtual one (issue 28; benchmarks/README.md,
# "A dataset for the profile tier"). The earlier default, ``synthetic``, stays registered
# under its name, with its fingerprint and split, for the records made on it.
DEFAULT_DATASET = "synthetic-graded"
