"""The tier headlines that `run`, `evaluate` and `score` print: the numbers come from the
record, a tier without numbers says why."""

from __future__ import annotations

from pathlib import Path

from vsbench.cli.headlines import tier_rows
from vsbench.records import MetricsRecord
from vsbench.store import RunFolder

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference-synthetic"
REFERENCE = REFERENCE / "runs" / "synthetic"


def _record(method: str) -> MetricsRecord:
    folder = sorted((REFERENCE / method).iterdir())[0]
    return RunFolder(folder).read_metrics()


def test_a_stochastic_runs_headlines_hold_its_numbers():
    record = _record("palette")
    rows = dict(tier_rows(record))
    nuclei = record.biometrics["instance"]["nuclei"]["f1"]
    cells = record.biometrics["instance"]["cells"]["f1"]
    assert rows["instance"].startswith(f"nuclei F1 {nuclei:.3f}, cells F1 {cells:.3f}")
    average = record.biometrics["features"]["average"]
    assert f"feature r {average['median_pearson']:.3f} (median" in rows["features"]
    real, virtual = record.profiles["real"], record.profiles["virtual"]
    assert (f"activity mAP {virtual['mean_map']:.3f} (real stain {real['mean_map']:.3f})"
            in rows["profiles"])
    n = real["n_perturbations"]
    assert (f"retrieved {round(virtual['fraction_retrieved'] * n)} of {n} (real stain "
            f"{round(real['fraction_retrieved'] * n)} of {n})") in rows["profiles"]
    posterior = record.posterior["average"]
    assert rows["posterior"] == (
        f"CRPS {posterior['crps']:.4f}, coverage 50 % / 90 % {posterior['coverage_50']:.2f} / "
        f"{posterior['coverage_90']:.2f} (a calibrated 4-sample ensemble: 0.30 / 0.54)")


def test_a_deterministic_or_unscored_run_says_why_each_tier_has_no_numbers():
    record = _record("unet")
    assert dict(tier_rows(record))["posterior"].startswith("not applicable: the method is "
                                                           "deterministic")
    bare = record.replace(biometrics={"skipped": "VSBENCH_TIERS=pixel"}, profiles=None,
                          posterior={"skipped": "a distributed run draws no extra samples"})
    assert tier_rows(bare) == [
        ("instance", "skipped: VSBENCH_TIERS=pixel"),
        ("features", "skipped: VSBENCH_TIERS=pixel"),
        ("profiles", "not scored (`vsbench evaluate` scores it)"),
        ("posterior", "skipped: a distributed run draws no extra samples")]
