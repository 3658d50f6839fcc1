"""``vsbench score``: predictions made elsewhere, checked, scored with the one metric protocol
and every tier their inputs allow, and written as a run folder marked submitted
(:mod:`~vsbench.score.submitted`)."""
