"""The built-in synthetic Cell Painting plates: :mod:`~.source` (the dataset sources and their
layouts), :mod:`~.perturbations` (what each perturbation does to cells), :mod:`~.geometry`
(the cells of a field), :mod:`~.stains` (the five channels), :mod:`~.optics` (brightfield and
camera), :mod:`~.render` (one field), :mod:`~.faults` (the hard regime's imaging faults)."""
