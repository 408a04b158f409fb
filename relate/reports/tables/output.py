"""Writing a table: the markdown and its CSV beside it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_table(out_md: Path, markdown: str, csv_frame: pd.DataFrame) -> Path:
    """Write ``markdown`` to ``out_md`` and the CSV beside it (same stem), both atomically."""
    from relate import io

    out_md = Path(out_md)
    csv_path = out_md.with_suffix(".csv")
    io.write_text(csv_path, csv_frame.to_csv(index=False, float_format="%.4f"))
    io.write_text(out_md, markdown if markdown.endswith("\n") else markdown + "\n")
    return csv_path
