"""How often the boards' 95% intervals cover the truth, and how often their paired tests reject
a true null, on simulated boards whose answer is known (``benchmarks/README.md``).

A simulated row: S seeds x W wells x 2 sites, value = 0.5 + seed effect + well effect + noise
(the reference board's scale: seed SD up to 0.05, well SD 0.05, site noise 0.02). Compared:

- ``pooled``: the previous boards' method - seeds averaged per image, then a percentile
  bootstrap over images (:func:`vsbench.stats.bootstrap_ci`) and a Wilcoxon signed-rank test
  over images (:func:`vsbench.stats.paired_p_value`);
- ``images``: :mod:`vsbench.resampling` with every image its own cluster (seeds resampled);
- ``wells``: :mod:`vsbench.resampling` with sites nested in wells (what boards now use).

Run: ``python benchmarks/bootstrap_coverage.py [--trials 200]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from vsbench import stats
from vsbench.resampling import Design, interval, paired_p

WELLS, SITES = 12, 2
SCENARIOS = (  # (seeds, seed SD, well SD)
    (3, 0.0, 0.05), (3, 0.02, 0.05), (3, 0.05, 0.05), (8, 0.05, 0.05), (3, 0.02, 0.0))


def _row(rng, seeds, seed_sd, wells_effect, noise=0.02):
    units = [f"w{w:02d}_s{s}" for w in range(WELLS) for s in range(SITES)]
    return [pd.DataFrame({"x": 0.5 + rng.normal(0, seed_sd) + wells_effect
                          + rng.normal(0, noise, len(units))}, index=units) for _ in range(seeds)]


def _trial(seed, seeds, seed_sd, well_sd, resamples):
    rng = np.random.default_rng(seed)
    wells_effect = rng.normal(0, well_sd, WELLS).repeat(SITES)
    a = _row(rng, seeds, seed_sd, wells_effect)
    b = _row(rng, seeds, seed_sd, wells_effect)  # same wells, same truth: a true null
    units = a[0].index
    designs = {"images": Design.of(units),
               "wells": Design.of(units, {u: u.split("_")[0] for u in units}, "wells")}
    covered, rejected = {}, {}
    # The truth of a row is 0.5 plus the mean well effect of these wells (the board's
    # question is about these test wells' population: their effects are drawn anew).
    truth = 0.5
    pooled = pd.concat(a).groupby(level=0).mean()
    low, high = stats.bootstrap_ci(pooled, n_resamples=resamples, seed=seed)
    covered["pooled"] = bool(low["x"] <= truth <= high["x"])
    rejected["pooled"] = stats.paired_p_value(pooled["x"],
                                              pd.concat(b).groupby(level=0).mean()["x"]) < 0.05
    for name, design in designs.items():
        low, high = interval(a, design, ["x"], n_resamples=resamples, seed=seed)
        covered[name] = bool(low[0] <= truth <= high[0])
        rejected[name] = paired_p(a, b, design, "x", n_resamples=resamples, seed=seed) < 0.05
    return covered, rejected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "results" / "bootstrap_coverage.json")
    args = parser.parse_args()
    rows = []
    for seeds, seed_sd, well_sd in SCENARIOS:
        cover, reject = {}, {}
        for t in range(args.trials):
            c, r = _trial(t, seeds, seed_sd, well_sd, args.resamples)
            for k in c:
                cover[k] = cover.get(k, 0) + c[k]
                reject[k] = reject.get(k, 0) + r[k]
        rows.append({"seeds": seeds, "seed_sd": seed_sd, "well_sd": well_sd,
                     **{f"coverage_{k}": v / args.trials for k, v in cover.items()},
                     **{f"false_positive_{k}": v / args.trials for k, v in reject.items()}})
    print("| seeds | seed SD | well SD | coverage pooled | images | wells | "
          "false positives pooled | images | wells |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['seeds']} | {r['seed_sd']} | {r['well_sd']} | "
              f"{r['coverage_pooled']:.2f} | {r['coverage_images']:.2f} | "
              f"{r['coverage_wells']:.2f} | {r['false_positive_pooled']:.2f} | "
              f"{r['false_positive_images']:.2f} | {r['false_positive_wells']:.2f} |")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"trials": args.trials, "resamples": args.resamples,
                                       "wells": WELLS, "sites": SITES, "rows": rows},
                                      indent=1) + "\n")


if __name__ == "__main__":
    main()
