"""Warm starts across ranks: the adapter's weight update is kept (exactly up the ranks, as the
best low-rank approximation down them)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from codesign.accuracy.lora import transfer_pair  # noqa: E402


def _pair(r, n=12, m=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(r, m, generator=g), torch.randn(n, r, generator=g)


@pytest.mark.parametrize("r_old,r_new,alpha_old,alpha_new", [
    (2, 2, 16, 16), (2, 4, 16, 16), (1, 16, 16, 16), (4, 8, 8, 32), (3, 3, 16, 4)])
def test_a_larger_or_equal_rank_keeps_the_update_exactly(r_old, r_new, alpha_old, alpha_new):
    a_old, b_old = _pair(r_old)
    a_init = torch.randn(r_new, 10)
    b_init = torch.zeros(12, r_new)
    s_old, s_new = alpha_old / r_old, alpha_new / r_new
    a, b = transfer_pair(a_old, b_old, s_old, a_init, b_init, s_new)
    assert a.shape == a_init.shape and b.shape == b_init.shape
    torch.testing.assert_close(s_new * b @ a, s_old * b_old @ a_old, rtol=1e-4, atol=1e-4)
    # the extra ranks keep their initialisation (A) and add nothing (B = 0)
    torch.testing.assert_close(a[r_old:], a_init[r_old:])
    assert bool((b[:, r_old:] == 0).all())


@pytest.mark.parametrize("r_old,r_new", [(8, 4), (16, 1), (4, 2)])
def test_a_smaller_rank_gets_the_best_low_rank_approximation(r_old, r_new):
    a_old, b_old = _pair(r_old, seed=1)
    delta = 2.0 * b_old @ a_old
    a, b = transfer_pair(a_old, b_old, 2.0, torch.zeros(r_new, 10), torch.zeros(12, r_new), 0.5)
    approx = 0.5 * b @ a
    s = torch.linalg.svdvals(delta.double())
    # Eckart-Young: the error of the best rank-r approximation is the norm of the dropped values
    err = torch.linalg.matrix_norm(delta.double() - approx.double())
    assert float(err) == pytest.approx(float(s[r_new:].square().sum().sqrt()), rel=1e-4)
    assert torch.linalg.matrix_rank(approx) == r_new
