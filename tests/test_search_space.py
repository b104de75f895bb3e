"""Search spaces as data: the axis -> Optuna distribution mapping, the grid, applying params."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from codesign.config import study_from_dict
from codesign.config.study import DesignPoint
from codesign.errors import InputError
from codesign.search_space import apply_params, grid, grid_size, load_space, to_distributions

DESIGN = DesignPoint()

TABLE = [
    ({"rank": {"choices": [1, 2, 4]}}, "lora.rank", CategoricalDistribution([1, 2, 4])),
    ({"placement": {"choices": ["all", "qkv"]}}, "lora.placement",
     CategoricalDistribution(["all", "qkv"])),
    ({"adc_bits": {"low": 4, "high": 8}}, "hardware.aimc.adc_bits", IntDistribution(4, 8)),
    ({"tokens": {"low": 8, "high": 128, "log": True}}, "hardware.tokens",
     IntDistribution(8, 128, log=True)),
    ({"tokens": {"low": 8, "high": 64, "step": 8}}, "hardware.tokens", IntDistribution(8, 64, step=8)),
    ({"clock_ghz": {"low": 0.5, "high": 1.0}}, "hardware.pmca.clock_ghz", FloatDistribution(0.5, 1.0)),
    ({"clock_ghz": {"low": 0.5, "high": 1.0, "step": 0.25}}, "hardware.pmca.clock_ghz",
     FloatDistribution(0.5, 1.0, step=0.25)),
    ({"weight_noise": {"low": 0.01, "high": 0.1, "log": True}}, "accuracy.noise.weight_noise",
     FloatDistribution(0.01, 0.1, log=True)),
    ({"clip_sigma": {"choices": [0.0, 2.5, 3.0]}}, "accuracy.noise.clip_sigma",
     CategoricalDistribution([0.0, 2.5, 3.0])),
    ({"hardware.pmca.tcdm_kib": {"choices": [128, 256]}}, "hardware.pmca.tcdm_kib",
     CategoricalDistribution([128, 256])),
]


@pytest.mark.parametrize("space,path,expected", TABLE, ids=[t[1] + str(i) for i, t in enumerate(TABLE)])
def test_axes_become_optuna_distributions(space, path, expected):
    assert to_distributions(load_space(space, DESIGN), DESIGN) == {path: expected}


def test_grid_enumerates_every_axis():
    axes = load_space({"rank": {"choices": [1, 2]}, "adc_bits": {"low": 4, "high": 6},
                       "clock_ghz": {"low": 0.5, "high": 1.0, "step": 0.25}}, DESIGN)
    values = grid(axes, DESIGN)
    assert values == {"lora.rank": [1, 2], "hardware.aimc.adc_bits": [4, 5, 6],
                      "hardware.pmca.clock_ghz": [0.5, 0.75, 1.0]}
    assert grid_size(axes, DESIGN) == 18


def test_grid_refuses_a_continuous_axis():
    axes = load_space({"clock_ghz": {"low": 0.5, "high": 1.0}}, DESIGN)
    with pytest.raises(InputError, match="search_space.hardware.pmca.clock_ghz: the grid sampler"):
        grid(axes, DESIGN)


def test_apply_params_sets_nested_fields_and_keeps_the_rest():
    point = apply_params(DESIGN, {"lora.rank": 4, "hardware.aimc.adc_bits": 6,
                                  "lora.placement": "query+value"})
    assert point.lora.rank == 4 and point.hardware.aimc.adc_bits == 6
    assert point.lora.roles == {"query", "value"}
    assert point.hardware.aimc.rows == DESIGN.hardware.aimc.rows
    assert DESIGN.lora.rank == 8  # the fixed point is not modified


def test_paper_space_has_the_papers_axes():
    loaded = study_from_dict({"name": "p", "search_space": "paper",
                              "objectives": [{"name": "latency_us"}]})
    dists = to_distributions(loaded.axes, loaded.config.design)
    assert dists["lora.rank"].choices == (1, 2, 4, 8, 16)
    assert dists["lora.placement"].choices == ("all", "qkv", "ffn")
    assert dists["hardware.aimc.integration_ns"].choices == (128, 256, 512)
    assert dists["hardware.aimc.adc_bits"] == IntDistribution(4, 8)
