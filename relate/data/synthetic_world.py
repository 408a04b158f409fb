"""Dataset-level draws of the synthetic generator: the grammar, durations and prototypes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from relate.data.registry import FEATURE_DIM
from relate.data.synthetic_config import SynthConfig

MODALITY_DIM = FEATURE_DIM // 2


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
    duration_medians: np.ndarray  # (classes without background,) frames
    appearance: np.ndarray  # (A, d): one per pair, unpaired and boundary class, background
    motion: np.ndarray  # (K, d): one per class, background last
    leak_matrix: np.ndarray  # (d, d)
    projection: dict[str, np.ndarray] = field(repr=False)  # modality -> (1024, d)
    base: dict[str, np.ndarray] = field(repr=False)  # modality -> (1024,)
    appearance_of: np.ndarray = field(repr=False)  # (K,) class id -> appearance row
    partner: np.ndarray = field(repr=False)  # (K,) class id -> pair partner, -1 if none
    background_id: int | None = None
    boundary_ids: tuple[int, ...] = ()

    @property
    def n_sources(self) -> int:
        """Classes whose motion a burst can carry: every class but the background."""
        return len(self.class_names) - (self.background_id is not None)

    def pair_of(self, labels: np.ndarray) -> np.ndarray:
        """Appearance index of each class id: its pair's, its own, or the background's."""
        return self.appearance_of[labels]


def _unit_rows(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    vectors = rng.standard_normal((n, d))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _sampled_pairs(config: SynthConfig, rng: np.random.Generator) -> list[list[int]]:
    """Each activity draws a few motion pairs at random; missing pairs are then added."""
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
    return chosen


def _covering_pick(
    n_items: int, n_activities: int, sizes: tuple[int, int], rng: np.random.Generator
) -> list[list[int]]:
    """Deal ``n_items`` classes to activities (each to one, in turn, in random order), then
    fill each activity up to its drawn size with classes dealt to others (shared steps)."""
    lo, hi = sizes
    size = rng.integers(lo, hi + 1, size=n_activities)
    turn = 0
    while size.sum() < n_items:  # room for every class (the config check allows it)
        if size[turn % n_activities] < hi:
            size[turn % n_activities] += 1
        turn += 1
    chosen: list[list[int]] = [[] for _ in range(n_activities)]
    turn = 0
    for item in rng.permutation(n_items):
        while len(chosen[turn % n_activities]) >= size[turn % n_activities]:
            turn += 1
        chosen[turn % n_activities].append(int(item))
        turn += 1
    for activity, items in enumerate(chosen):
        need = int(size[activity]) - len(items)
        if need:
            others = [i for i in range(n_items) if i not in items]
            items = items + [int(i) for i in rng.choice(others, size=need, replace=False)]
        chosen[activity] = sorted(items)
    return chosen


def _spread(order: np.ndarray) -> np.ndarray:
    """Move steps so that no two neighbours have the same class, where another fits."""
    order = order.copy()
    for i in range(1, len(order)):
        if order[i] == order[i - 1]:
            later = np.flatnonzero(order[i + 1 :] != order[i - 1])
            if len(later):
                j = i + 1 + int(later[0])
                order[i], order[j] = order[j], order[i]
    return order


def build_grammar(config: SynthConfig, rng: np.random.Generator) -> tuple[tuple[Step, ...], ...]:
    """Activities: the steps of each (both members of each of its pairs, ``pair_repeats``
    times, and its unpaired classes) in a random order, some marked optional."""
    covering = config.grammar == "covering"
    if covering:
        pairs = _covering_pick(
            config.n_motion_pairs, config.n_activities, config.pairs_per_activity, rng
        )
        unpaired = _covering_pick(
            config.n_unpaired, config.n_activities, config.unpaired_per_activity, rng
        )
    else:
        pairs = _sampled_pairs(config, rng)
        unpaired = [[] for _ in pairs]
    first_unpaired = 2 * config.n_motion_pairs
    activities = []
    for own_pairs, own_unpaired in zip(pairs, unpaired):
        labels = []
        for p in own_pairs:
            repeats = 1
            if covering:
                repeats = int(rng.integers(config.pair_repeats[0], config.pair_repeats[1] + 1))
            labels += [2 * p + m for _ in range(repeats) for m in (0, 1)]
        labels += [first_unpaired + u for u in own_unpaired]
        order = np.array(labels)[rng.permutation(len(labels))]
        if covering:
            order = _spread(order)
        optional = rng.random(len(order)) < config.optional_step_prob
        activities.append(tuple(Step(int(c), bool(o)) for c, o in zip(order, optional)))
    return tuple(activities)


def _class_tables(config: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per class id: its appearance row and its pair partner (-1 if none)."""
    n_pairs = config.n_motion_pairs
    n_classes = config.n_classes
    appearance_of = np.arange(n_classes) - n_pairs  # one row per class after the pairs
    partner = np.full(n_classes, -1)
    for c in range(2 * n_pairs):
        appearance_of[c] = c // 2
        partner[c] = c ^ 1
    return appearance_of, partner


def build_world(config: SynthConfig, rng: np.random.Generator) -> World:
    """Draw the grammar, class durations, prototypes and projections of a dataset."""
    names = config.class_names
    has_background = config.background_name is not None
    n_foreground = len(names) - has_background
    d = config.latent_dim
    activities = build_grammar(config, rng)
    lo, hi = np.log(config.duration_median_range)
    if config.grammar == "covering":  # stratified: the mix of durations varies less
        strata = (rng.permutation(n_foreground) + rng.random(n_foreground)) / n_foreground
        medians = np.exp(lo + (hi - lo) * strata)
    else:
        medians = np.exp(rng.uniform(lo, hi, size=n_foreground))
    appearance_of, partner = _class_tables(config)
    appearance = _unit_rows(rng, int(appearance_of.max()) + 1, d)
    motion = _unit_rows(rng, len(names), d)
    if has_background:
        motion[-1] *= config.background_motion
    leak_matrix = rng.standard_normal((d, d))
    projection, base = {}, {}
    for modality in ("rgb", "flow"):
        projection[modality] = config.feature_scale * rng.standard_normal((MODALITY_DIM, d))
        base[modality] = rng.uniform(*config.feature_base, size=MODALITY_DIM)
    first_boundary = 2 * config.n_motion_pairs + config.n_unpaired
    return World(
        class_names=names,
        activities=activities,
        duration_medians=medians,
        appearance=appearance,
        motion=motion,
        leak_matrix=leak_matrix,
        projection=projection,
        base=base,
        appearance_of=appearance_of,
        partner=partner,
        background_id=len(names) - 1 if has_background else None,
        boundary_ids=tuple(range(first_boundary, first_boundary + len(config.boundary_names))),
    )
