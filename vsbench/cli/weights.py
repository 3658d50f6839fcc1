"""``vsbench weights``: which NSC backbones have weights here, and how to get the others.

Imports neither torch nor timm to list (``huggingface_hub``'s cache lookup only reads files);
``--download`` imports timm and fetches through the hub, for a machine that can reach it.
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from pathlib import Path
from typing import Optional

import typer
from vsbench.cli.common import console as make_console
from vsbench.cli.tables import print_listing

ENV_WEIGHTS = "VSBENCH_NSC_WEIGHTS"  # the same as vsbench.nsc.weights.ENV_WEIGHTS (torch-free)
HF_FILES = ("model.safetensors", "pytorch_model.bin")


def _hf_cached(repo_id: str) -> Optional[str]:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in HF_FILES:
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str) and Path(found).is_file():
            return found
    return None


def availability() -> list[dict[str, str]]:
    """Per known backbone: whether its weights are available offline, from where, and how to
    get them otherwise."""
    from vsbench.nsc.backbones import BACKBONES, LOCAL_DINO

    rows = []
    for spec in BACKBONES.values():
        if spec.name == LOCAL_DINO:  # no published weights: diffstain trains it here
            trainer = find_spec("lightly") is not None
            rows.append({"backbone": spec.name, "description": spec.description,
                         "offline": "yes (trained here)" if trainer else "no",
                         "source": "trained by `vsbench run` on first use, cached in "
                                   "DATA_ROOT/DATASET/models/",
                         "how": "-" if trainer else "pip install -e '.[selfsup]' (lightly)"})
            continue
        if spec.package:
            installed = find_spec(spec.package.replace("-", "_")) is not None
            rows.append({"backbone": spec.name, "description": spec.description,
                         "offline": "yes" if installed else "no",
                         "source": f"package {spec.package}" if installed else "-",
                         "how": "installed with vsbench" if installed
                         else f"pip install {spec.package}"})
            continue
        cached = _hf_cached(spec.hf_hub_id)
        rows.append({"backbone": spec.name, "description": spec.description,
                     "offline": "yes" if cached else "no",
                     "source": f"HF cache {cached}" if cached else "-",
                     "how": "-" if cached else f"hub repository {spec.hf_hub_id}"})
    return rows


def weights(
    download: Optional[str] = typer.Option(None, "--download", metavar="BACKBONE",
                                           help="Fetch a backbone's weights into the Hugging "
                                           "Face cache (needs the hub)."),
) -> None:
    """List NSC backbones: which have weights here (offline) and how to get the others.

    diffstain uses the requested backbone's weights from --set nsc.weights=PATH,
    $VSBENCH_NSC_WEIGHTS or the local Hugging Face cache; without them it falls back to the packaged
    EfficientNet-Lite0 and records that in the run's config.json.
    """
    console = make_console()
    if download:
        from vsbench.nsc.weights import load_backbone

        _, spec, record = load_backbone(download, allow_download=True, fallback=False)
        console.print(f"{spec.name}: {record.weights_source} {record.path or ''}")
        return
    print_listing(console, "NSC backbones (diffstain --set nsc.backbone=NAME)",
                  ("backbone", "description", "offline", "weights here", "weights from"),
                  [[r["backbone"], r["description"], r["offline"], r["source"], r["how"]]
                   for r in availability()])
    console.print(
        "To use a backbone marked 'no': on a machine that reaches the Hugging Face hub, run "
        "`vsbench weights --download NAME` and copy its cache folder "
        "(~/.cache/huggingface/hub/models--timm--NAME) to the same place here; or get "
        "model.safetensors from the hub repository and pass --set nsc.weights=PATH (or set "
        f"${ENV_WEIGHTS}). Without them, diffstain falls back to the packaged EfficientNet-Lite0 "
        "and records so in the run's config.json (method_record.mask_source).",
        highlight=False)
    env = os.environ.get(ENV_WEIGHTS)
    if env:
        console.print(f"${ENV_WEIGHTS}={env} (used for the requested backbone when set)")
