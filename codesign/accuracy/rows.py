"""Analog layers compute the rows of real tokens only, not the padding.

A batch of sentences is padded to its longest one; on the default workload 1 row in 3 that the
analog layers received was padding (1.48 padded rows per real one in evaluation, 1.51 in
training). Every analog row costs an MVM, one output-noise draw per output and the tile's
element-wise periphery, and nothing of it reaches a real token: a linear layer acts on each token
alone, attention gives padded keys zero weight, and the tasks pool or score real tokens only.

:func:`install` hooks a model so that, while it runs a forward pass called with a 2-d
``attention_mask`` keyword (1 = real token) that has padding, each analog layer whose input has
the mask's (batch, sequence) shape gathers the real rows, computes them as before (noise
management, noise, quantisation and bound management see the same rows of real tokens) and
scatters its output back, zeros at padded positions. Real tokens' values are those of the padded
computation, up to which random numbers they draw (tests/accuracy/test_rows.py); gradients flow
through the gather and scatter. A forward pass without such a mask, or a layer input of another
shape, runs unchanged.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Iterable, Optional

import torch
from torch import Tensor

#: (batch, sequence) shape of the running forward pass's mask, flat indices of its real tokens
_ROWS: ContextVar[Optional[tuple[torch.Size, Tensor]]] = ContextVar("codesign_rows", default=None)


def rows_of(mask: Optional[Any]) -> Optional[tuple[torch.Size, Tensor]]:
    """(shape, flat indices of the ones) of a 2-d 0/1 mask that has zeros; None otherwise."""
    if not isinstance(mask, Tensor) or mask.dim() != 2:
        return None
    flat = mask.reshape(-1) != 0
    if bool(flat.all()):
        return None
    return mask.shape, flat.nonzero().squeeze(1)


def _enter(module, args, kwargs) -> None:
    token = _ROWS.set(rows_of(kwargs.get("attention_mask")))
    module.__dict__.setdefault("_codesign_row_tokens", []).append(token)


def _leave(module, args, kwargs, output) -> None:
    tokens = module.__dict__.get("_codesign_row_tokens")
    if tokens:
        _ROWS.reset(tokens.pop())


def _gather(module, args) -> Optional[tuple]:
    rows = _ROWS.get()
    if rows is None or not args:
        return None
    x = args[0]
    shape, index = rows
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[:2] != shape:
        return None
    module._codesign_rows = shape
    return (x.reshape(-1, x.shape[-1]).index_select(0, index.to(x.device)),) + tuple(args[1:])


def _scatter(module, args, output: Tensor) -> Optional[Tensor]:
    shape = module.__dict__.pop("_codesign_rows", None)
    if shape is None:
        return None
    _, index = _ROWS.get()
    full = output.new_zeros((shape[0] * shape[1], output.shape[-1]))
    full.index_copy_(0, index.to(output.device), output)
    return full.view(shape[0], shape[1], output.shape[-1])


def install(model, analog_layers: Iterable) -> list:
    """Hook ``model`` (the outermost module the tasks call) and its analog layers; returns the
    hook handles (``handle.remove()`` undoes it). An analog layer that is the base layer of a
    peft LoRA layer is hooked through that wrapper, so the adapter's dropout and matrices skip
    the padded rows too."""
    analog = {id(m) for m in analog_layers}
    wrapped = {id(m.base_layer): m for m in model.modules()
               if id(getattr(m, "base_layer", None)) in analog}
    handles = [model.register_forward_pre_hook(_enter, with_kwargs=True),
               model.register_forward_hook(_leave, with_kwargs=True, always_call=True)]
    for layer in analog_layers:
        layer = wrapped.get(id(layer), layer)
        handles += [layer.register_forward_pre_hook(_gather),
                    layer.register_forward_hook(_scatter)]
    return handles
