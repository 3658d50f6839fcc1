"""``vsbench predict``: a completed run's trained method applied to new brightfield fields.

- :mod:`~vsbench.predict.apply` - the run found and reloaded (:func:`find_run`,
  :func:`predict_run`), the fields predicted in tiles at the run's evaluation size;
- :mod:`~vsbench.predict.inputs` - the fields read (a dataset's split, a folder of image
  files, an OME-Zarr plate) and normalised as the run read its own;
- :mod:`~vsbench.predict.outputs` - the predictions written (OME-TIFF or OME-Zarr) with a
  manifest.
"""
