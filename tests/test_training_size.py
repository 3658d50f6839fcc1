"""A training split too small to train on (issue 31) is refused at `data prepare` and at run
planning with the sizes named, before anything is trained, cached or written - not deep in
BatchNorm ("Expected more than 1 value per channel when training")."""

from __future__ import annotations

import pytest

from tests.conftest import invoke
from vsbench.data.source import SampleRecord
from vsbench.data.splits import check_trainable
from vsbench.data.sources.synthetic.source import SyntheticSource
from vsbench.engine import RunRequest, plan_run
from vsbench.errors import DataError
from vsbench.layout import dataset_folder


def _one_training_image(data_root):
    """The synthetic dataset's split edited by hand: one training image, the rest val/test."""
    records = SyntheticSource().records()
    lines = ["sample_id,plate,well,site,part"]
    for i, r in enumerate(records):
        part = "train" if i == 0 else "test" if r.plate == records[-1].plate else "val"
        lines.append(f"{r.sample_id},{r.plate},{r.well},{r.site},{part}")
    manifest = dataset_folder(data_root, "synthetic").split_manifest
    manifest.parent.mkdir(parents=True)
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


def test_planning_refuses_a_one_image_training_part(tmp_path):
    manifest = _one_training_image(tmp_path / "data")
    with pytest.raises(DataError) as err:
        plan_run(RunRequest(dataset="synthetic",
                            method="unet", data_root=tmp_path / "data", device="cpu"))
    assert (f"The train part of split {manifest} holds 1 sample(s); training needs at least 2"
            in str(err.value))


def test_planning_refuses_max_train_images_below_two(tmp_path):
    with pytest.raises(DataError) as err:
        plan_run(RunRequest(dataset="synthetic", method="unet", overrides={"max_train_images": 1},
                            data_root=tmp_path / "data", device="cpu"))
    assert "--set max_train_images=1 leaves 1 training image(s) of the 96 in split" in str(
        err.value)
    assert "set max_train_images to 2 or more" in str(err.value)
    plan_run(RunRequest(dataset="synthetic", method="unet", overrides={"max_train_images": 2},
                        data_root=tmp_path / "data", device="cpu"))  # two are enough


def test_data_prepare_refuses_it_before_building_the_cache(tmp_path):
    manifest = _one_training_image(tmp_path / "data")
    out = invoke(["data", "prepare", "--dataset", "synthetic", "--data-root",
                  str(tmp_path / "data")])
    assert out.returncode == 2
    text = " ".join((out.stdout + out.stderr).split())
    assert f"The train part of split {manifest} holds 1 sample(s)" in text
    assert "Traceback" not in text
    assert sorted(p.name for p in manifest.parent.iterdir()) == ["split.csv"]  # no cache


def test_a_split_not_yet_made_is_checked_without_writing_it(tmp_path):
    records = [SampleRecord("a1", "A", "01", "1"),  # plate A: the one training plate
               *(SampleRecord(f"{p}{i}", p, "01", str(i)) for p in "BC" for i in range(3))]
    manifest = tmp_path / "split.csv"
    with pytest.raises(DataError, match="The train part of split .* holds 1 sample"):
        check_trainable(records, manifest, "toy")
    assert not manifest.exists()
    assert check_trainable([*records, SampleRecord("a2", "A", "01", "2")], manifest,
                           "toy") is None
