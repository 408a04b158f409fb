"""The options of prediction refinement (PR), without its computation.

:mod:`relate.blocks.refine` applies them; this module holds only the table, so that the option
registry (:mod:`relate.blocks.presets`) and ``--help`` can read it without importing torch.
D-numbers are sections of docs/decisions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "DEFAULT_PR_OPTIONS",
    "PAPER_LITERAL_PR_OPTIONS",
    "PR_OPTIONS",
    "PROption",
    "RELEASE_PR_OPTIONS",
    "resolve_pr_options",
]


@dataclass(frozen=True)
class PROption:
    """One PR option.

    Attributes:
        values: the allowed values; the first one is the default.
        release: the value that reproduces the authors' release.
        paper_literal: the value that reads the paper's Sec. 3.4 literally.
        source: where the discrepancy is documented (a D-number of docs/decisions.md, or a page of
            docs/).
        description: one line per value, in the order of ``values``.
    """

    values: tuple[str, ...]
    release: str
    paper_literal: str
    source: str
    description: tuple[str, ...]

    @property
    def default(self) -> str:
        """The suite's default value."""
        return self.values[0]


PR_OPTIONS: Mapping[str, PROption] = MappingProxyType(
    {
        "pr_confidence": PROption(
            values=("minmax_video", "raw"),
            release="minmax_video",
            paper_literal="raw",
            source="D14",
            description=(
                "'lowest' and m* compare confidences of heads min-max normalised over the "
                "video (each head over all its T*C entries); the delta test stays raw",
                "every confidence is the raw max probability",
            ),
        ),
        "pr_mstar": PROption(
            values=("all_heads", "unimodal"),
            release="all_heads",
            paper_literal="unimodal",
            source="D15",
            description=(
                "m* ranges over RGB, flow and joint (the joint's unrefined row at t - 1)",
                "m* ranges over RGB and flow only",
            ),
        ),
        "pr_t0": PROption(
            values=("keep", "wrap_release"),
            release="wrap_release",
            paper_literal="keep",
            source="D16",
            description=(
                "frame 0 has no previous frame and is never replaced",
                "bug parity: frame 0 may take the RGB head's row of frame T - 1",
            ),
        ),
        "pr_rows": PROption(
            values=("probabilities", "minmax_release"),
            release="minmax_release",
            paper_literal="probabilities",
            source="refine.md",
            description=(
                "a replaced row is the chosen head's input (probability) row",
                "bug parity: a replaced row is the chosen head's min-max-normalised row, "
                "so the output mixes scales (same argmax)",
            ),
        ),
    }
)
"""Option name -> allowed values, default, release and paper values. Never mutated."""

DEFAULT_PR_OPTIONS: Mapping[str, str] = MappingProxyType(
    {name: option.default for name, option in PR_OPTIONS.items()}
)
RELEASE_PR_OPTIONS: Mapping[str, str] = MappingProxyType(
    {name: option.release for name, option in PR_OPTIONS.items()}
)
PAPER_LITERAL_PR_OPTIONS: Mapping[str, str] = MappingProxyType(
    {name: option.paper_literal for name, option in PR_OPTIONS.items()}
)


def resolve_pr_options(options: Mapping[str, object]) -> dict[str, str]:
    """Fill in defaults and check every option.

    Args:
        options: a subset of the names of :data:`PR_OPTIONS`, each mapped to one of its values.

    Returns:
        Every option name mapped to its value.

    Raises:
        TypeError: an unknown option name.
        ValueError: a value that the option does not allow.
    """
    unknown = sorted(set(options) - set(PR_OPTIONS))
    if unknown:
        raise TypeError(
            f"unknown prediction-refinement option(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(PR_OPTIONS)}"
        )
    resolved = dict(DEFAULT_PR_OPTIONS)
    for name, value in options.items():
        allowed = PR_OPTIONS[name].values
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"{name}={value!r} is not allowed; allowed: {', '.join(allowed)}")
        resolved[name] = value
    return resolved
