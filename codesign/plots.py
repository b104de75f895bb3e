"""Plots of a study: data first (pure functions over the results table), drawing second.

The figures live in :mod:`codesign.figures` (data in ``figures.data`` / ``figures.models``,
drawing in ``figures.draw``). This module keeps the two calls ``results.write_results`` uses for
``pareto.png``: :func:`pareto_data` decides what is shown, :func:`save_pareto` draws it.
"""

from __future__ import annotations

from pathlib import Path

from codesign.files import write_atomic
from codesign.figures.data import PanelData, ParetoData, pareto_data

__all__ = ["PanelData", "ParetoData", "pareto_data", "save_pareto"]


def save_pareto(data: ParetoData, path: Path) -> Path:
    """Draw ParetoData to ``path`` (its suffix picks the format: .png, .svg, .pdf)."""
    from codesign.figures.draw import draw_pareto

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lstrip(".") or "png"
    fig = draw_pareto(data)
    write_atomic(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=120,
                                               metadata={"Date": None} if fmt == "svg" else {}))
    return path
