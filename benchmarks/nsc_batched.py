"""DiffStain's masks before and after batching NSC (not a test).

Side by side in one process, on the same test batch (freshly initialised smoke networks: speed
only, the masks are those of the ground-truth images and of the method's own estimates):

- where NSC's time goes, per image (all channels): the backbone's features (plain NCHW, then
  channels_last), the eigensolver (ARPACK ``eigsh`` one graph at a time, then the batched
  solver of :mod:`vsbench.nsc.batched`), k-means (scikit-learn, CPU);
- NSC's masks per image, ``NSC(batched=False)`` with NCHW features (the path before) against
  the default; the IoU of their masks and the mean cluster IoU of their labels;
- seconds per predicted image of ``palette`` and of ``diffstain`` (before / after), default
  smoke sampler, and the IoU of the masks of the two ``diffstain`` predictions (same noise);
- dense ``eigh`` against block Krylov on batches of graphs of 128 and 1568 nodes (the threshold
  :data:`vsbench.nsc.batched.DENSE_MAX_NODES`).

    python benchmarks/nsc_batched.py [--images 8] [--size 64] [--repeats 2]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, sibling, write_json  # noqa: E402


cluster_iou = sibling("nsc_eigensolvers").cluster_iou
build = sibling("sampling_speed").build


def best(fn, repeats: int) -> float:
    """Fastest of ``repeats`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    """IoU of two boolean mask stacks (1 when both are empty)."""
    union = (a | b).sum().item()
    return (a & b).sum().item() / union if union else 1.0


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--data-root", type=Path, default=REPO / "datasets")
    ap.add_argument("--output", type=Path, default=RESULTS / "nsc_batched.json")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from vsbench.nsc.batched import _krylov, batched_adjacency, spectral_embeddings
    from vsbench.nsc.spectral import augmented_affinity, kmeans_labels, spectral_embedding

    device = torch.device("cpu")
    palette, batch = build("palette", "smoke", args.size, args.images, args.data_root, device)
    diffstain, _ = build("diffstain", "smoke", args.size, args.images, args.data_root, device)
    nsc, n = diffstain.nsc, args.images
    feats_fn = nsc.features
    images = batch["fluorescence"].float()
    b, c = images.shape[:2]
    flat = images.reshape(b * c, 1, *images.shape[-2:])

    def layout(channels_last: bool) -> None:
        feats_fn.channels_last = channels_last
        feats_fn.model.to(memory_format=torch.contiguous_format)

    cnn = feats_fn.kind == "cnn-stages"
    prof: dict[str, float] = {}
    if cnn:
        layout(False)
        prof["features NCHW"] = best(lambda: feats_fn(flat), args.repeats) / n
        layout(True)
    prof["features"] = best(lambda: feats_fn(flat), args.repeats) / n
    feats = feats_fn(flat)
    g = feats.shape[1]
    feats = feats.reshape(b * c, g * g, -1)
    anchors = torch.stack([nsc._anchor(j) for j in range(c)] * b)  # [b c, n_a, D]
    with threadpool_limits(limits=1):
        def arpack():
            return [spectral_embedding(augmented_affinity(a, f), nsc.config.r, "eigsh",
                                       nsc.config.seed) for a, f in zip(anchors, feats)]
        prof["eigsh (ARPACK, one graph at a time)"] = best(arpack, args.repeats) / n
        ref = arpack()
        prof["batched eigensolver"] = best(lambda: spectral_embeddings(
            anchors, feats, nsc.config.r, nsc.config.seed), args.repeats) / n
        values, vectors, used = spectral_embeddings(anchors, feats, nsc.config.r,
                                                    nsc.config.seed)
        prof["k-means"] = best(lambda: [kmeans_labels(e, nsc.config.k, 0, nsc.config.n_init)
                                        for _, e in ref], 1) / n
        k = nsc.config.k
        cl_iou = [cluster_iou(kmeans_labels(v, k, 0, nsc.config.n_init),
                              kmeans_labels(e, k, 0, nsc.config.n_init), k)
                  for v, (_, e) in zip(vectors, ref)]
        value_diff = float(max(np.abs(v - e).max() for v, (e, _) in zip(values, ref)))

    def old_path(on: bool) -> None:
        nsc.batched = not on  # "after": batched forced, also on the CPU
        if cnn:
            layout(not on)

    old_path(True)
    prof["masks before"] = best(lambda: nsc.masks(images), args.repeats) / n
    masks_before = nsc.masks(images)
    old_path(False)
    prof["masks after"] = best(lambda: nsc.masks(images), args.repeats) / n
    masks_after = nsc.masks(images)

    def predict(method):
        torch.manual_seed(0)
        return method.predict(batch)

    with torch.inference_mode():
        prof["palette predict"] = best(lambda: predict(palette), args.repeats) / n
        old_path(True)
        prof["diffstain predict before"] = best(lambda: predict(diffstain), args.repeats) / n
        pred_before = predict(diffstain).extras["masks"]
        old_path(False)
        prof["diffstain predict after"] = best(lambda: predict(diffstain), args.repeats) / n
        pred_after = predict(diffstain).extras["masks"]
    # dense eigh against Krylov by graph size (random clustered features, 8 graphs)
    solver_rows = []
    gen = torch.Generator().manual_seed(0)
    for half in (64, 784):
        centres = torch.randn(5, 32, generator=gen)
        pts = centres[torch.randint(0, 5, (8, 2 * half), generator=gen)]
        pts = pts + 0.8 * torch.randn(pts.shape, generator=gen)
        m = batched_adjacency(pts[:, :half], pts[:, half:])
        t_dense = best(lambda: torch.linalg.eigh(m), 1) / 8
        t_kry = best(lambda: _krylov(m, nsc.config.r + 1, 0), 2) / 8
        solver_rows.append({"nodes": 2 * half, "dense_s": t_dense, "krylov_s": t_kry})
    rows = [(name, secs) for name, secs in prof.items()]
    ratios = {"masks before / after": prof["masks before"] / prof["masks after"],
              "diffstain before / palette": prof["diffstain predict before"]
              / prof["palette predict"],
              "diffstain after / palette": prof["diffstain predict after"]
              / prof["palette predict"]}
    print_table(f"NSC batched: {n} images x {c} channels at {args.size} px, backbone "
                f"{nsc.record()['backbone']}, solvers {sorted(used)}", ["step", "s/image"],
                rows)
    agreement = {"mask_iou_gt": mask_iou(masks_before, masks_after),
                 "mask_iou_predict": mask_iou(pred_before, pred_after),
                 "cluster_iou_min": float(min(cl_iou)), "cluster_iou_mean":
                 float(np.mean(cl_iou)), "eigenvalue_max_abs_diff": value_diff}
    print_table("Ratios and agreement", ["what", "value"],
                list(ratios.items()) + list(agreement.items()))
    print_table("Dense eigh vs block Krylov, s per graph", ["nodes", "dense", "krylov"],
                [(r["nodes"], r["dense_s"], r["krylov_s"]) for r in solver_rows])
    record = {"benchmark": "nsc_batched", "images": n, "channels": c, "size": args.size,
              "torch_threads": torch.get_num_threads(), "seconds_per_image": prof,
              "ratios": ratios, "agreement": agreement, "solvers": solver_rows,
              "batched_solvers_used": sorted(used), "machine": machine()}
    write_json(args.output, record)
    return record


if __name__ == "__main__":
    main()
