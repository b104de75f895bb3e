"""A study report: one self-contained HTML file with the pick, the front, the figures and settings.

The page reads top-down as a reader asks: the picked configuration and its latency/energy
breakdown (from the hardware model), then the Pareto front it was picked from (table and plot),
then the study's summary, the other figures and the settings; the picked full design point and
the study's resolved settings are collapsed (``<details>``).

:func:`report_content` gathers everything from the storage and the results folder (figures drawn
to PNG + SVG under ``<folder>/figures/``); :func:`render_html` turns that content into a page that
needs nothing else: images are embedded as base64 ``data:`` URIs, the style sheet is inline, there
is no script and no external request, so the file can be mailed, archived or opened offline.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml

from codesign.errors import InputError
from codesign.files import writable_file, write_atomic

#: metric columns shown in the front table beside the parameters and objectives, when recorded
EXTRA_COLUMNS = ("latency_us", "overhead", "energy_uj", "adapter_params", "tcdm_kib", "accuracy")


@dataclass
class ReportFigure:
    stem: str
    title: str
    caption: str
    png: bytes
    files: list[str] = field(default_factory=list)  # saved copies, relative to the report
    group: str = "study"


@dataclass
class ReportContent:
    name: str
    source: str | None
    storage: str
    generated: str
    summary: list[tuple[str, str]]
    objectives: list[tuple[str, str, str]]
    front_columns: list[str]
    front_rows: list[dict[str, Any]]
    figures: list[ReportFigure]
    skipped: dict[str, str]
    settings_yaml: str
    versions: dict[str, str]
    picked: dict | None = None
    picked_path: str | None = None
    dashboard: str = ""
    #: the picked point's latency/energy/memory breakdown: (group, item, value, share) rows
    breakdown: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: where the breakdown comes from, or why there is none
    breakdown_note: str = ""


def load_picked(folder: Path, study_name: str) -> dict | None:
    """``folder/picked.yaml`` when it exists and belongs to this study, else None."""
    path = Path(folder) / "picked.yaml"
    if not path.is_file():
        return None
    from codesign.safe_yaml import read_yaml_file

    try:
        picked = read_yaml_file(path, "picked.yaml")
    except InputError:
        return None
    if not isinstance(picked, dict) or picked.get("study") not in (None, study_name):
        return None
    return picked


def report_content(study, loaded, storage_url: str, folder: Path,
                   formats: Sequence[str] = ("png", "svg"), models: bool = True) -> ReportContent:
    """Everything the report shows; saves the figures to ``folder/figures/`` on the way."""
    from codesign import __version__
    from codesign.config import objectives_of
    from codesign.figures import study_figures
    from codesign.results import package_versions, pareto_table, resolved_config, trials_table
    from codesign.search_space import param_name
    from codesign.storage import redact

    folder = Path(folder)
    cfg = loaded.config
    table = trials_table(study, loaded)
    front = pareto_table(study, loaded, table)
    picked = load_picked(folder, cfg.name)
    figs = study_figures(study, loaded, table, front, picked=picked, models=models)
    figures = save_figures(figs.figures, folder, formats)
    objectives = objectives_of(loaded)
    params = [param_name(p) for p in loaded.axes]
    keys = [o[0] for o in objectives]
    extra = [c for c in EXTRA_COLUMNS if c in front.columns and c not in keys]
    columns = ["number"] + [c for c in params if c in front.columns] + keys + extra
    if "feasible" in front.columns:
        columns.append("feasible")
    rows = [{c: row[c] for c in columns} for _, row in front.iterrows()]
    summary = summary_rows(loaded, table, front, objectives, params)
    settings = resolved_config(loaded, storage_url)
    settings.pop("versions", None)
    versions = package_versions()
    if versions.get("codesign") in (None, "not installed"):
        versions["codesign"] = __version__  # run from a checkout
    breakdown, note = picked_breakdown(loaded, picked) if picked else ([], "")
    db = storage_url if storage_url.startswith("sqlite:///") else None
    dashboard = (f"optuna-dashboard {db}" if db else
                 f"optuna-dashboard '{redact(storage_url)}'  (with the real password)")
    return ReportContent(
        name=cfg.name, source=str(loaded.source) if loaded.source else None,
        storage=redact(storage_url),
        generated=_dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        summary=summary, objectives=objectives, front_columns=columns, front_rows=rows,
        figures=figures, skipped=figs.skipped,
        settings_yaml=yaml.safe_dump(settings, sort_keys=False), versions=versions,
        picked=picked, picked_path=str(folder / "picked.yaml") if picked else None,
        dashboard=dashboard, breakdown=breakdown, breakdown_note=note)


def save_figures(specs, folder: Path, formats: Sequence[str]) -> list[ReportFigure]:
    """Render each figure once (PNG for the page, plus ``formats``) and save it under
    ``folder/figures/``; the report's figures with their paths relative to ``folder``."""
    from codesign.figures.draw import render, save_figure

    figures = []
    for spec in specs:
        fig = spec.figure()
        rendered = render(fig, ["png", *[f for f in formats if f != "png"]])
        saved = save_figure(fig, folder / "figures", spec.stem, formats, rendered=rendered)
        figures.append(ReportFigure(spec.stem, spec.title, spec.caption, rendered["png"],
                                    [str(p.relative_to(folder)) for p in saved], spec.group))
    return figures


def summary_rows(loaded, table, front, objectives, params: list[str]) -> list[tuple[str, str]]:
    """The report's summary: (label, text) rows about the trials, the front and the study."""
    from codesign.table import cache_hits_text, complete, feasible_mask, trials_text

    cfg = loaded.config
    done = complete(table)
    n_feasible = int(feasible_mask(done).sum()) if not done.empty else 0
    summary = [
        ("trials", trials_text(table)),
        ("feasible complete trials", str(n_feasible)),
        ("Pareto front", f"{len(front)} trial(s)"),
        ("objectives", ", ".join(f"{c} ({d})" for c, d, _ in objectives)),
        ("constraints", ", ".join(map(str, loaded.rules)) or "none"),
        ("search space", ", ".join(params)),
        ("sampler", f"{cfg.sampler} (seed {cfg.seed})"),
        ("network", f"{cfg.workload.network}, {cfg.workload.seq_len} tokens"),
    ]
    hits = cache_hits_text(table)
    if hits is not None:
        summary.append(("accuracy cache hits", hits))
    return summary


def picked_breakdown(loaded, picked: dict) -> tuple[list[tuple[str, str, str, str]], str]:
    """(rows of :func:`breakdown_rows`, a note saying what they are) for the picked
    configuration: the study's fixed design with the picked parameters, through the hardware
    model; ([], why) when the model cannot evaluate it."""
    import hw_models

    from codesign import evaluators
    from codesign.errors import INPUT_ERRORS
    from codesign.figures import design_for_models

    design = design_for_models(loaded, picked)
    w = design.workload
    try:
        report = hw_models.evaluate_network(evaluators.network(w.network), design.hardware,
                                            design.lora, seq_len=w.seq_len)
    except INPUT_ERRORS as exc:
        return [], f"The hardware model cannot evaluate it: {exc}"
    return breakdown_rows(report), (
        f"From the hardware model (hw_models, discrete-event engine): {report.network}, "
        f"{report.seq_len} tokens in chunks of {report.tokens}, LoRA rank {report.rank}.")


def breakdown_rows(report) -> list[tuple[str, str, str, str]]:
    """A network report (:class:`hw_models.NetworkReport`) as (group, item, value, share of the
    group's total) rows: where the latency goes (with and without the adapters, the per-chunk
    AIMC and PMCA stage times), where the energy goes (per layer role, attention, leakage) and
    the memory and silicon it needs. Pure."""
    total_ns, base_ns = report.total_ns, report.aimc_only_ns
    rows = [
        ("latency", f"whole network, {report.seq_len} tokens (pipelined)",
         f"{total_ns / 1e3:,.1f} us", "100%"),
        ("latency", "the same network without adapters", f"{base_ns / 1e3:,.1f} us",
         _share(base_ns, total_ns)),
        ("latency", f"added by the LoRA adapters (overhead {report.overhead:.3f}x)",
         f"{(total_ns - base_ns) / 1e3:,.1f} us", _share(total_ns - base_ns, total_ns)),
        ("latency", f"one chunk of {report.tokens} tokens on the AIMC tiles (all layers)",
         f"{report.aimc_ns / 1e3:,.2f} us", ""),
        ("latency", f"its LoRA work on the PMCAs (ratio {report.ratio:.2f} of the AIMC time)",
         f"{report.pmca_ns / 1e3:,.2f} us", ""),
        ("latency", "attention work on the PMCAs, summed over heads and blocks (in parallel)",
         f"{report.attention_ns / 1e3:,.1f} us", ""),
    ]
    energy = report.energy_pj
    roles: dict[str, float] = {}
    for layer in report.layers:
        roles[layer.role] = roles.get(layer.role, 0.0) + layer.energy_pj * layer.count
    rows.append(("energy", "whole network", f"{energy / 1e6:,.2f} uJ", "100%"))
    for role, pj in roles.items():
        rows.append(("energy", f"{role} layers (AIMC tiles and their PMCAs)",
                     f"{pj / 1e6:,.2f} uJ", _share(pj, energy)))
    attention = report.dynamic_energy_pj - sum(roles.values())
    rows.append(("energy", "attention", f"{attention / 1e6:,.2f} uJ", _share(attention, energy)))
    rows.append(("energy", f"static (leakage of {report.area_mm2:,.1f} mm2 over the latency)",
                 f"{report.static_energy_pj / 1e6:,.2f} uJ",
                 _share(report.static_energy_pj, energy)))
    rows += [
        ("memory", "peak TCDM working set of a cluster",
         f"{report.tcdm_bytes / 1024:,.1f} KiB", "fits" if report.tcdm_fits else "does NOT fit"),
        ("memory", "adapter parameters", f"{report.adapter_params:,}", ""),
        ("silicon", f"{report.tiles:,} AIMC tiles on {report.chips} chip(s)",
         f"{report.area_mm2:,.1f} mm2", ""),
    ]
    return rows


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else ""


def write_report(study, loaded, storage_url: str, folder: Path, path: Path | None = None,
                 formats: Sequence[str] = ("png", "svg"), models: bool = True) -> Path:
    """Build the report and write it (default ``folder/report.html``) atomically."""
    folder = Path(folder)
    flag = "--html" if path else "--out"
    path = Path(path) if path else folder / "report.html"
    writable_file(path, flag)  # before any figure is written
    content = report_content(study, loaded, storage_url, folder, formats, models)
    return write_atomic(path, render_html(content))


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
  color:#1d232a;background:#fafafa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:1.5rem 2rem 3rem;background:#fff}
h1{font-size:1.6rem;margin:.2rem 0 .3rem}h2{font-size:1.2rem;margin-top:2.2rem;
  border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1rem;margin:1.4rem 0 .3rem}
.meta{color:#555;font-size:.85rem}
table{border-collapse:collapse;font-size:.82rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
th{background:#f0f2f5;text-align:center}td.text{text-align:left}
tr.picked td{background:#fff4d6;font-weight:600}
table.kv td:first-child{text-align:left;color:#555;white-space:nowrap}
table.kv td{text-align:left}
figure{margin:1rem 0 1.8rem}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85rem;color:#444;margin-top:.3rem}
pre{background:#f5f6f8;padding:.7rem;overflow-x:auto;font-size:.78rem;border-radius:4px}
code{background:#f0f2f5;padding:0 .25rem;border-radius:3px}
nav a{margin-right:.9rem;font-size:.9rem}
.files{font-size:.78rem;color:#666}
ul.skipped{font-size:.85rem;color:#555}
table.breakdown td.text{min-width:24rem}table.breakdown tr.group th{text-align:left}
details{margin:.5rem 0 1rem}summary{cursor:pointer;color:#264d80;font-size:.9rem}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def _table(columns: list[str], rows: list[dict], picked_trial: int | None = None,
           headers: dict[str, str] | None = None) -> str:
    headers = headers or {}
    out = ["<table class=\"front\"><thead><tr>"]
    out += [f"<th>{_esc(headers.get(c, c))}</th>" for c in columns]
    out.append("</tr></thead><tbody>")
    for row in rows:
        picked = picked_trial is not None and _fmt(row.get("number")) == str(picked_trial)
        out.append("<tr class=\"picked\">" if picked else "<tr>")
        for c in columns:
            v = row.get(c)
            cls = " class=\"text\"" if isinstance(v, str) else ""
            text = _fmt(v) if c != "number" else f"#{_fmt(v)}"
            out.append(f"<td{cls}>{_esc(text)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _kv(pairs) -> str:
    return ("<table class=\"kv\"><tbody>" + "".join(
        f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in pairs) + "</tbody></table>")


def render_html(c: ReportContent) -> str:
    """The report page (pure: the same content gives the same page). Top-down: the pick and its
    breakdown, the front (table and plot), the summary, the other figures, the settings."""
    picked_trial = int(c.picked["trial"]) if c.picked and "trial" in c.picked else None
    parts = [
        "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>codesign report: {_esc(c.name)}</title>", f"<style>{_CSS}</style>",
        "</head><body><main>",
        f"<h1>Study <code>{_esc(c.name)}</code></h1>",
        f"<p class=\"meta\">codesign {_esc(c.versions.get('codesign', ''))} &middot; generated "
        f"{_esc(c.generated)} &middot; study file {_esc(c.source or '(inline)')} &middot; "
        f"storage <code>{_esc(c.storage)}</code></p>",
        "<nav><a href=\"#picked\">Picked</a><a href=\"#front\">Front</a>"
        "<a href=\"#summary\">Summary</a><a href=\"#figures\">Figures</a>"
        "<a href=\"#settings\">Settings</a></nav>",
    ]
    parts += _picked_section(c)
    parts += _front_section(c, picked_trial)
    parts += ["<h2 id=\"summary\">Summary</h2>", _kv(c.summary)]
    parts += _figures_section(c)
    parts += [
        "<h2 id=\"settings\">Study settings</h2>",
        "<details><summary>The study as it ran (every default filled in, the search space "
        f"inline)</summary><pre>{_esc(c.settings_yaml)}</pre></details>",
        "<h3>Package versions</h3>", _kv(sorted(c.versions.items())),
        "<h3>Explore interactively</h3>",
        f"<p>The same study in optuna-dashboard (<code>pip install optuna-dashboard</code>):</p>"
        f"<pre>{_esc(c.dashboard)}</pre>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _picked_section(c: ReportContent) -> list[str]:
    """The picked configuration: why, its parameters and objectives, its latency/energy
    breakdown, and its full design point collapsed."""
    parts = ["<h2 id=\"picked\">Picked configuration</h2>"]
    if not c.picked:
        return parts + ["<p>No configuration picked yet: run <code>codesign pick "
                        f"{_esc(c.source or 'STUDY.yaml')} --require ...</code>, then this "
                        "report again.</p>"]
    p = c.picked
    parts.append(f"<p>Trial <b>#{_esc(p.get('trial'))}</b>: {_esc(p.get('why', ''))}.</p>")
    if p.get("requirements"):
        parts.append("<p>Requirements: " + ", ".join(
            f"<code>{_esc(r)}</code>" for r in p["requirements"]) + "</p>")
    parts.append(_kv([(k, _fmt(v)) for k, v in (p.get("params") or {}).items()]
                     + [(f"-> {k}", _fmt(v)) for k, v in (p.get("objectives") or {}).items()]))
    parts.append("<h3 id=\"breakdown\">Where its latency and energy go</h3>")
    if c.breakdown_note:
        parts.append(f"<p class=\"meta\">{_esc(c.breakdown_note)}</p>")
    if c.breakdown:
        parts.append(_breakdown_table(c.breakdown))
    parts.append(f"<details><summary>Its full design point (from {_esc(c.picked_path)}, the "
                 "file to hand on)</summary>"
                 f"<pre>{_esc(yaml.safe_dump(p.get('design', {}), sort_keys=False))}</pre>"
                 "</details>")
    return parts


def _breakdown_table(rows: list[tuple[str, str, str, str]]) -> str:
    out = ["<table class=\"breakdown\"><tbody>"]
    group = None
    for g, item, value, share in rows:
        if g != group:
            out.append(f"<tr class=\"group\"><th colspan=\"3\">{_esc(g)}</th></tr>")
            group = g
        out.append(f"<tr><td class=\"text\">{_esc(item)}</td><td>{_esc(value)}</td>"
                   f"<td>{_esc(share)}</td></tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _front_section(c: ReportContent, picked_trial: int | None) -> list[str]:
    """The Pareto front: its table (the picked row highlighted) and the Pareto plot."""
    headers = {col: f"{col} ({'max' if d == 'maximize' else 'min'})" for col, d, _ in c.objectives}
    parts = ["<h2 id=\"front\">Pareto front</h2>"]
    if c.front_rows:
        parts.append(f"<p>{len(c.front_rows)} non-dominated feasible trial(s), as Optuna's "
                     "<code>best_trials</code>" + (" (the picked one highlighted)"
                                                   if picked_trial is not None else "") + ".</p>")
        parts.append(_table(c.front_columns, c.front_rows, picked_trial, headers))
    else:
        parts.append("<p>No feasible complete trial yet.</p>")
    parts += [_figure_html(f) for f in c.figures if f.stem == "pareto"]
    return parts


def _figures_section(c: ReportContent) -> list[str]:
    parts = ["<h2 id=\"figures\">Figures</h2>"]
    for group, heading in (("study", "From the trials"),
                           ("model", "From the hardware model")):
        shown = [f for f in c.figures if f.group == group and f.stem != "pareto"]
        if not shown:
            continue
        parts.append(f"<h3>{heading}</h3>")
        parts += [_figure_html(f) for f in shown]
    if c.skipped:
        parts.append("<p>Not shown for this study:</p><ul class=\"skipped\">" + "".join(
            f"<li>{_esc(k)}: {_esc(v)}</li>" for k, v in c.skipped.items()) + "</ul>")
    return parts


def _figure_html(f: ReportFigure) -> str:
    data = base64.b64encode(f.png).decode("ascii")
    files = (" <span class=\"files\">(files: " + ", ".join(_esc(x) for x in f.files)
             + ")</span>") if f.files else ""
    return (f"<figure id=\"fig-{_esc(f.stem)}\"><img alt=\"{_esc(f.title)}\" "
            f"src=\"data:image/png;base64,{data}\"><figcaption><b>{_esc(f.title)}.</b> "
            f"{_esc(f.caption)}{files}</figcaption></figure>")
