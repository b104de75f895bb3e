"""Siblings (search.siblings): which points share a trial's accuracy measurement
(codesign.study.siblings.sibling_params), on a table of axes."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution

from codesign.study.siblings import sibling_params

DISTS = {"rank": CategoricalDistribution([2, 8]), "tokens": CategoricalDistribution([8, 16, 32]),
         "tcdm_kib": CategoricalDistribution([64, 128]), "clock": FloatDistribution(0.5, 1.0)}


def by_rank(params):
    """Accuracy inputs: the rank alone (tokens, TCDM and clock are hardware-only)."""
    return params["rank"]


def by_rank_and_small_tcdm(params):
    """tokens and TCDM are each free, but 32 tokens in a 64 KiB TCDM change the measurement."""
    return (params["rank"], params["tcdm_kib"] == 64 and params["tokens"] == 32)


@pytest.mark.parametrize("inputs,limit,expected", [
    # every other combination of the two free categorical axes; the float axis stays
    (by_rank, 10, [(8, 64), (16, 64), (16, 128), (32, 64), (32, 128)]),
    (by_rank, 2, [(8, 64), (16, 64)]),                    # the limit, in the axes' order
    (by_rank, 0, []),                                      # off
    (lambda p: (p["rank"], p["tokens"]), 10, [(8, 64)]),   # tokens changes it: tcdm alone
    (lambda p: tuple(sorted(p.items())), 10, []),          # everything matters: no sibling
    # each axis is free alone, but one combination changes the measurement: left out
    (by_rank_and_small_tcdm, 10, [(8, 64), (16, 64), (16, 128), (32, 128)]),
])
def test_sibling_params_vary_only_the_axes_the_measurement_does_not_see(inputs, limit, expected):
    params = {"rank": 2, "tokens": 8, "tcdm_kib": 128, "clock": 0.7}
    found = sibling_params(params, DISTS, inputs, limit)
    assert [(p["tokens"], p["tcdm_kib"]) for p in found] == expected
    assert all(p["rank"] == 2 and p["clock"] == 0.7 for p in found)


def test_an_axis_the_design_refuses_to_vary_is_not_free():
    def refuses_tokens_16(params):
        return object() if params["tokens"] == 16 else params["rank"]

    params = {"rank": 2, "tokens": 8, "tcdm_kib": 64, "clock": 0.7}
    found = sibling_params(params, DISTS, refuses_tokens_16, 10)
    assert [(p["tokens"], p["tcdm_kib"]) for p in found] == [(8, 128)]
