"""vsbench: a plugin-based benchmark harness for virtual staining.

Importing :mod:`vsbench` is light (no torch): the CLI's ``--help`` and ``methods`` must answer
quickly. Method authors import what they need from the submodules named here:

- :mod:`vsbench.spec` - ``MethodSpec``, ``DatasetSpec``, ``hookimpl`` (the plugin contract);
- :mod:`vsbench.method` - the ``Method`` base class the engine drives (imports torch);
- :mod:`vsbench.data` - the sample contract and dataset sources;
- :mod:`vsbench.tiers` - ``TierSpec``, ``TierInputs`` (an evaluation tier of one's own).
"""

from vsbench.spec import DatasetSpec, MethodSpec, hookimpl
from vsbench.tiers.contract import TierInputs, TierSpec

__version__ = "0.1.0"

__all__ = ["DatasetSpec", "MethodSpec", "TierInputs", "TierSpec", "hookimpl", "__version__"]
