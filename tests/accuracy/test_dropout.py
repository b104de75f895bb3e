"""BitsDropout: nn.Dropout's law (keep 1 - p, scale 1 / (1 - p)) from random bits, in peft's place."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_keeps_one_minus_p_scaled_and_gradient_follows_the_mask(p):
    import torch

    from codesign.accuracy.dropout import BitsDropout

    torch.manual_seed(0)
    drop = BitsDropout(p)
    drop.train()
    x = torch.ones(400, 500, requires_grad=True)
    y = drop(x)
    kept = y != 0
    n = x.numel()
    assert abs(float(kept.float().mean()) - (1 - p)) < 5 * (p * (1 - p) / n) ** 0.5
    assert torch.allclose(y[kept], torch.full_like(y[kept], 1 / (1 - p)))
    y.sum().backward()
    assert torch.equal(x.grad != 0, kept)
    drop.eval()
    assert drop(x) is x
    torch.manual_seed(3)
    a = BitsDropout(p).train()(torch.ones(50))
    torch.manual_seed(3)
    assert torch.equal(a, BitsDropout(p).train()(torch.ones(50)))    # seeded: reproducible


def test_peft_lora_dropout_is_replaced(tiny_model):
    from codesign.accuracy import AccuracySettings, WorkloadSpec
    from codesign.accuracy.dropout import BitsDropout
    from codesign.accuracy.engine import build
    from hw_models.specs import AimcTileSpec, LoraSpec

    b = build(WorkloadSpec(model=tiny_model, n_train=8, n_eval=8), AimcTileSpec(),
              LoraSpec(rank=2, dropout=0.2), AccuracySettings(device="cpu"))
    drops = [m for n, m in b.model.named_modules() if n.endswith("lora_dropout.default")]
    assert drops and all(isinstance(d, BitsDropout) and d.p == 0.2 for d in drops)
