"""Per-tile random streams: the chip simulation is reproducible and the same for any thread count."""

from __future__ import annotations

import pytest


@pytest.fixture
def threads():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


class _Tile:
    import torch

    device = torch.device("cpu")


def test_each_tile_has_its_own_stream_whatever_the_thread_count(threads):
    import torch

    from codesign.accuracy.rng import for_each_tile, randn_like

    tiles = [_Tile() for _ in range(5)]

    def draws(n_threads):
        torch.set_num_threads(n_threads)
        torch.manual_seed(7)
        out = {}
        for_each_tile(tiles, lambda t: out.__setitem__(id(t), randn_like(torch.empty(6))))
        assert torch.get_num_threads() == n_threads          # restored
        return [out[id(t)] for t in tiles]

    one, two = draws(1), draws(2)
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    assert not torch.equal(one[0], one[1])
    assert torch.equal(draws(2)[3], two[3])                   # seeded: reproducible
    assert not torch.equal(randn_like(torch.empty(6)), randn_like(torch.empty(6)))  # global


def test_programmed_and_drifted_tiles_do_not_depend_on_threads(tiny_model, threads):
    import torch

    from codesign.accuracy import AccuracySettings, WorkloadSpec, convert
    from codesign.accuracy.engine import build
    from hw_models.specs import AimcTileSpec, LoraSpec

    b = build(WorkloadSpec(model=tiny_model, n_train=8, n_eval=8), AimcTileSpec(),
              LoraSpec(rank=2), AccuracySettings(device="cpu"))
    tiles = list(convert.analog_tiles(b.model))
    assert len(tiles) > 2 and all(t.tile_streams() for t in tiles)

    def state(n_threads):
        torch.set_num_threads(n_threads)
        with torch.no_grad():
            convert.program(b.model, seed=3)
            convert.drift(b.model, 86400.0)
        return [(t.tile.weight.clone(), t.alpha.clone()) for t in tiles]

    for (w1, a1), (w2, a2) in zip(state(1), state(2)):
        assert torch.equal(w1, w2) and torch.equal(a1, a2)
