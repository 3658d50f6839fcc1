"""The settings of the ``jump-cpg0000`` source (``--set key=value`` on ``vsbench data
prepare`` and ``fetch``): which plates, wells, sites, channels and planes, the illumination
correction and the preprocessing recipe, checked by :meth:`JumpSettings.validate`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vsbench.config import ConfigError
from vsbench.data.sources.files import validate_clip

NAME = "jump-cpg0000"
DEFAULT_URL = "s3://cellpainting-gallery/cpg0000-jump-pilot/source_4"
FLUORESCENCE = ("DNA", "ER", "RNA", "AGP", "Mito")
# The three brightfield planes of the pilot, as load_data.csv names them, from low to high focus.
BRIGHTFIELD = ("LowZBF", "Brightfield", "HighZBF")


@dataclass
class JumpSettings:
    """Settings of ``jump-cpg0000`` (``--set key=value`` on ``vsbench data prepare``).

    Attributes:
        root: the local source folder (holding ``images/`` and ``workspace/``); empty means
            ``<data_root>/jump-cpg0000``, where ``vsbench data fetch`` puts it.
        batch: the batch to take plates from (e.g. ``2020_11_04_CPJUMP1``); empty means any.
            Some barcodes are in several batches (BR00117006 is in the main batch and in a
            timepoint batch): naming one of them in ``plates`` without a batch is an error, and
            with every plate taken each of them is keyed ``<batch>__<plate>``.
        plates: plate barcodes to use (e.g. ``BR00116991``); empty means every plate found.
        wells: wells to use (e.g. ``A01``); empty means every well.
        sites_per_well: the first N sites of each well; 0 means all.
        channels: fluorescence channels to predict, by their load_data.csv names.
        planes: brightfield planes to use as input, by their load_data.csv names.
        illum: ``auto`` divides by the illumination function where the plate has one, ``on``
            requires it, ``off`` skips it.
        preprocess: ``vsbench`` (illumination correction as ``illum`` says, percentile clip,
            [0, 1]) or ``public-code`` (the paper's public code: no illumination correction,
            percentile clip, brightfield z-scored per plane).
        clip_low, clip_high: per-image percentile clip before rescaling to [0, 1].
        bit_depth: expected bits per pixel of the TIFFs (the pilot's are 16).
        source_url: where ``vsbench data fetch`` downloads from.
    """

    root: str = ""
    batch: str = ""
    plates: tuple[str, ...] = ()
    wells: tuple[str, ...] = ()
    sites_per_well: int = 0
    channels: tuple[str, ...] = FLUORESCENCE
    planes: tuple[str, ...] = BRIGHTFIELD
    illum: Literal["auto", "on", "off"] = "auto"
    preprocess: Literal["vsbench", "public-code"] = "vsbench"
    clip_low: float = 2.0
    clip_high: float = 98.0
    bit_depth: int = 16
    source_url: str = DEFAULT_URL

    def validate(self) -> None:
        """Raise :class:`ConfigError` for inconsistent settings."""
        validate_clip(self.clip_low, self.clip_high)
        if self.sites_per_well < 0:
            raise ConfigError(f"--set sites_per_well={self.sites_per_well}: must be 0 (all) or "
                              "more.")
        if self.bit_depth not in (8, 16):
            raise ConfigError(f"--set bit_depth={self.bit_depth}: use 8 or 16.")
        if self.preprocess == "public-code" and self.illum == "on":
            raise ConfigError("--set preprocess=public-code uses no illumination correction; "
                              "drop --set illum=on (or use preprocess=vsbench).")
        if not self.channels or not self.planes:
            raise ConfigError("--set channels=... and planes=...: name at least one of each.")
        for kind, names in (("channels", self.channels), ("planes", self.planes)):
            if len(set(names)) != len(names):
                raise ConfigError(f"--set {kind}={','.join(names)}: names repeat.")




def effective_illum(settings: JumpSettings) -> str:
    """The illumination correction ``settings`` ask for (``off`` under ``public-code``)."""
    return "off" if settings.preprocess == "public-code" else settings.illum
