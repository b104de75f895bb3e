"""Drawing the figure data of :mod:`codesign.figures.data` and :mod:`codesign.figures.models`.

Each ``draw_*`` takes one data object and returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global state, no display); :func:`save_figure` writes it as PNG and SVG (or PDF).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

from codesign.files import write_atomic
from codesign.figures.data import (DriftData, HypervolumeData, PanelData, ParallelData,
                                   ParetoData, RankSweepData, value_text)
from codesign.figures.models import LayerLatencyData, TcdmData, TokensSweepData

GREY = "0.72"
FORMATS = ("png", "svg", "pdf")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def palette(values: Sequence[Any]) -> dict[Any, Any]:
    """One colour per distinct value: tab10 for up to 10 values, viridis beyond."""
    from matplotlib import colormaps

    if len(values) <= 10:
        cmap = colormaps["tab10"]
        return {v: cmap(i) for i, v in enumerate(values)}
    cmap = colormaps["viridis"]
    return {v: cmap(i / max(1, len(values) - 1)) for i, v in enumerate(values)}


def draw_pareto(data: ParetoData):
    n = max(1, len(data.panels))
    cols = min(n, 3)
    rows = -(-n // cols)
    fig = _figure(5.0 * cols, 4.0 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, panel in zip(axes.flat, data.panels):
        draw_pareto_panel(ax, panel, data)
    for ax in list(axes.flat)[len(data.panels):]:
        ax.axis("off")
    fig.suptitle(data.title, fontsize=10)
    return fig


def draw_pareto_panel(ax, panel: PanelData, data: ParetoData) -> None:
    """One panel of :func:`draw_pareto` into the matplotlib Axes ``ax`` (``data``: its colours)."""
    colors = palette(data.color_values) if data.color_by else {}
    if panel.others:
        ax.scatter([p[0] for p in panel.others], [p[1] for p in panel.others], s=16, c=GREY,
                   label="dominated", zorder=1)
    if panel.infeasible:
        ax.scatter([p[0] for p in panel.infeasible], [p[1] for p in panel.infeasible], s=18,
                   marker="x", c="0.5", label="infeasible", zorder=1)
    if panel.pruned:
        ax.scatter([p[0] for p in panel.pruned], [p[1] for p in panel.pruned], s=14,
                   marker="v", facecolors="none", edgecolors="0.55", linewidths=0.7,
                   label="pruned (accuracy at its last checkpoint)", zorder=1)
    if panel.front_line:
        ax.plot(*zip(*panel.front_line), c="0.25", lw=0.8, alpha=0.6, zorder=2)
    if panel.front:
        if colors:
            for value in data.color_values:
                pts = [p for p in panel.front if p[3] == value]
                if pts:
                    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=42,
                               color=colors[value], edgecolors="black", linewidths=0.5,
                               label=f"front, {data.color_by}={value_text(value)}", zorder=3)
        else:
            ax.scatter([p[0] for p in panel.front], [p[1] for p in panel.front], s=42,
                       c="tab:blue", edgecolors="black", linewidths=0.5,
                       label="Pareto front", zorder=3)
        if len(panel.front) <= 25:
            for x, y, k, _ in panel.front:
                ax.annotate(f"#{k}", (x, y), textcoords="offset points", xytext=(4, 3),
                            fontsize=7)
    ax.set_xlabel(panel.x_label, fontsize=8)
    ax.set_ylabel(panel.y_label, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # a study without trials has nothing to label
        ax.legend(fontsize=7)


def draw_hypervolume(data: HypervolumeData):
    from matplotlib.ticker import MaxNLocator

    fig = _figure(6.0, 3.6)
    ax = fig.subplots()
    ax.step(data.numbers, data.values, where="post", c="tab:blue", lw=1.5)
    ax.scatter(data.numbers, data.values, s=8, c="tab:blue")
    ax.axhline(data.maximum, c=GREY, ls="--", lw=0.8, label=f"upper bound {data.maximum:.3g}")
    ax.set_xlabel("trial number", fontsize=8)
    ax.set_ylabel("hypervolume (objectives scaled 0..1,\nreference %.2g)" % data.reference,
                  fontsize=8)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Hypervolume of the feasible front: " + " x ".join(data.objectives), fontsize=9)
    return fig


def draw_parallel(data: ParallelData):
    k = len(data.axes)
    fig = _figure(max(6.0, 1.5 * k + 1.5), 4.2)
    ax = fig.subplots()
    xs = list(range(k))
    colors = palette(data.color_values) if data.color_by else {}
    order = sorted(range(len(data.numbers)), key=lambda i: data.on_front[i])  # front on top
    labelled = set()
    for i in order:
        ys = [a.positions[i] for a in data.axes]
        if data.on_front[i]:
            value = data.colors[i] if data.colors else None
            color = colors.get(value, "tab:blue")
            label = (f"front, {data.color_by}={value_text(value)}" if data.color_by
                     else "Pareto front")
            ax.plot(xs, ys, c=color, lw=1.6, alpha=0.9, zorder=3,
                    label=None if label in labelled else label)
            labelled.add(label)
        else:
            ax.plot(xs, ys, c=GREY, lw=0.7, alpha=0.6, zorder=1,
                    label=None if "other" in labelled else "other trials")
            labelled.add("other")
    for x, a in zip(xs, data.axes):
        ax.axvline(x, c="0.3", lw=0.8, zorder=2)
        for pos, text in a.ticks:
            ax.annotate(text, (x, pos), textcoords="offset points", xytext=(3, 0), fontsize=7,
                        va="center", zorder=4,
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))
    ax.set_xticks(xs)
    ax.set_xticklabels([a.name + (f"\n({a.direction})" if a.direction else "") for a in data.axes],
                       fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(-0.2, k - 0.4)
    ax.set_ylim(-0.05, 1.05)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    rank = {f"front, {data.color_by}={value_text(v)}": i + 1 for i, v in enumerate(data.color_values)}
    order = sorted(range(len(labels)), key=lambda i: rank.get(labels[i], 0))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=7,
              loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("Parallel coordinates: every complete trial, the front in colour", fontsize=9)
    return fig


def draw_drift(data: DriftData):
    fig = _figure(7.0, 4.2 + 0.16 * (len(data.series) + 2))
    ax = fig.subplots()
    xs = list(range(len(data.times)))
    colors = palette(list(range(len(data.series))))
    for i, s in enumerate(data.series):
        c = colors[i]
        ax.plot(xs, s.mean, marker="o", ms=3, c=c, lw=1.5, label=s.label)
        lo = [m - d for m, d in zip(s.mean, s.std)]
        hi = [m + d for m, d in zip(s.mean, s.std)]
        ax.fill_between(xs, lo, hi, color=c, alpha=0.15, lw=0)
        if s.before_mean:
            ax.plot(xs, s.before_mean, c=c, lw=0.8, ls=":", alpha=0.8)
    if data.digital:
        ax.plot(xs, data.digital, c="black", lw=1.0, ls="--", label="digital (no noise)")
    if any(s.before_mean for s in data.series):
        ax.plot([], [], c="0.4", lw=0.8, ls=":", label="dotted: analog before LoRA training")
    ax.set_xticks(xs)
    ax.set_xticklabels(data.times, fontsize=8)
    ax.set_xlabel("time after programming (drift)", fontsize=8)
    ax.set_ylabel(f"{data.metric} (mean, band: +-1 std over noise draws)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    # below the plot (constrained layout makes room): long configuration labels fit there
    fig.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="outside lower center")
    note = f" ({data.omitted} more not shown)" if data.omitted else ""
    ax.set_title(f"Accuracy after AHWA-LoRA training vs drift, front configurations{note}",
                 fontsize=9)
    return fig


def draw_rank_sweep(data: RankSweepData):
    fig = _figure(6.0, 4.0)
    ax = fig.subplots()
    colors = palette(data.times)
    for k in data.times:
        ax.plot(data.ranks, data.best[k], marker="o", ms=4, c=colors[k], label=f"{k} (best)")
        ax.fill_between(data.ranks, data.low[k], data.best[k], color=colors[k], alpha=0.12, lw=0)
    ax.set_xscale("log", base=2)
    ax.set_xticks(data.ranks)
    ax.set_xticklabels([value_text(r) for r in data.ranks], fontsize=8)
    ax.set_xlabel("LoRA rank r (trials per rank: " + ", ".join(map(str, data.counts)) + ")",
                  fontsize=8)
    ax.set_ylabel(f"{data.metric} at drift time", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, title="drift time", title_fontsize=7)
    ax.set_title("Rank sweep (cf. paper fig. 2a): best trial per rank, band down to the worst",
                 fontsize=9)
    return fig


def draw_tokens_sweep(data: TokensSweepData):
    fig = _figure(6.5, 4.2)
    ax = fig.subplots()
    colors = palette([c.integration_ns for c in data.curves])
    pmca_same = all(c.pmca_ns == data.curves[0].pmca_ns for c in data.curves)
    for c in data.curves:
        col = colors[c.integration_ns]
        best = (f" (best t={c.best_tokens}: PMCA/AIMC {c.best_ratio:.2f}, "
                f"{c.best_overhead:.2f}x latency)")
        ax.plot(data.tokens, [v / 1e3 for v in c.aimc_ns], c=col, ls="--", marker="s", ms=3,
                label=f"AIMC, {value_text(c.integration_ns)} ns" + best)
        if not pmca_same:
            ax.plot(data.tokens, [v / 1e3 for v in c.pmca_ns], c=col, marker="o", ms=3,
                    label=f"PMCA (LoRA), {value_text(c.integration_ns)} ns")
        i = data.tokens.index(c.best_tokens)
        ax.scatter([c.best_tokens], [c.aimc_ns[i] / 1e3], marker="*", s=140, color=col,
                   edgecolors="black", linewidths=0.5, zorder=4)
    if pmca_same:
        ax.plot(data.tokens, [v / 1e3 for v in data.curves[0].pmca_ns], c="black", marker="o",
                ms=3, label=f"PMCA (LoRA rank {data.rank})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(data.tokens)
    ax.set_xticklabels([str(t) for t in data.tokens], fontsize=7)
    ax.set_xlabel("parallel tokens t per chunk", fontsize=8)
    ax.set_ylabel("latency of one chunk [us]", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    ax.set_title(f"PMCA vs AIMC latency, {data.m}x{data.n} layer, rank {data.rank} "
                 f"(cf. paper fig. 4a)", fontsize=9)
    return fig


def draw_tcdm(data: TcdmData):
    fig = _figure(6.0, 4.0)
    ax = fig.subplots()
    colors = palette(data.layers)
    for layer, kib in zip(data.layers, data.kib):
        ax.plot(data.tokens, kib, marker="o", ms=3, c=colors[layer], label=f"{layer[0]}x{layer[1]}")
    ax.axhline(data.capacity_kib, c="tab:red", ls="--", lw=1,
               label=f"TCDM capacity {value_text(data.capacity_kib)} KiB")
    ax.set_xscale("log", base=2)
    ax.set_xticks(data.tokens)
    ax.set_xticklabels([str(t) for t in data.tokens], fontsize=7)
    ax.set_xlabel("parallel tokens t per chunk", fontsize=8)
    ax.set_ylabel("peak PMCA working set [KiB]", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title(f"TCDM needed vs t, LoRA rank {data.rank} (cf. paper fig. 4b)", fontsize=9)
    return fig


def draw_layer_latency(data: LayerLatencyData):
    n = len(data.labels)
    fig = _figure(8.0, max(3.0, 0.42 * n + 1.4))
    ax = fig.subplots()
    ys = list(range(n))
    h = 0.4
    ax.barh([y - h / 2 for y in ys], [v / 1e3 for v in data.without_lora_ns], h, color=GREY,
            label="AIMC only (no LoRA)")
    ax.barh([y + h / 2 for y in ys], [v / 1e3 for v in data.with_lora_ns], h, color="tab:blue",
            label=f"AIMC + PMCA, LoRA rank {data.rank}")
    for y, a, b in zip(ys, data.without_lora_ns, data.with_lora_ns):
        if a:
            ax.annotate(f"{b / a:.2f}x", (b / 1e3, y + h / 2), textcoords="offset points",
                        xytext=(3, 0), fontsize=6.5, va="center")
    many = any(c > 1 for c in data.counts)
    ax.set_yticks(ys)
    ax.set_yticklabels([f"{lab} x{c}" if many else lab for lab, c in zip(data.labels,
                                                                         data.counts)], fontsize=7)
    ax.invert_yaxis()  # network order, top to bottom
    ax.set_xlabel("latency of one layer, whole sequence [us]", fontsize=8)
    ax.margins(x=0.12)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"{data.network}: per-layer latency with and without LoRA (cf. paper fig. 4c)\n"
                 f"t_int {value_text(data.integration_ns)} ns, t={data.tokens}, placement "
                 f"{data.placement}; whole network {data.overhead:.2f}x", fontsize=9)
    return fig


def render(fig, formats: Sequence[str] = ("png", "svg"), dpi: int = 120) -> dict[str, bytes]:
    """The figure's bytes in each format. The layout is computed once, by the first rendering,
    and then frozen, so the other formats cost only their drawing."""
    out = {}
    for fmt in sorted(formats, key=lambda f: f != "png"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=_metadata(fmt))
        out[fmt] = buf.getvalue()
        fig.set_layout_engine("none")
    return out


def save_figure(fig, folder: Path, stem: str, formats: Sequence[str] = ("png", "svg"),
                dpi: int = 120, rendered: dict[str, bytes] | None = None) -> list[Path]:
    """Write ``folder/stem.<fmt>`` for each format; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rendered = rendered if rendered is not None else render(fig, formats, dpi)
    paths = []
    for fmt in formats:
        path = folder / f"{stem}.{fmt}"
        paths.append(write_atomic(path, rendered[fmt]))
    return paths


def _metadata(fmt: str) -> dict:
    # reproducible files: no creation date in SVG/PDF
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}
