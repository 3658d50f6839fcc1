"""Optional experiment tracking: TensorBoard event files in the run folder.

Used only when the ``tensorboard`` package is installed (``pip install -e '.[tracking]'``);
otherwise every call is a no-op, so tracking adds no required dependency.
"""

from __future__ import annotations

from pathlib import Path


class Tracker:
    """Writes scalars to ``<run folder>/tensorboard/`` when TensorBoard is available."""

    def __init__(self, folder: Path | None, enabled: bool = True) -> None:
        self._writer = None
        if folder is None or not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard not installed: tracking is optional
            return
        self._writer = SummaryWriter(log_dir=str(Path(folder) / "tensorboard"))

    @property
    def active(self) -> bool:
        """True when events are being written."""
        return self._writer is not None

    def scalar(self, tag: str, value: float, step: int) -> None:
        """Record one value."""
        if self._writer is not None:
            self._writer.add_scalar(tag, value, step)

    def metrics(self, record, step: int) -> None:
        """Record a run's final per-channel and Average metrics (a ``MetricsRecord``)."""
        if self._writer is None:
            return
        for channel, values in [*record.channels.items(), ("Average", record.average)]:
            for metric, value in values.items():
                self._writer.add_scalar(f"test/{metric}/{channel}", value, step)

    def close(self) -> None:
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
