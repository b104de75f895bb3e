"""The linear layers of a Hugging Face model that stay digital (``hardware.digital``).

The names mean what they mean to the hardware model (:mod:`hw_models.digital_spec`): a
placement name or role selects those layers of every block; a layer name (the hardware
network's, e.g. ``intermediate.dense``, ``self_attn.q_proj``) the module whose path after its
block index is that name or ends with it, with the same role; ``@B`` restricts either to block B
(the first integer in the module path: ``encoder.layer.3....`` is block 3). Task heads are never
analog and never named here.

:func:`layer_labels` gives every body layer the label ``codesign sensitivity`` ranks it by:
``ROLE@B`` where the role is unique in its block (``ffn_out@5``), else ``NAME@B``.
"""

from __future__ import annotations

import re

from hw_models import SpecError
from hw_models.digital_spec import DigitalSpec, expanded, split
from hw_models.specs import PLACEMENTS, ROLES

from codesign.accuracy.roles import role_of
from codesign.errors import InputError

_BLOCK = re.compile(r"(?:^|\.)([0-9]+)(?:\.|$)")


def block_of(name: str) -> int | None:
    """The block a module belongs to: the first integer of its dotted path (None: none)."""
    m = _BLOCK.search(name)
    return int(m.group(1)) if m else None


def suffix_of(name: str) -> str:
    """The module path after its block index (the whole path outside a block)."""
    m = _BLOCK.search(name)
    return name[m.end():] if m and m.end() < len(name) else name


def matches(name: str, role: str, token: str) -> bool:
    """Whether the module ``name`` (of role ``role``) is one the token names."""
    tname, tblock, _ = split(token)
    if tblock is not None and block_of(name) != tblock:
        return False
    group = PLACEMENTS.get(tname) or (frozenset({tname}) if tname in ROLES else None)
    if group is not None:
        return role in group
    suffix = suffix_of(name)
    return (suffix == tname or suffix.endswith("." + tname)) and role_of(tname) == role


def layer_labels(roles_by_name: dict[str, str | None]) -> dict[str, str]:
    """Module name -> its label (``ROLE@B``, or ``NAME@B`` where the role repeats in the
    block; outside a block its path), for every body layer (task heads left out)."""
    body = {n: r for n, r in roles_by_name.items() if r is not None}
    count: dict[tuple, int] = {}
    for n, r in body.items():
        count[(block_of(n), r)] = count.get((block_of(n), r), 0) + 1
    out = {}
    for n, r in body.items():
        b = block_of(n)
        if b is None:
            out[n] = n
        else:
            out[n] = f"{r}@{b}" if count[(b, r)] == 1 else f"{suffix_of(n)}@{b}"
    return out


def digital_names(roles_by_name: dict[str, str | None], spec: DigitalSpec) -> list[str]:
    """The module names ``spec`` keeps digital, in model order; InputError naming
    ``digital.layers`` and the names allowed for a token that names no layer."""
    if not spec.active:
        return []
    try:
        tokens = expanded(spec)
    except SpecError as exc:
        raise InputError(str(exc)) from None
    body = {n: r for n, r in roles_by_name.items() if r is not None}
    chosen: set[str] = set()
    for token in tokens:
        hit = {n for n, r in body.items() if matches(n, r, token)}
        if not hit:
            blocks = sorted({b for b in map(block_of, body) if b is not None})
            raise InputError(
                f"digital.layers: {token!r} names no linear layer of the model; allowed: none, "
                f"top-K, {', '.join(p for p in PLACEMENTS if p != 'none')}, roles "
                f"{', '.join(sorted(set(body.values())))}, layers "
                f"{', '.join(sorted({suffix_of(n) for n in body}))}, or NAME@BLOCK with BLOCK "
                f"{blocks[0] if blocks else 0}..{blocks[-1] if blocks else 0}")
        chosen |= hit
    return [n for n in roles_by_name if n in chosen]
