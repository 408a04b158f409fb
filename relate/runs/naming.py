"""Run ids: the name of a run folder in the workflow, and the one parser of it.

A run id is ``VARIANT[-KEY=VALUE+KEY=VALUE...][-PRESET]``: the variant (``rgb``, ``flow``,
``two_stream``, ``kd``, ..., ``relate``; ``teacher`` for the ``flow`` run RELATE distils from,
``bridge`` for the bridge pre-training), its ``--option`` items joined by ``+``, and the preset
when it is not ``release`` (e.g. ``relate-aga=none``, ``teacher-paper_literal``).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PRESET = "release"
PRESETS = (DEFAULT_PRESET, "paper_literal")


@dataclass(frozen=True)
class RunId:
    """A parsed run id.

    Attributes:
        options: ``(key, value)`` pairs in the order they are written.
    """

    variant: str
    options: tuple[tuple[str, str], ...] = ()
    preset: str = DEFAULT_PRESET

    def __str__(self) -> str:
        name = self.variant
        if self.options:
            name += "-" + "+".join(f"{k}={v}" for k, v in self.options)
        if self.preset != DEFAULT_PRESET:
            name += f"-{self.preset}"
        return name

    @classmethod
    def parse(cls, text: str) -> RunId:
        """The run id ``text`` (the inverse of ``str``)."""
        variant, _, body = text.partition("-")
        preset = DEFAULT_PRESET
        for name in PRESETS[1:]:
            if text.endswith(f"-{name}"):
                preset = name
                body = body.removesuffix(name).rstrip("-")
        items = [item.split("=", 1) for item in body.split("+") if "=" in item]
        return cls(variant, tuple((k, v) for k, v in items), preset)

    def option_items(self) -> list[str]:
        """The ``--option`` items: ``["KEY=VALUE", ...]``."""
        return [f"{k}={v}" for k, v in self.options]
