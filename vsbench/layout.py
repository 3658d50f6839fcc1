"""Where things live on disk (torch-free): the data root and the results folder, in one place.

Data root (``--data-root``, default ``datasets/``), one folder per dataset::

    <data_root>/<dataset>/
        split.csv       the split manifest (its hash identifies the split in every result)
        source.json     the source's settings (``vsbench data prepare --set``, ``data fetch``)
        digests.json    remembered content digests of the source's files
        cache/          preprocessed, memory-mapped caches, one folder per size and key
        masks/          masks a method derives from the training split (cached)
        models/         models a method trains on the dataset itself (e.g. a self-supervised
                        backbone), keyed by the data and the settings
        biometrics/     the ground truth's objects and cell features of the biological
                        tiers, one .npz per fingerprint, split, size and settings; the real
                        stain's profile scores, profiles-<key>.json

Results folder (``--results``, default ``results/``)::

    <results>/runs/<dataset>/<method>/<run-id>/   one run (the files named below)
    <results>/leaderboard.<ext>                   what ``vsbench compare --format`` writes
    <results>/report/report.html                  what ``vsbench report`` writes
    <results>/submitit/                           logs of jobs a sweep submitted
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Files of a run folder.
CONFIG_FILE = "config.json"  # what produced the run (records.ConfigRecord)
STATE_FILE = "state.json"  # running / completed / failed (records.StateRecord)
METRICS_FILE = "metrics.json"  # the scores (records.MetricsRecord)
PER_IMAGE_FILE = "per_image_metrics.csv"  # one row per test image and channel
TEST_FIELDS_FILE = "test_fields.csv"  # the test fields' plate, well and site (the design)
# the same for a guided method's unguided first estimates (paired with the guided rows)
PER_IMAGE_UNGUIDED_FILE = "per_image_metrics_unguided.csv"
TRAIN_LOG_FILE = "train_log.csv"  # loss per epoch
CHECKPOINT_FILE = "checkpoint.pt"  # the training state, for --resume
PREVIEW_FILE = "predictions.png"  # a few test fields beside their ground truth
PREDICTIONS_FILE = "predictions.npz"  # the arrays of that picture (the report's gallery)
MODEL_CACHE_DIR = "models"  # under a dataset's folder: models trained on the dataset itself
MASKS_PNG, MASKS_NPZ = "masks.png", "masks.npz"  # the masks a mask-guided method used
TEST_PREDICTIONS_FILE = "test_predictions.npz"  # every test prediction, float16 (rescoring)
PER_IMAGE_INSTANCE_FILE = "per_image_instance.csv"  # instance tier: per field and object kind
CELL_FEATURES_FILE = "cell_features.csv.gz"  # feature tier: per object, channel, feature
FEATURE_SCORES_FILE = "feature_scores.csv"  # feature tier: per feature, real vs predicted
PROFILES_MAP_FILE = "profiles_map.csv"  # profile tier: per perturbation, mAP real and virtual
PROFILES_CONSISTENCY_FILE = "profiles_consistency.csv"  # profile tier: per target
PER_IMAGE_POSTERIOR_FILE = "per_image_posterior.csv"  # posterior tier: per image and channel
PER_IMAGE_MEAN_FILE = "per_image_metrics_mean.csv"  # posterior tier: the sample mean's scores
POSTERIOR_SAMPLES_FILE = "posterior_samples.npz"  # posterior tier: one field's samples
FEATURE_POSTERIOR_FILE = "feature_posterior.csv"  # posterior tier: samples' cell features
PER_IMAGE_FEATURE_POSTERIOR_FILE = "per_image_feature_posterior.csv"  # ... per field, channel
TENSORBOARD_DIR = "tensorboard"

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class DatasetFolder:
    """The folder of one dataset under a data root."""

    data_root: Path
    dataset: str

    @property
    def path(self) -> Path:
        """``<data_root>/<dataset>``."""
        return Path(self.data_root) / self.dataset

    @property
    def split_manifest(self) -> Path:
        """The split manifest, ``split.csv``."""
        return self.path / "split.csv"

    @property
    def settings_file(self) -> Path:
        """The source's settings, ``source.json``."""
        return self.path / "source.json"

    @property
    def digests_file(self) -> Path:
        """Remembered content digests of the source's files."""
        return self.path / "digests.json"

    @property
    def cache_root(self) -> Path:
        """Where the preprocessed caches are."""
        return self.path / "cache"

    @property
    def method_cache(self) -> Path:
        """Where methods cache what they derive from this dataset (``Method.prepare``'s
        ``cache_dir``)."""
        return self.path

    @property
    def mask_cache(self) -> Path:
        """Cached masks of the training split."""
        return self.path / "masks"

    @property
    def biometrics_cache(self) -> Path:
        """The ground truth's objects and features of the biological tiers (cached)."""
        return self.path / "biometrics"

    @property
    def model_cache(self) -> Path:
        """Models trained on the dataset itself (keyed by the data and settings)."""
        return self.path / MODEL_CACHE_DIR


def dataset_folder(data_root: Path, dataset: str) -> DatasetFolder:
    """The folder of ``dataset`` under ``data_root``."""
    return DatasetFolder(Path(data_root), dataset)


def recorded_data_root(split_manifest: str | None) -> Path:
    """The data root a run used, from its recorded split manifest (``DATA_ROOT/DATASET/
    split.json``): the parent of its dataset folder; ``datasets`` when the run does not
    record one."""
    return Path(split_manifest).parent.parent if split_manifest else Path("datasets")


def runs_root(results_dir: Path) -> Path:
    """``<results>/runs``: every run folder is below it."""
    return Path(results_dir) / "runs"


def method_runs(results_dir: Path, dataset: str, method: str) -> Path:
    """``<results>/runs/<dataset>/<method>``: the run folders of one method on one dataset."""
    return runs_root(results_dir) / dataset / method


def leaderboard_file(results_dir: Path, extension: str) -> Path:
    """Where ``compare --format`` writes by default."""
    return Path(results_dir) / f"leaderboard.{extension}"


def report_folder(results_dir: Path) -> Path:
    """Where ``report`` writes by default."""
    return Path(results_dir) / "report"


def submitit_folder(results_dir: Path) -> Path:
    """Logs of the jobs a sweep submits through submitit."""
    return Path(results_dir) / "submitit"
