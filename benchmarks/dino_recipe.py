"""DINO recipe: the small ViT NSC trains on the training split, former recipe against the new.

``vsbench.nsc.selfsup`` trains a small ViT with DINO on the training split's single-channel
fluorescence images (``--set nsc.backbone=vit_tiny_patch8.dino_local``). Its first recipe
(``RECIPE_V1``, "v1") collapsed: the loss went to ln(K) (K prototypes), the uniform output. For each
recipe (and an untrained ViT as the floor) this script records

- the DINO loss per epoch against ln(K),
- how informative the frozen teacher backbone's features are: a k-NN (cosine, k = 10) and a
  linear probe (logistic regression, standardised features) fitted on the training split and
  scored on the validation split, for two labels the training never saw:
  the image's channel (DNA / ER / RNA / AGP / Mito; one single-channel image each) and the
  perturbation of its well (a field's five channel features concatenated).
  Features: the CLS token and the mean of the patch tokens of the last block (after the final
  norm), of the image at the dataset size, concatenated; normalised as NSC reads the ViT
  (new: ``(x - 0.1) / 0.2``; v1 was read as ``(x - 0.5) / 0.5`` though trained on [0, 1], so
  it is also scored on [0, 1], ``as_trained_input``);
- the spread of those features over images (the mean per-dimension standard deviation,
  relative to the mean norm): near 0 when every image maps to the same point.

    python benchmarks/dino_recipe.py --data-root datasets \
        --out benchmarks/results/dino_recipe.json
    python benchmarks/dino_recipe.py --dataset synthetic-hard --image-size 256 \
        --out benchmarks/results/dino_recipe_hard.json

``--recipes new,v1`` picks the recipes, ``--override '{"lr": 1e-4}'`` changes the new one (for
trying variants), ``--epochs`` the epochs (default: ``NSCConfig().ssl_epochs``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine, print_table, write_json  # noqa: E402

from vsbench.data.splits import load_or_create_split  # noqa: E402
from vsbench.data.torch_dataset import PairedImageDataset  # noqa: E402
from vsbench.layout import dataset_folder  # noqa: E402
from vsbench.nsc.config import NSCConfig  # noqa: E402
from vsbench.nsc.selfsup import RECIPE, RECIPE_V1, build_vit, train_dino_vit  # noqa: E402
from vsbench.plugins import default_registry  # noqa: E402


def load(data_root: Path, dataset: str, size: int):
    """The training and validation fields ``[N, C, H, W]``, their perturbations, channels."""
    registry = default_registry()
    source = registry.dataset(dataset).spec.factory(data_root)
    split = load_or_create_split(source.records(),
                                 dataset_folder(data_root, dataset).split_manifest)
    out = {}
    for name in ("train", "val"):
        data = PairedImageDataset(source, split.ids(name), size)
        fields = torch.stack([data[i]["fluorescence"] for i in range(len(data))]).float()
        out[name] = (fields, [r.labels["perturbation"] for r in data.records])
    return out, list(source.info.channels), source.fingerprint()


@torch.inference_mode()
def features(model: torch.nn.Module, fields: torch.Tensor, norm: tuple[float, float]
             ) -> torch.Tensor:
    """CLS and mean patch token of every single-channel image: ``[N, C, 2 D]``."""
    n, c = fields.shape[:2]
    x = (fields.reshape(n * c, 1, *fields.shape[-2:]) - norm[0]) / norm[1]
    tokens = torch.cat([model.forward_features(chunk) for chunk in x.split(64)])
    prefix = getattr(model, "num_prefix_tokens", 1)
    feats = torch.cat([tokens[:, 0], tokens[:, prefix:].mean(1)], dim=-1)
    return feats.reshape(n, c, -1)


def probe(train_x: np.ndarray, train_y: list, val_x: np.ndarray, val_y: list
          ) -> dict[str, float]:
    """k-NN (cosine, k = 10) and logistic-regression accuracy on the validation set."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    knn = KNeighborsClassifier(n_neighbors=10, metric="cosine").fit(train_x, train_y)
    linear = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=0.1))
    linear.fit(train_x, train_y)
    return {"knn": float(knn.score(val_x, val_y)), "linear": float(linear.score(val_x, val_y))}


def evaluate(model: torch.nn.Module, data: dict, channels: list[str],
             norm: tuple[float, float]) -> dict[str, object]:
    """Channel and perturbation accuracy of the frozen features (inputs ``(x - norm[0]) /
    norm[1]``), and their spread."""
    (train_f, train_p), (val_f, val_p) = data["train"], data["val"]
    ft, fv = features(model, train_f, norm).numpy(), features(model, val_f, norm).numpy()
    channel = probe(ft.reshape(-1, ft.shape[-1]), channels * len(ft),  # [N, C] row-major
                    fv.reshape(-1, fv.shape[-1]), channels * len(fv))
    perturbation = probe(ft.reshape(len(ft), -1), train_p, fv.reshape(len(fv), -1), val_p)
    flat = ft.reshape(-1, ft.shape[-1])
    spread = float(flat.std(0).mean() / (np.linalg.norm(flat, axis=1).mean() + 1e-12))
    return {"channel": channel, "perturbation": perturbation, "feature_spread": spread}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=Path("datasets"))
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--image-size", type=int, default=64)
    ap.add_argument("--recipes", default="untrained,v1,new")
    ap.add_argument("--override", default="{}", help="JSON changes to the new recipe")
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS / "dino_recipe.json")
    args = ap.parse_args()

    data, channels, fingerprint = load(args.data_root, args.dataset, args.image_size)
    config = NSCConfig(ssl_epochs=args.epochs or NSCConfig().ssl_epochs)
    recipes = {"untrained": None, "v1": RECIPE_V1,
               "new": {**RECIPE, **json.loads(args.override)}}
    images = data["train"][0].reshape(-1, 1, args.image_size, args.image_size)
    results, rows = {}, []
    for name in args.recipes.split(","):
        recipe = recipes[name]
        start = time.perf_counter()
        if recipe is None:
            torch.manual_seed(config.seed)
            model, record = build_vit(config.ssl_dim, config.ssl_depth, config.ssl_crop).eval(), {}
        else:
            model, record = train_dino_vit(images, config, recipe)
        # read as NSC reads it (v1: (x - 0.5) / 0.5 though trained on [0, 1]; also as trained)
        norm = tuple(recipe["input_norm"] or (0.5, 0.5)) if recipe else RECIPE["input_norm"]
        scores = evaluate(model, data, channels, norm)
        if recipe is not None and not recipe["input_norm"]:
            scores["as_trained_input"] = evaluate(model, data, channels, (0.0, 1.0))
        losses = record.get("loss_per_epoch", [])
        uniform = math.log(recipe["out_dim"]) if recipe else None
        results[name] = {"recipe": recipe, **record, **scores,
                         "seconds": round(time.perf_counter() - start, 1)}
        rows.append([name, losses[0] if losses else "-", losses[-1] if losses else "-",
                     round(uniform, 3) if uniform else "-", scores["channel"]["knn"],
                     scores["channel"]["linear"], scores["perturbation"]["knn"],
                     scores["perturbation"]["linear"], scores["feature_spread"],
                     record.get("train_seconds", 0.0)])
        print(rows[-1], flush=True)
    print_table(f"DINO recipes on {args.dataset} ({len(images)} training images, "
                f"{config.ssl_epochs} epochs)",
                ["recipe", "loss ep 1", "loss last", "ln K", "channel k-NN", "channel linear",
                 "perturbation k-NN", "perturbation linear", "spread", "train s"], rows)
    write_json(args.out, {"machine": machine(), "dataset": args.dataset,
                          "fingerprint": fingerprint, "image_size": args.image_size,
                          "epochs": config.ssl_epochs, "train_images": len(images),
                          "val_images": int(data["val"][0].shape[0] * len(channels)),
                          "config": {"dim": config.ssl_dim, "depth": config.ssl_depth,
                                     "crop": config.ssl_crop, "seed": config.seed},
                          "results": results})


if __name__ == "__main__":
    main()
