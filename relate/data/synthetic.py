"""Deterministic synthetic dataset in the MS-TCN layout, built so that RGB vs flow matters.

Every video is an instance of a procedural *activity* from a small grammar: an ordered list
of steps (some optional) with background gaps between them. Action classes come in *motion
pairs* (e.g. ``open_jar`` / ``close_jar``) that share one appearance prototype and differ
only in motion. Each frame has two latent vectors (width ``latent_dim``):

- flow latent = motion prototype of the frame's class + *misaligned bursts* (motion
  prototypes of random classes at random times, ignoring segment boundaries) + per-instance
  and per-frame noise;
- RGB latent = appearance prototype of the class's pair + a per-video appearance offset + a
  weak non-linear leak of the motion signal, ``motion_leak * tanh(gain * W m) / sqrt(d)``,
  + per-instance and per-frame noise.

Both latents are smoothed in time with a box window (I3D features pool ~21-frame windows),
mapped to 1024 rows by fixed random projections around a positive base, perturbed by
isotropic noise and clipped at 0 (I3D features are averages of ReLU outputs). So a per-frame
linear probe separates the two members of a pair from flow, but from RGB only through the
weak leak; see ``docs/synthetic.md`` and :mod:`relate.data.probe`.

Noise and offset sizes are given as the expected Euclidean norm in the latent space, where
every prototype has norm 1 (so 0.3 means "30 % of the distance scale between classes").

Output for a given ``(config, seed)`` is byte-identical from run to run on one platform: all
randomness comes from ``numpy.random.SeedSequence(seed)``, arrays are float32, and every
iteration is over sorted or index-ordered collections.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from relate.data.registry import FEATURE_DIM
from relate.errors import DataError
from relate.io import atomic_directory

logger = logging.getLogger(__name__)

BACKGROUND = "background"
INFO_FILE = "info.json"
"""Provenance file in the dataset root (ignored by the MS-TCN layout readers)."""

MODALITY_DIM = FEATURE_DIM // 2

DEFAULT_PAIR_NAMES: tuple[tuple[str, str], ...] = (
    ("open_jar", "close_jar"),
    ("screw_lid", "unscrew_lid"),
    ("push_drawer", "pull_drawer"),
    ("lift_cup", "lower_cup"),
    ("fold_cloth", "unfold_cloth"),
)
"""Class names of the first motion pairs; further pairs are named ``fwd_objN``/``rev_objN``."""


@dataclass(frozen=True)
class SynthConfig:
    """Every knob of the synthetic generator; the defaults make the documented dataset."""

    # --- sizes -------------------------------------------------------------------------
    n_videos: int = 30
    """Number of videos."""
    min_frames: int = 300
    """Shortest video length in frames (lengths are drawn uniformly in [min, max])."""
    max_frames: int = 1500
    """Longest video length in frames."""
    n_splits: int = 4
    """Number of leave-one-subject-out splits (= number of subjects)."""

    # --- classes and grammar -------------------------------------------------------------
    n_motion_pairs: int = 5
    """Motion pairs; classes = 2 * pairs + background (5 -> 11, as in the registry)."""
    n_activities: int = 4
    """Activity types in the grammar."""
    pairs_per_activity: tuple[int, int] = (2, 4)
    """Inclusive range of motion pairs an activity uses (both members of each become steps)."""
    optional_step_prob: float = 0.25
    """Chance that a grammar step is marked optional."""
    skip_prob: float = 0.5
    """Chance that an optional step is left out of a given video."""
    order_swap_prob: float = 0.5
    """Chance, per video and pair, that the two members of a pair swap places. At 0.5 the
    members are exchangeable in position, so neither step order nor neighbouring steps
    (which the temporal smoothing blends in) tell them apart: only motion does."""
    gap_prob: float = 0.5
    """Chance of a background gap between two consecutive steps (videos always start and
    end with background)."""
    gap_median: float = 20.0
    """Median background-gap length in frames, before the per-video time stretch."""
    gap_sigma: float = 0.5
    """Log-normal sigma of background-gap lengths."""
    duration_median_range: tuple[float, float] = (30.0, 120.0)
    """Each class draws its median step length (frames) log-uniformly from this range."""
    duration_sigma: float = 0.4
    """Log-normal sigma of step lengths (all classes)."""
    min_segment_frames: int = 5
    """Smallest segment length after the video is stretched to its drawn length."""

    # --- feature geometry ----------------------------------------------------------------
    latent_dim: int = 32
    """Width of the per-modality latent space the 1024 feature rows are projected from."""
    feature_scale: float = 0.15
    """Std of the entries of the latent-to-feature projections."""
    feature_base: tuple[float, float] = (0.2, 0.6)
    """Per-row constant offset, drawn uniformly from this range (keeps features >= 0)."""
    feature_noise: float = 0.1
    """Std of isotropic per-row, per-frame noise in feature space, before smoothing."""
    smooth_frames: int = 21
    """Width of the temporal box filter applied to both modalities (I3D window: 21)."""

    # --- content -------------------------------------------------------------------------
    background_motion: float = 0.1
    """Norm of the background motion prototype (actions have norm 1)."""
    video_offset: float = 0.3
    """Norm of the per-video RGB appearance offset (scene, lighting, subject)."""
    instance_noise: float = 0.5
    """Norm of the per-segment offset in each modality (each instance is done differently)."""
    frame_noise: float = 2.0
    """Norm of the per-frame latent noise before smoothing (the box filter divides it by
    about sqrt(smooth_frames))."""
    motion_leak: float = 0.1
    """Strength of the non-linear motion leak into RGB (0 = RGB sees no motion at all)."""
    leak_gain: float = 1.5
    """Gain inside the leak's tanh; larger is more non-linear."""
    burst_rate: float = 0.006
    """Misaligned flow bursts per frame (0.006 = one per ~11 s at 15 fps)."""
    burst_length: tuple[int, int] = (10, 45)
    """Inclusive range of burst lengths in frames."""
    burst_strength: float = 1.0
    """Norm of a burst's motion relative to an action's motion."""

    def __post_init__(self) -> None:
        if self.pairs_per_activity == (2, 4) and self.n_motion_pairs < 4:
            # The default range follows a smaller n_motion_pairs instead of failing on it.
            hi = max(1, self.n_motion_pairs)
            object.__setattr__(self, "pairs_per_activity", (min(2, hi), hi))
        lo_pairs, hi_pairs = self.pairs_per_activity
        checks = [
            (self.n_videos >= 1, "n_videos must be >= 1"),
            (self.n_splits >= 1, "n_splits must be >= 1"),
            (self.n_videos >= self.n_splits, "n_videos must be >= n_splits"),
            (1 <= self.min_frames <= self.max_frames, "need 1 <= min_frames <= max_frames"),
            (self.n_motion_pairs >= 1, "n_motion_pairs must be >= 1"),
            (self.n_activities >= 1, "n_activities must be >= 1"),
            (
                1 <= lo_pairs <= hi_pairs <= self.n_motion_pairs,
                "pairs_per_activity must be (lo, hi) with 1 <= lo <= hi <= n_motion_pairs",
            ),
            (
                self.n_activities * hi_pairs >= self.n_motion_pairs,
                "n_activities * pairs_per_activity[1] must cover every motion pair",
            ),
            (
                0 < self.duration_median_range[0] <= self.duration_median_range[1],
                "need 0 < duration_median_range[0] <= duration_median_range[1]",
            ),
            (self.min_segment_frames >= 1, "min_segment_frames must be >= 1"),
            (self.gap_median > 0, "gap_median must be > 0"),
            (
                self.min_frames >= self.min_segment_frames * self.max_segments,
                f"min_frames must be >= min_segment_frames * {self.max_segments} "
                "(the most segments a video can have)",
            ),
            (self.latent_dim >= 2, "latent_dim must be >= 2"),
            (self.smooth_frames >= 1, "smooth_frames must be >= 1"),
            (
                1 <= self.burst_length[0] <= self.burst_length[1],
                "burst_length must be (lo, hi) with 1 <= lo <= hi",
            ),
            (self.feature_base[0] <= self.feature_base[1], "feature_base needs lo <= hi"),
        ]
        for name in ("optional_step_prob", "skip_prob", "order_swap_prob", "gap_prob"):
            checks.append((0.0 <= getattr(self, name) <= 1.0, f"{name} must be in [0, 1]"))
        for name in (
            "gap_sigma", "duration_sigma", "feature_scale", "feature_noise",
            "background_motion", "video_offset", "instance_noise", "frame_noise",
            "motion_leak", "leak_gain", "burst_rate", "burst_strength",
        ):  # fmt: skip
            checks.append((getattr(self, name) >= 0.0, f"{name} must be >= 0"))
        for ok, message in checks:
            if not ok:
                raise ValueError(f"SynthConfig: {message}")

    @property
    def n_classes(self) -> int:
        """Action classes plus background."""
        return 2 * self.n_motion_pairs + 1

    @property
    def max_segments(self) -> int:
        """Most segments a video can have: all steps, each with a background gap around it."""
        steps = 2 * self.pairs_per_activity[1]
        return 2 * steps + 1


@dataclass(frozen=True)
class Step:
    """One step of an activity: an action class id and whether it may be skipped."""

    label: int
    optional: bool


@dataclass(frozen=True)
class World:
    """Dataset-level draws shared by every video (class names, grammar, prototypes)."""

    class_names: tuple[str, ...]
    activities: tuple[tuple[Step, ...], ...]
    duration_medians: np.ndarray  # (K-1,) frames, per action class
    appearance: np.ndarray  # (P+1, d): one per pair, last = background
    motion: np.ndarray  # (K, d): one per class, last = background
    leak_matrix: np.ndarray  # (d, d)
    projection: dict[str, np.ndarray] = field(repr=False)  # modality -> (1024, d)
    base: dict[str, np.ndarray] = field(repr=False)  # modality -> (1024,)

    @property
    def background_id(self) -> int:
        return len(self.class_names) - 1

    def pair_of(self, labels: np.ndarray) -> np.ndarray:
        """Appearance index of each class id: its pair, or the background slot."""
        return np.where(labels == self.background_id, len(self.appearance) - 1, labels // 2)


def class_names(n_motion_pairs: int) -> tuple[str, ...]:
    """Class names in id order: pair p is ids 2p and 2p+1; background is last (like GTEA)."""
    names: list[str] = []
    for p in range(n_motion_pairs):
        if p < len(DEFAULT_PAIR_NAMES):
            names.extend(DEFAULT_PAIR_NAMES[p])
        else:
            names.extend((f"fwd_obj{p + 1}", f"rev_obj{p + 1}"))
    names.append(BACKGROUND)
    return tuple(names)


def _unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    vectors = rng.standard_normal((n, d))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _build_grammar(config: SynthConfig, rng: np.random.Generator) -> tuple[tuple[Step, ...], ...]:
    """Activities: each uses a few motion pairs and lists both members of each as steps."""
    lo, hi = config.pairs_per_activity
    chosen: list[list[int]] = []
    for _ in range(config.n_activities):
        k = int(rng.integers(lo, hi + 1))
        pairs = rng.choice(config.n_motion_pairs, size=k, replace=False)
        chosen.append(sorted(int(p) for p in pairs))
    # Every pair must occur somewhere: give a missing pair to the activity with fewest pairs
    # that still has room (the config check guarantees room exists).
    for pair in range(config.n_motion_pairs):
        if not any(pair in pairs for pairs in chosen):
            room = [i for i, pairs in enumerate(chosen) if len(pairs) < hi]
            target = min(room, key=lambda i: (len(chosen[i]), i))
            chosen[target] = sorted(chosen[target] + [pair])
    activities = []
    for pairs in chosen:
        labels = np.array([2 * p + m for p in pairs for m in (0, 1)])
        order = labels[rng.permutation(len(labels))]
        optional = rng.random(len(order)) < config.optional_step_prob
        activities.append(tuple(Step(int(c), bool(o)) for c, o in zip(order, optional)))
    return tuple(activities)


def build_world(config: SynthConfig, rng: np.random.Generator) -> World:
    """Draw the grammar, class durations, prototypes and projections of a dataset."""
    names = class_names(config.n_motion_pairs)
    n_actions = 2 * config.n_motion_pairs
    d = config.latent_dim
    activities = _build_grammar(config, rng)
    lo, hi = np.log(config.duration_median_range)
    medians = np.exp(rng.uniform(lo, hi, size=n_actions))
    appearance = _unit_rows(rng, config.n_motion_pairs + 1, d)
    motion = _unit_rows(rng, n_actions + 1, d)
    motion[-1] *= config.background_motion
    leak_matrix = rng.standard_normal((d, d))
    projection, base = {}, {}
    for modality in ("rgb", "flow"):
        projection[modality] = config.feature_scale * rng.standard_normal((MODALITY_DIM, d))
        base[modality] = rng.uniform(*config.feature_base, size=MODALITY_DIM)
    return World(names, activities, medians, appearance, motion, leak_matrix, projection, base)


def _integer_lengths(raw: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Split ``total`` frames in proportion to ``raw``, each part >= ``minimum``, exact sum."""
    spare = total - minimum * len(raw)
    share = raw / raw.sum() * spare
    whole = np.floor(share).astype(np.int64)
    left = spare - int(whole.sum())
    order = np.argsort(-(share - whole), kind="stable")
    whole[order[:left]] += 1
    return whole + minimum


def sample_segments(
    config: SynthConfig, world: World, activity: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """One video's ``(label, length)`` segments: an instance of ``activity``, time-stretched
    to a length drawn from ``[min_frames, max_frames]``."""
    grammar = world.activities[activity]
    steps = [s for s in grammar if not (s.optional and rng.random() < config.skip_prob)]
    if not steps:
        steps = [world.activities[activity][0]]
    labels = [s.label for s in steps]
    for pair in sorted({label // 2 for label in labels}):
        members = [i for i, label in enumerate(labels) if label // 2 == pair]
        if len(members) == 2 and rng.random() < config.order_swap_prob:
            i, j = members
            labels[i], labels[j] = labels[j], labels[i]
    bg = world.background_id
    sequence = [bg]
    for i, label in enumerate(labels):
        if i > 0 and rng.random() < config.gap_prob:
            sequence.append(bg)
        sequence.append(label)
    sequence.append(bg)
    raw = np.array(
        [
            rng.lognormal(math.log(config.gap_median), config.gap_sigma)
            if label == bg
            else rng.lognormal(math.log(world.duration_medians[label]), config.duration_sigma)
            for label in sequence
        ]
    )
    total = int(rng.integers(config.min_frames, config.max_frames + 1))
    lengths = _integer_lengths(raw, total, config.min_segment_frames)
    return [(label, int(n)) for label, n in zip(sequence, lengths)]


def _noise(rng: np.random.Generator, shape: tuple[int, ...], norm: float) -> np.ndarray:
    """Gaussian noise whose last axis has expected squared norm ``norm**2``."""
    return rng.standard_normal(shape) * (norm / math.sqrt(shape[-1]))


def sample_bursts(
    config: SynthConfig, world: World, n_frames: int, rng: np.random.Generator
) -> list[tuple[int, int, int]]:
    """Misaligned flow bursts of one video as ``(start, length, source class)``.

    Starts are uniform over the video, so bursts ignore (and often span) segment
    boundaries; the source class is any action class, unrelated to the current one.
    Lengths are cut at the end of the video.
    """
    n_actions = len(world.class_names) - 1
    bursts = []
    for _ in range(int(rng.poisson(config.burst_rate * n_frames))):
        start = int(rng.integers(0, n_frames))
        length = int(rng.integers(config.burst_length[0], config.burst_length[1] + 1))
        source = int(rng.integers(0, n_actions))
        bursts.append((start, min(length, n_frames - start), source))
    return bursts


def render_features(
    config: SynthConfig,
    world: World,
    segments: list[tuple[int, int]],
    bursts: list[tuple[int, int, int]],
    rng: np.random.Generator,
) -> np.ndarray:
    """Features (2048, T) float32 of one video: rows 0-1023 RGB, 1024-2047 flow."""
    d = config.latent_dim
    labels = np.repeat([s[0] for s in segments], [s[1] for s in segments])
    seg_index = np.repeat(np.arange(len(segments)), [s[1] for s in segments])
    t_len = len(labels)

    # Motion actually present in the video: the action's own motion plus misaligned bursts.
    motion = world.motion[labels].copy()  # (T, d)
    for start, length, source in bursts:
        motion[start : start + length] += config.burst_strength * world.motion[source]

    flow = (
        motion
        + _noise(rng, (len(segments), d), config.instance_noise)[seg_index]
        + _noise(rng, (t_len, d), config.frame_noise)
    )
    leak = np.tanh(config.leak_gain * motion @ world.leak_matrix.T) / math.sqrt(d)
    rgb = (
        world.appearance[world.pair_of(labels)]
        + _noise(rng, (1, d), config.video_offset)
        + _noise(rng, (len(segments), d), config.instance_noise)[seg_index]
        + config.motion_leak * leak
        + _noise(rng, (t_len, d), config.frame_noise)
    )

    features = np.empty((FEATURE_DIM, t_len), dtype=np.float32)
    for offset, modality, latent in ((0, "rgb", rgb), (MODALITY_DIM, "flow", flow)):
        x = world.projection[modality] @ latent.T + world.base[modality][:, None]  # (1024, T)
        x += rng.standard_normal(x.shape) * config.feature_noise
        from scipy.ndimage import uniform_filter1d  # 0.4 s of imports: only when smoothing

        x = uniform_filter1d(x, size=config.smooth_frames, axis=1, mode="nearest")
        features[offset : offset + MODALITY_DIM] = np.maximum(x, 0.0)
    return features


def video_plan(config: SynthConfig) -> list[tuple[str, int, int]]:
    """``(name, subject, activity)`` per video, in generation order.

    Video i belongs to subject ``i mod n_splits`` and performs activity
    ``(i div n_splits) mod n_activities``, so subjects get balanced activities.
    """
    width = max(2, len(str(config.n_videos)))
    plan = []
    for i in range(config.n_videos):
        subject = i % config.n_splits + 1
        activity = (i // config.n_splits) % config.n_activities + 1
        plan.append((f"S{subject}_act{activity}_v{i + 1:0{width}d}", subject, activity))
    return plan


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


def _check_replaceable(out: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier synthetic dataset."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DataError(out, "exists and is not a folder; choose another output path")
    if any(out.iterdir()) and not (read_info(out) or {}).get("synthetic"):
        raise DataError(
            out, "exists and is not a synthetic dataset (no info.json); refusing to replace it"
        )


def generate_dataset(out: Path, config: SynthConfig = SynthConfig(), seed: int = 0) -> None:
    """Write a complete synthetic dataset in the MS-TCN layout to ``out``, atomically.

    Layout: ``features/{video}.npy`` (2048, T) float32, ``groundTruth/{video}.txt``,
    ``splits/{train,test}.split{k}.bundle`` (test = subject k, train = the others),
    ``mapping.txt`` (background last) and ``info.json`` (seed, config, grammar, motion
    pairs, and per video its subject, activity and misaligned bursts).
    An existing ``out`` is replaced only once the new dataset is complete, and only if it
    is empty or an earlier synthetic dataset (else :class:`DataError`).
    """
    out = Path(out)
    _check_replaceable(out)
    root_seq = np.random.SeedSequence(seed)
    world_seq, *video_seqs = root_seq.spawn(1 + config.n_videos)
    world = build_world(config, np.random.default_rng(world_seq))
    plan = video_plan(config)
    names = world.class_names

    with atomic_directory(out) as tmp:
        for sub in ("features", "groundTruth", "splits"):
            (tmp / sub).mkdir()
        n_frames = 0
        videos_info = {}
        for (video, subject, activity), seq in zip(plan, video_seqs):
            rng = np.random.default_rng(seq)
            segments = sample_segments(config, world, activity - 1, rng)
            bursts = sample_bursts(config, world, sum(n for _, n in segments), rng)
            features = render_features(config, world, segments, bursts, rng)
            _save_npy(tmp / "features" / f"{video}.npy", features)
            lines = "".join(f"{names[label]}\n" * length for label, length in segments)
            (tmp / "groundTruth" / f"{video}.txt").write_text(lines, encoding="utf-8")
            n_frames += features.shape[1]
            videos_info[video] = {
                "subject": subject,
                "activity": activity,
                "frames": features.shape[1],
                "bursts": [
                    {"start": start, "length": length, "motion_of": names[source]}
                    for start, length, source in bursts
                ],
            }
            logger.debug("%s: %d frames, %d segments", video, features.shape[1], len(segments))

        for k in range(1, config.n_splits + 1):
            test = sorted(v for v, s, _ in plan if s == k)
            train = sorted(v for v, s, _ in plan if s != k)
            for kind, videos in (("train", train), ("test", test)):
                text = "".join(f"{v}.txt\n" for v in videos)
                (tmp / "splits" / f"{kind}.split{k}.bundle").write_text(text, encoding="utf-8")

        mapping = "".join(f"{i} {name}\n" for i, name in enumerate(names))
        (tmp / "mapping.txt").write_text(mapping, encoding="utf-8")
        n_pairs = config.n_motion_pairs
        info = {
            "synthetic": True,
            "description": "Synthetic data from relate.data.synthetic, not real video features.",
            "seed": seed,
            "config": asdict(config),
            "classes": list(names),
            "background": BACKGROUND,
            "motion_pairs": [[names[2 * p], names[2 * p + 1]] for p in range(n_pairs)],
            "activities": [
                [{"step": names[s.label], "optional": s.optional} for s in steps]
                for steps in world.activities
            ],
            "videos": videos_info,
        }
        text = json.dumps(info, indent=2, sort_keys=True) + "\n"
        (tmp / INFO_FILE).write_text(text, encoding="utf-8")
    logger.info("wrote %d synthetic videos (%d frames) to %s", config.n_videos, n_frames, out)


def read_info(root: Path) -> dict | None:
    """The generator's ``info.json`` of a dataset folder, or None for non-synthetic data."""
    path = Path(root) / INFO_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
