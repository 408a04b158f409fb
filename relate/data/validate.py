"""Whole-dataset validation behind ``relate validate`` (and training/evaluation set-up).

Every problem is one :class:`Finding` naming a file and what is wrong. Errors make the
dataset unusable; warnings (feature/label length mismatch, which the official code
truncates) do not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from relate.data import checks
from relate.data.layout import SPLIT_KINDS, DatasetLayout
from relate.data.registry import FEATURE_DIM
from relate.errors import DataError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    """One problem: ``severity`` is ``"error"`` or ``"warning"``."""

    severity: str
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"


@dataclass
class ValidationReport:
    """All findings for one dataset folder plus what was checked."""

    root: Path
    findings: list[Finding] = field(default_factory=list)
    videos: int = 0
    splits: int = 0
    classes: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, path: Path, message: str) -> None:
        self.findings.append(Finding("error", path, message))

    def warning(self, path: Path, message: str) -> None:
        self.findings.append(Finding("warning", path, message))

    def raise_first_error(self) -> None:
        """Raise the first error as a ``DataError`` (for training and evaluation)."""
        if self.errors:
            first = self.errors[0]
            extra = len(self.errors) - 1
            suffix = (
                f" (and {extra} more problem(s); run `relate validate {self.root}`)"
                if extra
                else ""
            )
            raise DataError(first.path, first.message + suffix)


def validate_dataset(
    root: str | Path,
    labels_only: bool = False,
    feature_rows: int = FEATURE_DIM,
    progress: bool = False,
) -> ValidationReport:
    """Check a dataset folder in the MS-TCN layout and return every finding.

    Args:
        root: dataset folder (with features/, groundTruth/, splits/, mapping.txt).
        labels_only: skip everything about features/.
        feature_rows: expected number of feature rows (2048 for the standard archive).
        progress: show a progress bar over videos on stderr (full Breakfast: ~30 GB read).
    """
    layout = DatasetLayout(Path(root))
    report = ValidationReport(layout.root)
    if not layout.root.is_dir():
        what = "is not a folder" if layout.root.exists() else "dataset folder does not exist"
        report.error(layout.root, what)
        return report
    folders = [layout.labels_dir, layout.splits_dir] + (
        [] if labels_only else [layout.features_dir]
    )
    for folder in folders:
        if not folder.is_dir():
            report.error(folder, "missing folder")

    mapping = _check_mapping(layout, report)
    videos = _check_splits(layout, report)
    report.videos = len(videos)
    for video, bundle in tqdm(
        sorted(videos.items()), desc="validate", unit="video", disable=not progress, leave=False
    ):
        _check_video(layout, video, bundle, mapping, labels_only, feature_rows, report)
    logger.debug("validated %s: %d findings", layout.root, len(report.findings))
    return report


def _check_mapping(layout: DatasetLayout, report: ValidationReport) -> dict[str, int] | None:
    problems, mapping = checks.parse_mapping(layout.mapping_path)
    for problem in problems or checks.class_id_problems(mapping):
        report.error(layout.mapping_path, problem)
    report.classes = len(mapping)
    # Labels are checked against the mapping only when it was read cleanly enough to trust.
    return mapping if mapping else None


def _check_splits(layout: DatasetLayout, report: ValidationReport) -> dict[str, str]:
    """Check every bundle; return ``{video: first bundle naming it}``."""
    if not layout.splits_dir.is_dir():
        return {}
    bundles: dict[tuple[str, int], Path] = {}
    for path in sorted(layout.splits_dir.iterdir()):
        parsed = checks.parse_bundle_name(path.name)
        if parsed is not None:
            bundles[parsed] = path
    indices = sorted({index for _, index in bundles})
    report.splits = len(indices)
    if not indices:
        report.error(layout.splits_dir, "no split bundles ({train,test}.split<k>.bundle) found")
        return {}
    for missing in sorted(set(range(1, max(indices) + 1)) - set(indices)):
        report.error(
            layout.split_path("test", missing),
            f"split {missing} has neither a train nor a test bundle (found splits {indices})",
        )

    videos: dict[str, str] = {}
    for index in indices:
        listed: dict[str, list[str]] = {}
        for kind in SPLIT_KINDS:
            path = layout.split_path(kind, index)
            if (kind, index) not in bundles:
                other = "test" if kind == "train" else "train"
                report.error(path, f"split {index} has a {other} bundle but no {kind} bundle")
                continue
            problems, names = checks.parse_bundle(path)
            for problem in problems:
                report.error(path, problem)
            listed[kind] = names
            for name in names:
                videos.setdefault(name, path.name)
        overlap = sorted(set(listed.get("train", [])) & set(listed.get("test", [])))
        if overlap:
            report.error(
                layout.split_path("test", index),
                f"{len(overlap)} video(s) also in train.split{index}.bundle "
                f"(train/test overlap): {checks.list_some(overlap)}",
            )
    return videos


def _check_video(
    layout: DatasetLayout,
    video: str,
    bundle: str,
    mapping: dict[str, int] | None,
    labels_only: bool,
    feature_rows: int,
    report: ValidationReport,
) -> None:
    label_path = layout.label_path(video)
    missing = checks.regular_file_problem(label_path)
    if missing == "file does not exist":
        report.error(label_path, f"missing groundTruth file for video {video!r} listed in {bundle}")
        labels_len = None
    else:
        problems, labels = checks.parse_labels(label_path, mapping)
        for problem in problems:
            report.error(label_path, problem)
        labels_len = len(labels) if labels else None
    if labels_only:
        return
    feature_path = layout.feature_path(video)
    if checks.regular_file_problem(feature_path) == "file does not exist":
        report.error(feature_path, f"missing feature file for video {video!r} listed in {bundle}")
        return
    problems, array = checks.open_feature_array(feature_path, mmap=True, expected_rows=feature_rows)
    if not problems and array is not None:
        problems = checks.check_feature_values(array)
    for problem in problems:
        report.error(feature_path, problem)
    if array is not None and labels_len is not None and array.shape[1] != labels_len:
        report.warning(feature_path, checks.length_mismatch_message(array.shape[1], labels_len))
