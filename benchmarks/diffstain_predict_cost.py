"""DiffStain's CPU predict cost against palette's, and where it goes (issue 30; not a test).

Side by side in one process, on the default synthetic dataset's test fields at ``--size`` px
(smoke preset networks, freshly initialised with fixed seeds: speed only, the masks are those
of the ground-truth images and of the method's own estimates), seconds per image of:

- ``palette`` predict and ``diffstain`` predict with NSC's CPU path as before issue 30
  (``NSC(reference=True)``: the affinity in torch, then D^-1/2 A D^-1/2 with temporaries, ARPACK
  on the dense array, whose products are ``gemv``) and as now
  (:func:`vsbench.nsc.spectral.normalized_adjacency`: in place, numpy's ``syrk``, the anchor's
  Gram block kept per channel; :func:`vsbench.nsc.spectral.top_eigenvectors`: ARPACK with
  ``symv`` products on one triangle), interleaved repeat by repeat, the fastest kept;
- diffstain's parts: the first estimate (palette's sampler), the backbone features of every
  field of every channel (one pass), per graph the affinity / normalised adjacency, the
  eigensolver and k-means (before; in place with the whole Gram matrix; after), the rest of the
  masks (the masks' total less those parts: tiling, intensities, label synchronisation,
  brightest clusters, upsampling) and the refinement denoising (the SDEdit pass from
  ``start_fraction``);
- the floor: diffstain / palette with the sampling alone, with the features, and with
  everything but the eigensolver and k-means;
- alternatives measured on the same graphs and not adopted (they change the numbers, the
  labels, or do not help): the eigensolver in float32, a looser ARPACK tolerance, k-means with
  one restart, two graphs at a time on two threads, the backbone frozen by TorchScript (batch
  norms folded into the convolutions).

Agreement: the masks of the two paths on the batch's ground truth, on ``--agreement-images``
test fields, and the ``masks`` extra of both predictions (same noise); per graph the
adjacency, eigenvalues, spanned subspace and k-means labels. Writes
``benchmarks/results/diffstain_predict_cost.json``.

    flock /work/cpu.lock python benchmarks/diffstain_predict_cost.py [--images 8] [--size 64]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, machine, print_table, sibling, write_json  # noqa: E402


build = sibling("sampling_speed").build


class Timer:
    """Fastest of the calls timed under each name (calls of different names interleave)."""

    def __init__(self) -> None:
        self.best: dict[str, float] = {}

    def __call__(self, name: str, fn, per: int = 1):
        start = time.perf_counter()
        out = fn()
        self.keep(name, (time.perf_counter() - start) / per)
        return out

    def keep(self, name: str, secs: float) -> None:
        self.best[name] = min(self.best.get(name, np.inf), secs)


def mask_iou(a: torch.Tensor, b: torch.Tensor) -> float:
    """IoU of two boolean mask stacks (1 when both are empty)."""
    union = (a | b).sum().item()
    return (a & b).sum().item() / union if union else 1.0


def graph_inputs(nsc, images: torch.Tensor) -> list[tuple]:
    """Per image and channel, (anchor features, field features, the anchor's Gram block) as
    NSC's CPU path clusters them (one field per image at the smoke preset's 64 px)."""
    b, c = images.shape[:2]
    feats = nsc.features(images.reshape(b * c, 1, *images.shape[-2:]))
    feats = feats.reshape(b * c, -1, feats.shape[-1]).cpu()
    return [(nsc._anchor(i % c).cpu(), feats[i], nsc._anchor_gram(i % c))
            for i in range(b * c)]


def frozen_backbone(features, example: torch.Tensor):
    """The CNN fallback's stages as a frozen TorchScript graph (``optimize_for_inference``
    folds each batch norm into its convolution), or None where that fails."""
    class Stages(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = features.model

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return features._cnn(x)

    try:
        module = Stages().eval()
        for param in module.parameters():
            param.requires_grad_(False)
        with torch.no_grad():
            return torch.jit.optimize_for_inference(torch.jit.freeze(
                torch.jit.trace(module, example)))
    except Exception:  # noqa: BLE001 - an alternative only
        return None


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=8, help="test images per batch")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--agreement-images", type=int, default=32,
                    help="test fields whose ground-truth masks both paths make")
    ap.add_argument("--data-root", type=Path, default=REPO / "datasets")
    ap.add_argument("--output", type=Path, default=RESULTS / "diffstain_predict_cost.json")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from scipy.linalg.blas import get_blas_funcs
    from scipy.sparse.linalg import LinearOperator, eigsh

    from vsbench.data.torch_dataset import PairedImageDataset
    from vsbench.diffusion.guided import form_guide
    from vsbench.engine import RunRequest, plan_run
    from vsbench.nsc.spectral import (_normalized_adjacency, augmented_affinity,
                                      kmeans_labels, normalized_adjacency, spectral_embedding,
                                      top_eigenvectors)

    device = torch.device("cpu")
    palette, batch = build("palette", "smoke", args.size, args.images, args.data_root, device)
    diffstain, _ = build("diffstain", "smoke", args.size, args.images, args.data_root, device)
    nsc, n, p, cfg = diffstain.nsc, args.images, diffstain.params, diffstain.nsc.config
    timer = Timer()

    def predict(method, reference: bool | None = None):
        if reference is not None:
            nsc.reference = reference
        torch.manual_seed(0)
        return method.predict(batch)

    with torch.inference_mode():
        predict(palette), predict(diffstain, True), predict(diffstain, False)  # warm-up
        for _ in range(args.repeats):  # interleaved: a drift in the machine's load hits all
            timer("palette predict", lambda: predict(palette), n)
            timer("diffstain predict (before)", lambda: predict(diffstain, True), n)
            timer("diffstain predict (after)", lambda: predict(diffstain, False), n)
        masks_pred = {ref: predict(diffstain, ref).extras["masks"] for ref in (True, False)}

        # diffstain's parts, on the masks' own input (the first estimate)
        current = {**batch, "masks": None}
        torch.manual_seed(0)
        estimate = diffstain.generate(current).float()
        nsc.reference = False
        guide = form_guide(nsc.masks(estimate), estimate, p.guide)
        for _ in range(args.repeats):
            torch.manual_seed(0)
            timer("first estimate (palette's sampler)", lambda: diffstain.generate(current), n)
            for ref in (True, False):
                nsc.reference = ref
                timer(f"NSC masks ({'before' if ref else 'after'})",
                      lambda: nsc.masks(estimate), n)
            torch.manual_seed(0)
            timer("refinement denoising", lambda: diffstain.generate(
                current, start=guide, start_fraction=p.start_fraction), n)
            nsc.reference = False
            graphs = timer("backbone features", lambda: graph_inputs(nsc, estimate), n)

    # Per graph, the steps of each path, one graph at a time as NSC runs them: each M is
    # dropped before the next is built (keeping them all would time the kernel's page faults
    # on fresh memory, not the steps).
    def adj_before(a, f, g):
        return _normalized_adjacency(augmented_affinity(a, f))

    def adj_whole(a, f, g):  # in place, the whole Gram matrix by one syrk
        return normalized_adjacency(a, f)

    def adj_after(a, f, g):  # and the anchor's block kept per channel
        return normalized_adjacency(a, f, g)

    def eig_before(m):  # spectral_embedding's eigsh branch on a ready M: gemv products
        v0 = np.random.default_rng(cfg.seed).standard_normal(len(m))
        top, vec = eigsh(m, k=cfg.r + 1, which="LA", v0=v0, tol=1e-10, maxiter=20 * len(m))
        order = np.argsort(-top)
        return 1.0 - top[order][1:], vec[:, order][:, 1:]

    def eig_after(m):
        return top_eigenvectors(m, cfg.r, cfg.seed)

    def eig_variant(m, dtype=np.float64, tol=1e-10):  # symv products in another precision
        mm = m.astype(dtype, copy=False)
        symv, mf, size = get_blas_funcs("symv", (mm,)), mm.T, len(m)
        op = LinearOperator((size, size), matvec=lambda v: symv(1.0, mf, v.ravel()),
                            dtype=dtype)
        v0 = np.random.default_rng(cfg.seed).standard_normal(size).astype(dtype)
        top, vec = eigsh(op, k=cfg.r + 1, which="LA", v0=v0, tol=tol, maxiter=20 * size)
        order = np.argsort(-top)
        return 1.0 - top[order][1:], vec[:, order][:, 1:].astype(np.float64)

    def kmeans(e, n_init=cfg.n_init):
        return kmeans_labels(e, cfg.k, cfg.seed, n_init)

    def steps(name: str, adjacency, solve, cluster=kmeans, into: Timer = timer) -> list:
        """Each graph's adjacency, eigensolver and k-means, timed step by step (summed over
        the graphs, per image); returns per graph (eigenpairs, labels)."""
        spent, out = np.zeros(3), []
        for a, f, g in graphs:
            t0 = time.perf_counter()
            m = adjacency(a, f, g)
            t1 = time.perf_counter()
            pair = solve(m)
            t2 = time.perf_counter()
            labels = cluster(pair[1])
            t3 = time.perf_counter()
            spent += (t1 - t0, t2 - t1, t3 - t2)
            out.append((pair, labels))
            del m
        for part, secs in zip(("affinity + normalised adjacency", "eigensolver", "k-means"),
                              spent):
            into.keep(f"{part} ({name})", secs / n)
        return out

    def pipeline(graph):
        return kmeans(eig_after(adj_after(*graph))[1])

    alt_t = Timer()
    with threadpool_limits(limits=1):  # as NSC runs them
        for _ in range(args.repeats):
            old = steps("before", adj_before, eig_before)
            steps("in place, whole Gram matrix", adj_whole, eig_after)
            new = steps("after", adj_after, eig_after)
            # alternatives (not adopted)
            f32 = steps("float32", lambda *g: adj_after(*g).astype(np.float32),
                        lambda m: eig_variant(m, np.float32), into=alt_t)
            tol5 = steps("tol 1e-5", adj_after, lambda m: eig_variant(m, tol=1e-5), into=alt_t)
            one_restart = steps("n_init 1", adj_after, eig_after, lambda e: kmeans(e, 1),
                                into=alt_t)
            with ThreadPoolExecutor(2) as pool:
                two = alt_t("two threads", lambda: list(pool.map(pipeline, graphs)), n)
            alt_t("one thread", lambda: [pipeline(g) for g in graphs], n)
        # what clustering calls with reference=True gives what the steps above timed
        direct = [spectral_embedding(augmented_affinity(a, f), cfg.r, "eigsh", cfg.seed)
                  for a, f, _ in graphs[:2]]
        assert all(np.array_equal(x[1], y[0][1]) for x, y in zip(direct, old))
        adj_diff = max(float(np.abs(adj_before(*g) - adj_after(*g)).max()) for g in graphs)
        whole_equal = all(np.array_equal(adj_whole(*g), adj_after(*g)) for g in graphs)
        # ARPACK's products with M per graph (the same for both paths)
        count, probe = [0], adj_after(*graphs[0])

        def counted(v):
            count[0] += 1
            return probe @ v

        eigsh(LinearOperator(probe.shape, matvec=counted, dtype=probe.dtype), k=cfg.r + 1,
              which="LA", v0=np.random.default_rng(cfg.seed).standard_normal(len(probe)),
              tol=1e-10, maxiter=20 * len(probe))

    def same(rows) -> int:
        return int(sum(np.array_equal(x, y[1]) for x, y in zip(rows, new)))

    def eig_diff(rows) -> float:
        return float(max(np.abs(x[0][0] - y[0][0]).max() for x, y in zip(rows, new)))

    graph_agreement = {
        "graphs": len(graphs), "nodes": int(len(graphs[0][0]) + len(graphs[0][1])),
        "adjacency_max_abs_diff": adj_diff, "anchor_block_bitwise_equal": whole_equal,
        "eigenvalue_max_abs_diff": eig_diff(old),
        "subspace_max_abs_diff": float(max(np.abs(a[0][1] @ a[0][1].T
                                                  - b[0][1] @ b[0][1].T).max()
                                           for a, b in zip(new, old))),
        "labels_identical": same([x[1] for x in old]),
        "arpack_products_per_graph": count[0]}

    # the backbone with its batch norms folded (an alternative: changes the features)
    with torch.inference_mode():
        flat = estimate.reshape(-1, 1, *estimate.shape[-2:])
        feats_fn = nsc.features
        x = feats_fn.prepare(flat)
    frozen = frozen_backbone(feats_fn, x[:feats_fn.batch_size])
    if frozen is not None:
        with torch.no_grad():
            for _ in range(args.repeats):
                plain = alt_t("backbone stages", lambda: torch.cat(
                    [feats_fn._forward(c) for c in x.split(feats_fn.batch_size)]), n)
                folded = alt_t("backbone stages, frozen", lambda: torch.cat(
                    [frozen(c) for c in x.split(feats_fn.batch_size)]), n)
        folded_diff = float((plain - folded).abs().max() / plain.abs().max())

    a_ = alt_t.best
    alt = {
        "eigensolver in float32 (ARPACK single precision, ssymv)": {
            "seconds_per_image": a_["eigensolver (float32)"],
            "labels_identical": same([x[1] for x in f32]), "eigenvalue_max_abs_diff":
            eig_diff(f32), "note": "adjacency then float32: "
            f"{a_['affinity + normalised adjacency (float32)']:.4f} s/image"},
        "eigensolver tolerance 1e-5 (1e-10 now)": {
            "seconds_per_image": a_["eigensolver (tol 1e-5)"],
            "labels_identical": same([x[1] for x in tol5]),
            "eigenvalue_max_abs_diff": eig_diff(tol5), "note": ""},
        "k-means with 1 restart (n_init=3 now)": {
            "seconds_per_image": a_["k-means (n_init 1)"],
            "labels_identical": same([x[1] for x in one_restart]), "note": ""},
        "two graphs at a time on two threads (adjacency + eigensolver + k-means)": {
            "seconds_per_image": a_["two threads"], "labels_identical": same(two),
            "note": f"one thread: {a_['one thread']:.4f} s/image"}}
    if frozen is not None:
        alt["backbone frozen by TorchScript (batch norm folded into the convolutions)"] = {
            "seconds_per_image": a_["backbone stages, frozen"],
            "note": f"as now: {a_['backbone stages']:.4f} s/image; features differ by "
                    f"{folded_diff:.1e} of their largest"}

    # the masks' agreement on ground truth: the batch and more test fields
    with torch.inference_mode():
        plan = plan_run(RunRequest(dataset="synthetic",
                                   method="diffstain", preset="smoke", data_root=args.data_root,
                                   overrides={"image_size": args.size}), device=device)
        test = PairedImageDataset(plan.source, plan.test_ids[:args.agreement_images], args.size)
        truth = torch.stack([test[i]["fluorescence"] for i in range(len(test))]).float()
        gt, gt_batch = {}, {}
        for ref in (True, False):
            nsc.reference = ref
            gt[ref] = torch.cat([nsc.masks(chunk) for chunk in truth.split(8)])
            gt_batch[ref] = nsc.masks(batch["fluorescence"].float())
        nsc.reference = False

    s = timer.best
    for name in ("before", "after"):  # the masks' total less their parts timed alone
        s[f"rest of the masks ({name})"] = s[f"NSC masks ({name})"] - s["backbone features"] - sum(
            s[f"{part} ({name})"] for part in ("affinity + normalised adjacency", "eigensolver",
                                               "k-means"))
    pal = s["palette predict"]
    # the first estimate is palette's predict (the same network and sampler): the sampling is
    # palette's time plus the refinement's (the first estimate timed after the masks ran
    # slower than palette's predict, caches evicted by the masks' 20 MB matrices)
    sampling = pal + s["refinement denoising"]
    floor = {
        "sampling alone (palette predict + refinement) / palette": sampling / pal,
        "plus backbone features / palette": (sampling + s["backbone features"]) / pal,
        "plus adjacency and rest of the masks (eigensolver, k-means free) / palette":
            (sampling + s["backbone features"] + s["affinity + normalised adjacency (after)"]
             + s["rest of the masks (after)"]) / pal,
        "2.5 x palette leaves for the masks (s/image)": 2.5 * pal - sampling}
    ratios = {"diffstain / palette (before)": s["diffstain predict (before)"] / pal,
              "diffstain / palette (after)": s["diffstain predict (after)"] / pal,
              "NSC masks before / after": s["NSC masks (before)"] / s["NSC masks (after)"],
              "adjacency before / after": s["affinity + normalised adjacency (before)"]
              / s["affinity + normalised adjacency (after)"],
              "eigensolver before / after": s["eigensolver (before)"]
              / s["eigensolver (after)"]}
    agreement = {"mask_iou_gt_batch": mask_iou(gt_batch[True], gt_batch[False]),
                 "mask_iou_gt_test_fields": mask_iou(gt[True], gt[False]),
                 "gt_test_fields": len(truth),
                 "masks_identical_gt_test_fields": bool(torch.equal(gt[True], gt[False])),
                 "mask_iou_predict": mask_iou(masks_pred[True], masks_pred[False]),
                 "masks_identical_predict": bool(torch.equal(masks_pred[True],
                                                             masks_pred[False])),
                 **graph_agreement}
    rec = nsc.record()
    print_table(f"DiffStain predict cost: {n} test images x {truth.shape[1]} channels at "
                f"{args.size} px, backbone {rec['backbone']}, s/image", ["step", "s/image"],
                list(s.items()))
    print_table("Ratios, floor and agreement", ["what", "value"],
                list(ratios.items()) + list(floor.items()) + list(agreement.items()))
    print_table("Alternatives (not adopted)", ["what", "s/image", "labels identical", "note"],
                [(k, v["seconds_per_image"], v.get("labels_identical", ""), v["note"])
                 for k, v in alt.items()])
    out = {"benchmark": "diffstain_predict_cost", "images": n, "size": args.size,
           "repeats": args.repeats, "preset": "smoke", "backbone": rec["backbone"],
           "grid": rec["grid"], "sampler": {"steps": p.sample_steps,
                                            "start_fraction": p.start_fraction},
           "seconds_per_image": s, "ratios": ratios, "floor": floor, "agreement": agreement,
           "alternatives": alt, "alternative_seconds": a_, "machine": machine()}
    write_json(args.output, out)
    return out


if __name__ == "__main__":
    main()
