"""``SynthConfig``: every knob of the synthetic generator, and the class names it implies.

The first group of fields makes the documented default dataset. The *shape* fields at the end
(unpaired classes, boundary classes, repeated steps, another background name, the covering
grammar) are what the datasets shaped like GTEA, 50Salads and Breakfast need
(:mod:`relate.data.synthetic_shapes`); at their defaults they change nothing, and
:func:`config_json` leaves them out of ``info.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

BACKGROUND = "background"

DEFAULT_PAIR_NAMES: tuple[tuple[str, str], ...] = (
    ("open_jar", "close_jar"),
    ("screw_lid", "unscrew_lid"),
    ("push_drawer", "pull_drawer"),
    ("lift_cup", "lower_cup"),
    ("fold_cloth", "unfold_cloth"),
)
"""Class names of the first motion pairs; further pairs are named ``fwd_objN``/``rev_objN``."""

GRAMMARS = ("sampled", "covering")
"""``sampled``: each activity draws its pairs at random (then missing pairs are added);
``covering``: every pair and unpaired class is dealt to one activity, the remaining slots are
filled with classes of other activities (shared steps)."""


def class_names(
    n_motion_pairs: int,
    n_unpaired: int = 0,
    boundary: tuple[str, ...] = (),
    background: str | None = BACKGROUND,
) -> tuple[str, ...]:
    """Class names in id order: pair p is ids 2p and 2p+1, then the unpaired classes, then
    the boundary classes; the background (if any) is last (like GTEA)."""
    names: list[str] = []
    for p in range(n_motion_pairs):
        if p < len(DEFAULT_PAIR_NAMES):
            names.extend(DEFAULT_PAIR_NAMES[p])
        else:
            names.extend((f"fwd_obj{p + 1}", f"rev_obj{p + 1}"))
    names.extend(f"single_obj{u + 1}" for u in range(n_unpaired))
    names.extend(boundary)
    if background is not None:
        names.append(background)
    return tuple(names)


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

    # --- shape (defaults: the default dataset) -------------------------------------------
    background_name: str | None = BACKGROUND
    """Name of the background class (Breakfast: ``SIL``); None = no background class."""
    background_first: bool = False
    """Write the background class as id 0 of mapping.txt (Breakfast's SIL; FACT's Breakfast
    recipe names class 0 as background), else as the last id (GTEA)."""
    boundary_names: tuple[str, ...] = ()
    """Two classes that open and close every video (50Salads: action_start, action_end)."""
    n_unpaired: int = 0
    """Action classes without a motion partner; each has its own appearance prototype."""
    unpaired_per_activity: tuple[int, int] = (0, 0)
    """Inclusive range of unpaired classes an activity uses (covering grammar)."""
    pair_repeats: tuple[int, int] = (1, 1)
    """Inclusive range of how often, per activity and pair, both members occur as steps."""
    grammar: str = "sampled"
    """How activities pick their classes: one of :data:`GRAMMARS`."""

    def __post_init__(self) -> None:
        if self.pairs_per_activity == (2, 4) and self.n_motion_pairs < 4:
            # The default range follows a smaller n_motion_pairs instead of failing on it.
            hi = max(1, self.n_motion_pairs)
            object.__setattr__(self, "pairs_per_activity", (min(2, hi), hi))
        for ok, message in self._checks() + self._shape_checks():
            if not ok:
                raise ValueError(f"SynthConfig: {message}")

    def _checks(self) -> list[tuple[bool, str]]:
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
        return checks

    def _shape_checks(self) -> list[tuple[bool, str]]:
        lo_u, hi_u = self.unpaired_per_activity
        names = self.class_names
        return [
            (self.grammar in GRAMMARS, f"grammar must be one of {', '.join(GRAMMARS)}"),
            (
                self.grammar == "covering"
                or (self.n_unpaired == 0 and self.pair_repeats == (1, 1)),
                "unpaired classes and pair_repeats need grammar='covering'",
            ),
            (self.n_unpaired >= 0, "n_unpaired must be >= 0"),
            (
                0 <= lo_u <= hi_u <= self.n_unpaired
                and self.n_activities * hi_u >= self.n_unpaired,
                "unpaired_per_activity must be (lo, hi) with 0 <= lo <= hi <= n_unpaired and "
                "n_activities * hi >= n_unpaired",
            ),
            (
                1 <= self.pair_repeats[0] <= self.pair_repeats[1],
                "pair_repeats must be (lo, hi) with 1 <= lo <= hi",
            ),
            (len(self.boundary_names) in (0, 2), "boundary_names must name 0 or 2 classes"),
            (self.background_name != "", "background_name must be a name or None"),
            (len(set(names)) == len(names), "class names must be unique"),
        ]

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names in id order (see :func:`class_names`)."""
        return class_names(
            self.n_motion_pairs, self.n_unpaired, self.boundary_names, self.background_name
        )

    @property
    def n_classes(self) -> int:
        """Action classes (paired, unpaired, boundary) plus background, if any."""
        return len(self.class_names)

    @property
    def max_steps(self) -> int:
        """Most steps (action segments between the boundary classes) an activity can have."""
        most_pairs, most_repeats = self.pairs_per_activity[1], self.pair_repeats[1]
        return 2 * most_pairs * most_repeats + self.unpaired_per_activity[1]

    @property
    def max_segments(self) -> int:
        """Most segments a video can have: all steps, each with a background gap around it."""
        steps = self.max_steps + len(self.boundary_names)
        return 2 * steps + 1 if self.background_name is not None else steps


SHAPE_FIELDS = (
    "background_name",
    "background_first",
    "boundary_names",
    "n_unpaired",
    "unpaired_per_activity",
    "pair_repeats",
    "grammar",
)
"""Fields that only the shaped datasets set; written to ``info.json`` only when set."""


def config_json(config: SynthConfig) -> dict[str, Any]:
    """``config`` as a JSON-ready dict; shape fields at their default are left out."""
    values = asdict(config)
    defaults = {f.name: f.default for f in fields(SynthConfig)}
    for name in SHAPE_FIELDS:
        if values[name] == defaults[name]:
            del values[name]
    return values
