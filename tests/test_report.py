"""``codesign report``: a self-contained HTML page, checked as text and in a real headless Chromium.

The study is hand-made (trials with drift series added to a SQLite storage), so no training and no
search runs here; the model figures come from hw_models when it is installed.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from codesign.cli import main

CHROMIUM = Path("/usr/bin/chromium")

STUDY = {
    "name": "rep",
    "workload": {"network": "minilm-l6", "seq_len": 64},
    "accuracy": {"evaluation": {"drift_times": ["0s", "1d", "1y"], "n_draws": 2}},
    "search_space": {"rank": {"choices": [2, 8]}, "placement": {"choices": ["all", "qkv"]},
                     "tokens": {"choices": [8, 16]}},
    "objectives": [{"name": "accuracy", "at": "1d"}, {"name": "latency_us"}],
    "constraints": ["tcdm_fits"],
}

#: (rank, placement, tokens, accuracy at 0s, latency_us, feasible)
TRIALS = [(2, "qkv", 8, 0.80, 100.0, True), (8, "all", 16, 0.92, 140.0, True),
          (8, "all", 8, 0.92, 120.0, True), (2, "all", 16, 0.85, 150.0, True),
          (8, "qkv", 16, 0.95, 90.0, False)]


def make_study(tmp_path: Path, picked: bool = False) -> tuple[Path, Path]:
    """A study file and a results root holding its SQLite study with hand-made trials."""
    import optuna

    from codesign.config import load_study
    from codesign.search_space import to_distributions
    from codesign.search_space import param_name
    from codesign.storage import default_url
    from codesign.study import make_storage, open_study

    path = tmp_path / "rep.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    out = tmp_path / "results"
    loaded = load_study(path)
    study = open_study(loaded, make_storage(default_url(out, "rep")), seed=0)
    dists = {param_name(p): d for p, d in to_distributions(loaded.axes, loaded.config.design).items()}
    for rank, placement, tokens, acc, latency, feasible in TRIALS:
        series = {t: {"mean": acc - k * 0.03 * (2 if placement == "qkv" else 1),
                      "std": 0.01 * (k + 1)} for k, t in enumerate(["0s", "1d", "1y"])}
        metrics = {"latency_us": latency, "aimc_only_us": 80.0, "overhead": latency / 80.0,
                   "energy_uj": latency / 10, "adapter_params": 1000.0 * rank, "tcdm_kib": 20.0,
                   "tcdm_fits": 1.0 if feasible else 0.0,
                   **{f"accuracy@{t}": v["mean"] for t, v in series.items()},
                   "accuracy": sum(v["mean"] for v in series.values()) / 3}
        constraints = {"tcdm_fits>=1": 0.0 if feasible else 1.0}
        study.add_trial(optuna.trial.create_trial(
            params={"rank": rank, "placement": placement, "tokens": tokens},
            distributions=dists, values=[series["1d"]["mean"], latency],
            system_attrs={"constraints": list(constraints.values())},
            user_attrs={"metrics": metrics, "constraints": constraints,
                        "drift": {"digital": {t: {"mean": 0.97, "std": 0.0} for t in series},
                                  "analog_before": {t: {"mean": v["mean"] - 0.2, "std": 0.02}
                                                    for t, v in series.items()},
                                  "analog_after": series},
                        "accuracy_metric": "fidelity"}))
    if picked:
        folder = out / "rep"
        (folder / "picked.yaml").write_text(yaml.safe_dump({
            "study": "rep", "trial": 2, "why": "knee point <test>", "requirements": ["latency_us<=130"],
            "params": {"rank": 8, "placement": "all", "tokens": 8},
            "objectives": {"accuracy@1d": 0.89, "latency_us": 120.0},
            "design": {"hardware": {"tokens": 8}, "lora": {"rank": 8, "placement": "all"}}}))
    return path, out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One report (with picked.yaml and the model figures) shared by the tests below."""
    tmp = tmp_path_factory.mktemp("report")
    path, out = make_study(tmp, picked=True)
    code = main(["report", str(path), "--out", str(out)])
    return code, out / "rep", (out / "rep" / "report.html").read_text(), tmp


def test_report_is_one_self_contained_page(report):
    code, folder, page, _ = report
    assert code == 0
    # nothing fetched from elsewhere: every src is a data: URI, no stylesheet/script links
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script" not in page and "<link" not in page
    assert "http://" not in page and "https://" not in page
    for src in sources:  # each embedded image is a real PNG
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    stems = ["pareto", "hypervolume", "parallel", "drift", "rank_sweep"]
    if _has_models():
        stems += ["tokens_sweep", "tcdm", "layer_latency"]
    for stem in stems:
        assert f'id="fig-{stem}"' in page
        assert (folder / "figures" / f"{stem}.png").stat().st_size > 1000
        assert (folder / "figures" / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    assert len(sources) == len(stems)


def test_report_front_table_picked_row_and_settings(report):
    _, _, page, _ = report
    front = re.search(r'<table class="front">.*?</table>', page, re.S).group(0)
    # 4 is infeasible (though it dominates); 1 and 3 are dominated by 2 (0.89 at 120 us)
    assert sorted(int(n) for n in re.findall(r"<td>#(\d+)</td>", front)) == [0, 2]
    assert '<tr class="picked"><td>#2</td>' in front
    assert "accuracy@1d (max)" in front and "latency_us (min)" in front
    assert "knee point &lt;test&gt;" in page  # user text is escaped
    assert "<code>latency_us&lt;=130</code>" in page
    assert "optuna-dashboard sqlite:///" in page and "study.db" in page
    assert "Study settings" in page and "search_space:" in page and "n_draws: 2" in page


def test_report_puts_the_pick_and_its_breakdown_first_then_the_front(report):
    """The picked point, its latency/energy breakdown, its design point collapsed, then the front
    (table and plot), then the summary, the other figures and the settings (collapsed)."""
    _, _, page, _ = report
    order = [page.index(marker) for marker in (
        '<h2 id="picked">', 'id="breakdown"', '<table class="breakdown">',
        "<details><summary>Its full design point", '<h2 id="front">', '<table class="front">',
        'id="fig-pareto"', '<h2 id="summary">', '<h2 id="figures">', '<h2 id="settings">')]
    assert order == sorted(order)
    breakdown = re.search(r'<table class="breakdown">.*?</table>', page, re.S).group(0)
    for text in ("whole network, 64 tokens (pipelined)", "added by the LoRA adapters",
                 "attention", "static (leakage", "peak TCDM working set"):
        assert text in breakdown, text
    assert "minilm-l6, 64 tokens in chunks of 8, LoRA rank 8" in page
    # the design point (and the settings) only inside closed <details>
    design = page.index("hardware:\n  tokens: 8")
    assert page.rfind("<details>", 0, design) > page.rfind("</details>", 0, design)
    assert "<details open" not in page


def test_breakdown_rows_add_up():
    """Latency: without adapters + added = total; energy: layer roles + attention + leakage =
    total (shares sum to 100%), for a real hardware-model report."""
    import hw_models

    from codesign.report import breakdown_rows

    report = hw_models.evaluate_network(hw_models.load_network("minilm-l6"),
                                        hw_models.HardwareSpec(tokens=8),
                                        hw_models.LoraSpec(rank=8), seq_len=64)
    rows = breakdown_rows(report)
    latency = [r for r in rows if r[0] == "latency"]
    assert latency[0][3] == "100%"
    assert float(latency[1][3].rstrip("%")) + float(latency[2][3].rstrip("%")) == \
        pytest.approx(100.0, abs=0.11)
    energy = [r for r in rows if r[0] == "energy"]
    parts = [float(r[3].rstrip("%")) for r in energy[1:]]
    assert {r[1].split(" layers")[0] for r in energy if " layers" in r[1]} == \
        {layer.role for layer in report.layers}
    assert sum(parts) == pytest.approx(100.0, abs=0.1 * len(parts))
    assert all(p > 0 for p in parts)
    assert float(energy[0][2].split()[0].replace(",", "")) == pytest.approx(
        report.energy_pj / 1e6, abs=0.006)


def test_render_without_pick_or_front_says_so():
    from codesign.report import ReportContent, render_html

    page = render_html(ReportContent(
        name="x<y", source=None, storage="sqlite:///s.db", generated="now", summary=[("trials", "0")],
        objectives=[("latency_us", "minimize", "us")], front_columns=["number"], front_rows=[],
        figures=[], skipped={"drift": "latency-only study"}, settings_yaml="name: x\n",
        versions={"codesign": "0"}))
    assert "No configuration picked yet" in page and "No feasible complete trial yet" in page
    assert "x&lt;y" in page and "drift: latency-only study" in page


def test_report_of_a_missing_study_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "rep.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    assert main(["report", str(path), "--out", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has not been run yet" in err


def _has_models() -> bool:
    try:
        import hw_models
        return hasattr(hw_models, "layer_closed_form") and hasattr(hw_models, "evaluate_network")
    except ImportError:
        return False


@pytest.mark.browser
def test_report_renders_in_headless_chromium(report):
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (bash .ci/browser.sh installs it)")
    _, folder, page, tmp = report
    # a copy with a probe that writes each image's load state and natural size into the DOM
    probe = ("<script>window.addEventListener('load', () => {const r = [...document.images].map("
             "i => [i.complete, i.naturalWidth, i.naturalHeight]); const top = s => "
             "document.querySelector(s).getBoundingClientRect().top; const l = {breakdown: "
             "top('table.breakdown'), front: top('table.front'), design: document.querySelector("
             "'#picked ~ details').getBoundingClientRect().height, summary: document."
             "querySelector('#picked ~ details summary').getBoundingClientRect().height}; "
             "const p = "
             "document.createElement('pre'); p.id = 'probe'; p.textContent = JSON.stringify("
             "{images: r, layout: l}); document.body.appendChild(p);});</script>")
    probed = tmp / "probed.html"
    probed.write_text(page.replace("</body>", probe + "</body>"))
    profile = tmp / "profile"
    profile.mkdir()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000"]
    run = subprocess.run([str(CHROMIUM), *flags, "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=90, cwd=tmp)
    found = re.search(r'<pre id="probe">(.*?)</pre>', run.stdout, re.S)
    assert found, "the page did not load (no probe output):\n" + run.stderr[-1000:]
    probed_out = json.loads(found.group(1))
    sizes, layout = probed_out["images"], probed_out["layout"]
    assert len(sizes) == len(re.findall(r"<img ", page)) >= 5
    assert all(complete and w > 300 and h > 200 for complete, w, h in sizes), sizes
    # as laid out: the breakdown above the front table, the design point collapsed (not drawn)
    assert 0 < layout["breakdown"] < layout["front"], layout
    assert 0 < layout["design"] < layout["summary"] + 5, layout
    assert "Pareto front" in run.stdout and "Study settings" in run.stdout


def plot_cli(*argv) -> int:
    """``codesign plot ...`` (through a local parser until the subcommand is registered)."""
    from codesign.cli import SUBCOMMANDS, _Parser
    from codesign.cli import plot
    from codesign.errors import INPUT_ERRORS

    if "plot" in SUBCOMMANDS:
        return main(["plot", *argv])
    parser = _Parser(prog="codesign")
    plot.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["plot", *argv])
    try:
        return args.func(args)
    except INPUT_ERRORS:
        return 2


def test_plot_writes_the_chosen_figures_in_the_chosen_formats(report, capsys):
    _, folder, _, tmp = report
    out = str(folder.parent)
    assert plot_cli(str(tmp / "rep.yaml"), "--out", out, "--format", "pdf",
                    "--only", "pareto,drift") == 0
    assert (folder / "figures" / "pareto.pdf").read_bytes()[:5] == b"%PDF-"
    assert (folder / "figures" / "drift.pdf").stat().st_size > 1000
    assert not (folder / "figures" / "parallel.pdf").exists()
    assert "pareto: " in capsys.readouterr().out
    assert plot_cli(str(tmp / "rep.yaml"), "--out", out, "--format", "gif") == 2
    assert plot_cli(str(tmp / "rep.yaml"), "--out", out, "--only", "pie") == 2


def test_report_of_a_study_without_trials(tmp_path):
    from codesign.config import load_study
    from codesign.storage import default_url
    from codesign.study import make_storage, open_study

    path = tmp_path / "rep.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    open_study(load_study(path), make_storage(default_url(tmp_path / "r", "rep")), seed=0)
    assert main(["report", str(path), "--out", str(tmp_path / "r"), "--no-models"]) == 0
    page = (tmp_path / "r" / "rep" / "report.html").read_text()
    assert "No feasible complete trial yet" in page and 'id="fig-pareto"' in page
    assert "hypervolume: needs two or more objectives" in page
