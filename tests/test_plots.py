"""Figure data (codesign.figures) against small hand-made studies, then one drawing pass."""

from __future__ import annotations

import math

import optuna
import pandas as pd
import pytest

from codesign.figures import (drift_data, hypervolume_history, parallel_data, pareto_data,
                              rank_sweep_data)
from codesign.figures.data import choose_color_param, staircase
from codesign.study import record

LAT_ACC = [("latency_us", "minimize", "us"), ("accuracy@1d", "maximize", "metric")]


def table(rows, columns=("number", "rank", "placement", "latency_us", "accuracy@1d", "feasible")):
    df = pd.DataFrame(rows, columns=list(columns))
    return df.assign(state="COMPLETE")


@pytest.fixture
def small():
    """Five trials: #1 and #3 on the front, #0 and #2 dominated, #4 infeasible (would dominate)."""
    t = table([(0, 2, "qkv", 120.0, 0.70, True), (1, 2, "all", 100.0, 0.80, True),
               (2, 8, "qkv", 160.0, 0.85, True), (3, 8, "all", 150.0, 0.90, True),
               (4, 16, "all", 90.0, 0.95, False)])
    t = pd.concat([t, table([(5, 4, "all", math.nan, math.nan, None)]).assign(state="FAIL")],
                  ignore_index=True)
    return t, t[t["number"].isin([1, 3])]


def test_pareto_front_coloured_by_rank_dominated_grey_infeasible_marked(small):
    t, front = small
    data = pareto_data(t, front, LAT_ACC)
    (panel,) = data.panels
    assert (panel.x, panel.y) == ("latency_us", "accuracy@1d")
    assert data.color_by == "rank" and data.color_values == [2, 8]
    assert sorted((p[2], p[3]) for p in panel.front) == [(1, 2), (3, 8)]
    assert sorted(p[2] for p in panel.others) == [0, 2]
    assert [p[2] for p in panel.infeasible] == [4]
    assert "lower is better" in panel.x_label and "higher is better" in panel.y_label
    # staircase of a (min, max) front: (100, .8) -> step right at .8 -> (150, .9)
    assert panel.front_line == [(100.0, 0.8), (150.0, 0.8), (150.0, 0.9)]
    assert data.title.startswith("5 complete trials (4 feasible), 2 on the Pareto front")


def test_pareto_colour_falls_back_to_adc_bits_then_none(small):
    t, front = small
    t = t.drop(columns=["rank"]).assign(adc_bits=[6, 8, 6, 8, 8, 8])
    assert choose_color_param(t, t[t["number"].isin([1, 3])]) == "adc_bits"
    data = pareto_data(t, t[t["number"].isin([1, 3])], LAT_ACC)
    assert data.color_by == "adc_bits" and data.color_values == [8]  # both front trials: 8 bit
    same = t.assign(adc_bits=8, placement="all")
    assert pareto_data(same, same[same["number"] == 1], LAT_ACC).color_by is None
    assert pareto_data(t, front, LAT_ACC, color_by=None).color_values == []


def test_three_objectives_give_three_pairwise_panels_without_staircase(small):
    t, front = small
    t = t.assign(energy_uj=[5.0, 4.0, 3.0, 2.0, 1.0, math.nan])
    objs = LAT_ACC + [("energy_uj", "minimize", "uJ")]
    data = pareto_data(t, front, objs)
    assert [(p.x, p.y) for p in data.panels] == [("latency_us", "accuracy@1d"),
                                                  ("latency_us", "energy_uj"),
                                                  ("accuracy@1d", "energy_uj")]
    assert all(p.front_line == [] and len(p.front) == 2 for p in data.panels)


def test_single_objective_is_plotted_against_the_trial_number(small):
    t, _ = small
    data = pareto_data(t, t[t["number"] == 4], [("latency_us", "minimize", "us")])
    (panel,) = data.panels
    assert panel.x == "trial" and [p[:3] for p in panel.front] == [(4.0, 90.0, 4)]


def test_staircase_for_two_minimised_objectives():
    assert staircase([(3, 1), (1, 3), (2, 2)], "minimize", "minimize") == [
        (1, 3), (2, 3), (2, 2), (3, 2), (3, 1)]
    assert staircase([], "minimize", "minimize") == []


def test_hypervolume_history_matches_boxes_by_hand():
    # two minimised objectives already spanning 0..1; reference 1.1 in scaled units
    t = pd.DataFrame({"number": [0, 1, 2, 3, 4], "state": "COMPLETE",
                      "a": [0.0, 1.0, 0.5, 0.8, -5.0], "b": [1.0, 0.0, 0.5, 0.9, -5.0],
                      "feasible": [True, True, True, True, False]})
    hv = hypervolume_history(t, [("a", "minimize", ""), ("b", "minimize", "")])
    assert hv.numbers == [0, 1, 2, 3, 4]
    # #0: 1.1 x 0.1; #1 adds 0.1 x 1.1 minus the shared 0.1 x 0.1; #2 adds 0.5 x 0.5;
    # #3 is dominated and #4 infeasible: no change
    assert hv.values == pytest.approx([0.11, 0.21, 0.46, 0.46, 0.46])
    assert hv.maximum == pytest.approx(1.21)
    assert all(b >= a for a, b in zip(hv.values, hv.values[1:]))


def test_hypervolume_handles_maximise_and_scales_units():
    t = pd.DataFrame({"number": [0, 1], "state": "COMPLETE", "lat": [100.0, 300.0],
                      "acc": [0.5, 0.9], "feasible": True})
    hv = hypervolume_history(t, [("lat", "minimize", "us"), ("acc", "maximize", "")])
    # scaled: #0 = (0, 1), #1 = (1, 0): the same two boxes as above
    assert hv.values == pytest.approx([0.11, 0.21])
    assert hv.ideal == pytest.approx([100.0, 0.9]) and hv.nadir == pytest.approx([300.0, 0.5])
    assert hypervolume_history(t, [("lat", "minimize", "us")]) is None
    assert hypervolume_history(t.assign(feasible=False), [("lat", "minimize", "us"),
                                                          ("acc", "maximize", "")]) is None


def test_parallel_coordinates_axes_categories_and_front(small):
    t, front = small
    data = parallel_data(t, front, ["rank", "placement"], LAT_ACC)
    assert [a.name for a in data.axes] == ["rank", "placement", "latency_us", "accuracy@1d"]
    assert data.numbers == [0, 1, 2, 3, 4]  # the failed trial is left out
    assert data.on_front == [False, True, False, True, False]
    rank, placement, latency, _ = data.axes
    assert not rank.categorical and rank.ticks == [(0.0, "2"), (3 / 7, "8"), (1.0, "16")]
    assert placement.categorical and placement.ticks == [(0.0, "all"), (1.0, "qkv")]
    assert placement.positions == [1.0, 0.0, 1.0, 0.0, 0.0]
    assert latency.is_objective and latency.direction == "minimize"
    assert latency.positions[4] == 0.0 and latency.positions[2] == 1.0
    assert data.color_by == "rank" and data.colors == [2, 2, 8, 8, 16]


def _frozen(number, series, params, drift):
    t = optuna.trial.create_trial(
        params=params, distributions={k: optuna.distributions.CategoricalDistribution([2, 8])
                                      for k in params},
        values=[1.0], user_attrs={"drift": drift, "accuracy_metric": "f1"})
    t.number = number
    return record.of(t)  # as stored in a study, read back as its record


def test_drift_series_per_front_configuration_in_time_order():
    a = {"1y": {"mean": 0.7, "std": 0.03}, "0s": {"mean": 0.9, "std": 0.01},
         "1d": {"mean": 0.8, "std": 0.02}}
    b = {k: {"mean": v["mean"] - 0.1, "std": v["std"]} for k, v in a.items()}
    before = {k: {"mean": 0.5, "std": 0.05} for k in a}
    trials = [_frozen(0, a, {"rank": 8, "tokens": 2},
                      {"analog_after": a, "analog_before": before,
                       "digital": {k: {"mean": 0.99} for k in a}}),
              _frozen(1, a, {"rank": 8, "tokens": 8}, {"analog_after": a}),  # same adapters as #0
              _frozen(2, b, {"rank": 2}, {"analog_after": b}),
              _frozen(3, b, {"rank": 2}, {"analog_after": b})]     # not on the front
    data = drift_data(trials, front_numbers=[0, 1, 2], label_params=["rank", "tokens"])
    assert data.times == ["0s", "1d", "1y"] and data.seconds == [0.0, 86400.0, 365.25 * 86400]
    assert data.metric == "f1" and data.digital == [0.99, 0.99, 0.99]
    first, second = data.series
    # the label names only what the curve's trials share (tokens is a latency-only knob here)
    assert first.numbers == [0, 1] and first.label == "#0, #1 (rank=8)"
    assert first.mean == [0.9, 0.8, 0.7] and first.std == [0.01, 0.02, 0.03]
    assert first.before_mean == [0.5, 0.5, 0.5]
    assert second.numbers == [2] and second.mean == pytest.approx([0.8, 0.7, 0.6])
    assert drift_data(trials, front_numbers=[]) is None


def test_drift_keeps_an_even_spread_when_the_front_is_large():
    trials = [_frozen(i, {"0s": {"mean": i / 20, "std": 0.0}}, {"rank": 8},
                      {"analog_after": {"0s": {"mean": i / 20, "std": 0.0}}}) for i in range(20)]
    data = drift_data(trials, range(20), max_series=5)
    assert len(data.series) == 5 and data.omitted == 15
    assert [s.numbers[0] for s in data.series] == [0, 5, 10, 14, 19]


def test_rank_sweep_best_and_worst_per_rank_at_each_drift_time():
    t = pd.DataFrame({"number": range(5), "state": "COMPLETE", "rank": [1, 1, 4, 4, 16],
                      "accuracy@0s": [0.8, 0.7, 0.9, 0.85, 0.95],
                      "accuracy@1y": [0.6, 0.5, 0.8, 0.7, 0.9],
                      "accuracy@mean": [0.7, 0.6, 0.85, 0.77, 0.92]})
    data = rank_sweep_data(t)
    assert data.ranks == [1.0, 4.0, 16.0] and data.times == ["0s", "1y"]
    assert data.best["1y"] == [0.6, 0.8, 0.9] and data.low["1y"] == [0.5, 0.7, 0.9]
    assert data.counts == [2, 2, 1]
    assert rank_sweep_data(t.assign(rank=8)) is None
    assert rank_sweep_data(t[["number", "state", "rank"]]) is None


def _has_models() -> bool:
    try:
        import hw_models
        return hasattr(hw_models, "layer_closed_form") and hasattr(hw_models, "evaluate_network")
    except ImportError:
        return False


@pytest.mark.skipif(not _has_models(), reason="hw_models not built yet")
def test_model_figure_data_follow_the_paper_setting():
    from hw_models.specs import HardwareSpec, LoraSpec

    from codesign.figures import layer_latency_data, tcdm_data, tokens_sweep_data

    hw = HardwareSpec()
    sweep = tokens_sweep_data(hw, rank=8, seq_len=320)
    assert [c.integration_ns for c in sweep.curves] == [128.0, 256.0, 512.0]
    assert sweep.tokens == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    c128, c256, c512 = sweep.curves
    # AIMC time of a chunk is t x integration time: doubling t_int doubles it
    for a, b in zip(c128.aimc_ns, c256.aimc_ns):
        assert b == pytest.approx(2 * a, rel=0.05)
    assert c128.pmca_ns[-1] > c128.pmca_ns[0]
    assert c128.best_ratio > c256.best_ratio > c512.best_ratio
    assert c128.best_overhead >= c512.best_overhead >= 1.0
    tcdm = tcdm_data(hw, rank=8, seq_len=320)
    assert tcdm.layers == [(128, 128), (512, 128)] and tcdm.capacity_kib == 128.0
    small, large = tcdm.kib
    assert all(b >= a for a, b in zip(large, large[1:]))  # grows with t
    assert all(lg > sm for sm, lg in zip(small, large))
    layers = layer_latency_data("minilm-l6", hw, LoraSpec(rank=8), seq_len=64)
    assert layers.labels and len(layers.labels) == len(layers.with_lora_ns)
    assert all(w >= wo for w, wo in zip(layers.with_lora_ns, layers.without_lora_ns))
    assert layers.overhead >= 1.0


def test_every_figure_draws_to_png_and_svg(small, tmp_path):
    from codesign.figures.draw import (draw_drift, draw_hypervolume, draw_parallel, draw_pareto,
                                       draw_rank_sweep, save_figure)

    t, front = small
    a = {"0s": {"mean": 0.9, "std": 0.01}, "1y": {"mean": 0.7, "std": 0.03}}
    t = t.assign(**{"accuracy@0s": [0.8, 0.9, 0.85, 0.95, 0.9, math.nan]})
    figures = {
        "pareto": draw_pareto(pareto_data(t, front, LAT_ACC)),
        "hv": draw_hypervolume(hypervolume_history(t, LAT_ACC)),
        "parallel": draw_parallel(parallel_data(t, front, ["rank", "placement"], LAT_ACC)),
        "drift": draw_drift(drift_data([_frozen(1, a, {"rank": 8}, {"analog_after": a})], [1])),
        "rank": draw_rank_sweep(rank_sweep_data(t)),
    }
    for stem, fig in figures.items():
        png, svg = save_figure(fig, tmp_path, stem, ("png", "svg"))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert "<svg" in svg.read_text()
    # the call results.write_results makes for pareto.png
    (png,) = save_figure(draw_pareto(pareto_data(t, front, LAT_ACC)), tmp_path, "p", ("png",))
    assert png.stat().st_size > 5000
