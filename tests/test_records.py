"""metrics.json's schema versions: every older version read into the current one."""

import json
from pathlib import Path

import pytest

from vsbench.errors import ResultsError
from vsbench.records import SCHEMA_VERSION, MetricsRecord
from vsbench.tiers.registry import all_tiers

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference-synthetic"
REFERENCE = REFERENCE / "runs" / "synthetic"
PIXEL = {"mse": 0.01, "mae": 0.05, "pcc": 0.7, "ssim": 0.6}


def _minimal(**extra):
    return {"method": "unet", "dataset": "synthetic", "dataset_fingerprint": "fp",
            "split_hash": "s", "preset": "smoke", "seed": 0, "n_test_images": 2,
            "channels": {"DNA": PIXEL}, "average": PIXEL, "train_seconds": 1.0,
            "predict_seconds_per_image": 0.1, **extra}


def test_a_committed_older_record_reads_with_every_tier_scored():
    path = next((REFERENCE / "diffstain").glob("*seed0*")) / "metrics.json"
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1 and "tiers" not in raw  # written before version 3
    record = MetricsRecord.parse(path.read_text(), path)
    assert record.schema_version == SCHEMA_VERSION == 3
    assert record.tiers == {name: {"status": "scored", "reason": None}
                            for name in ("instance", "features", "profiles", "posterior")}
    for name in ("instance", "features", "profiles", "posterior"):
        assert all_tiers()[name].has(record)
    assert record.biometrics["tiers"] == ["instance", "features"]  # the summaries unchanged


def test_a_version_1_record_keeps_its_plugin_summaries_and_failures():
    record = MetricsRecord.from_json(_minimal(
        biometrics={"version": 1, "tiers": ["instance"], "instance": {"nuclei": {"f1": 0.9}}},
        profiles={"error": "ValueError: no wells", "traceback": "..."},
        posterior={"skipped": "VSBENCH_TIERS=pixel"},
        tiers={"brightness": {"version": 1, "mean_error": 0.02}}))
    assert record.tiers["instance"] == {"status": "scored", "reason": None}
    assert "features" not in record.tiers  # the pass scored the instance tier alone
    assert record.tiers["profiles"] == {"status": "failed", "reason": "ValueError: no wells"}
    assert record.tiers["posterior"] == {"status": "skipped", "reason": "VSBENCH_TIERS=pixel"}
    assert record.tiers["brightness"]["summary"] == {"version": 1, "mean_error": 0.02}
    assert not all_tiers()["profiles"].has(record)
    # written back as version 3 and read again unchanged (no second upgrade)
    again = MetricsRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again.tiers == record.tiers and again.schema_version == 3


def test_a_version_3_record_is_read_as_written_and_a_bad_status_is_named():
    entry = {"status": "skipped", "reason": "not asked for"}
    record = MetricsRecord.from_json(_minimal(schema_version=3, tiers={"instance": entry}))
    assert record.tiers == {"instance": entry}
    with pytest.raises(ResultsError, match="tiers.instance must be an object with a status "
                                           r"\(scored, skipped, failed\)"):
        MetricsRecord.from_json(_minimal(schema_version=3, tiers={"instance": {"status": "ok"}}))
