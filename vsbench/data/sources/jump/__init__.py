"""JUMP Cell Painting (cpg0000) as a dataset source: :mod:`~.source` (plates read from their
load_data tables, illumination-corrected), :mod:`~.settings` (what ``--set`` chooses),
:mod:`~.load_data` (the load_data CSVs), :mod:`~.platemaps` (perturbation labels),
:mod:`~.fetch` (``vsbench data fetch`` from the Cell Painting Gallery) and :mod:`~.transfer`
(one resumable, verified download)."""
