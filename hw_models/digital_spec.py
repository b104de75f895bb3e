"""Which linear layers stay digital: the design field (``hardware.digital``) and its vocabulary.

A digital layer has no AIMC tile: its weights are read from memory and multiplied on its PMCA
clusters (:mod:`hw_models.digital`), and the accuracy model leaves it an ordinary
``torch.nn.Linear`` (no noise, no drift). ``layers`` names them with these tokens, joined by
``+`` in text or given as a list:

* ``none`` (every layer analog, the default) or ``all``, ``qkv``, ``attention``, ``attn_out``,
  ``ffn`` (the LoRA placement names) or a role (``query``, ``key``, ``value``, ``attn_out``,
  ``ffn_in``, ``ffn_out``, ``other``): those layers of every block;
* a layer of the network by its name (``intermediate.dense``, ``self_attn.q_proj``): in every
  block; ``NAME@B`` or ``ROLE@B``: only in block B (0-based), e.g. ``output.dense@5``;
* ``top-K``: the K most sensitive layers of the ranking file ``ranking`` (written by
  ``codesign sensitivity``), each one of the names above.

Pure; the names are checked against a network by :func:`hw_models.digital.resolve`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from ._fields import SpecError, spec_field, validate

#: a token: a name (letters, digits, '_', '.') with an optional @block, or top-K
_TOKEN = re.compile(r"^(?:top-(?P<k>[0-9]+)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)(?:@(?P<b>[0-9]+))?)$")
#: the largest ranking file read (a network of 1024 blocks x 10 layers is ~1 MiB of JSON)
MAX_RANKING_BYTES = 4 << 20
#: what a ranking file says it is (``codesign sensitivity`` writes it)
RANKING_KIND = "codesign-sensitivity"


@dataclass(frozen=True)
class DigitalSpec:
    """The linear layers that stay digital and where their weights may live."""

    layers: Union[str, tuple] = spec_field(
        "none", help="linear layers without a tile, run as RedMulE GEMMs on their PMCA clusters "
                     "and left digital by the accuracy model: none, all, a LoRA placement name "
                     "(qkv, attention, attn_out, ffn), roles, layer names, NAME@BLOCK, or top-K "
                     "of the ranking file (joined by '+' or a list)")
    ranking: Optional[str] = spec_field(
        None, help="a JSON ranking file written by `codesign sensitivity` (most sensitive "
                   "layer first); needed by top-K")
    l2_share: float = spec_field(
        0.5, help="share of the chips' L2 that digital layers' weights may hold; the rest keeps "
                  "attention's Q/K/V and working sets that overflow the TCDM. Weights that do "
                  "not fit the cluster's TCDM go to the L2 in network order while this share "
                  "lasts, then to off-chip memory (hardware.offchip). Assumption (a knob)",
        unit="fraction", ge=0, le=1)

    def __post_init__(self) -> None:
        validate(self)
        toks = tokens(self.layers)
        if any(t.startswith("top-") for t in toks) and not self.ranking:
            raise SpecError("digital.ranking: top-K needs a ranking file (codesign sensitivity "
                            "writes one)")

    @property
    def active(self) -> bool:
        """Whether any layer is asked to stay digital."""
        return bool(tokens(self.layers))


def tokens(layers: Union[str, tuple, list]) -> tuple[str, ...]:
    """The tokens of a ``layers`` value ('none' -> ()); SpecError naming ``digital.layers`` for
    text that is no token."""
    if isinstance(layers, str):
        parts = [p.strip() for p in layers.split("+")]
    elif isinstance(layers, (tuple, list)):
        parts = [p.strip() if isinstance(p, str) else p for p in layers]
    else:
        raise SpecError(f"digital.layers: must be text or a list of layer names; got {layers!r}")
    if parts == ["none"]:
        return ()
    for p in parts:
        if not isinstance(p, str) or not _TOKEN.match(p) or p == "none" or p == "top-0":
            raise SpecError(f"digital.layers: {p!r} is no layer token; use none, all, qkv, "
                            f"attention, attn_out, ffn, a role, a layer name, NAME@BLOCK or "
                            f"top-K (K >= 1)")
    if len(set(parts)) != len(parts):
        raise SpecError(f"digital.layers: repeats a name in {parts!r}")
    return tuple(parts)


def split(token: str) -> tuple[str, Optional[int], Optional[int]]:
    """(name, block or None, K of top-K or None) of a checked token."""
    m = _TOKEN.match(token)
    assert m, token
    if m.group("k") is not None:
        return "", None, int(m.group("k"))
    b = m.group("b")
    return m.group("name"), (int(b) if b is not None else None), None


def load_ranking(path: str) -> tuple[str, ...]:
    """The layer names of a ranking file, most sensitive first; SpecError naming
    ``digital.ranking`` when it is missing, too large or not a ranking."""
    p = Path(path).expanduser()
    try:
        raw = p.read_bytes()[:MAX_RANKING_BYTES + 1]
    except OSError as exc:
        raise SpecError(f"digital.ranking: cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_RANKING_BYTES:
        raise SpecError(f"digital.ranking: {path} is larger than {MAX_RANKING_BYTES >> 20} MiB")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise SpecError(f"digital.ranking: {path} is not JSON") from None
    rows = data.get("ranking") if isinstance(data, dict) else None
    if data.get("kind") != RANKING_KIND or not isinstance(rows, list) or not all(
            isinstance(r, dict) and isinstance(r.get("name"), str) for r in rows):
        raise SpecError(f"digital.ranking: {path} is no ranking written by codesign sensitivity "
                        f"(kind {RANKING_KIND!r}, a list 'ranking' of {{name, ...}})")
    return tuple(r["name"] for r in rows)


def expanded(spec: DigitalSpec) -> tuple[str, ...]:
    """The tokens of ``spec.layers`` with each top-K replaced by the first K names of the
    ranking file; SpecError when the ranking has fewer than K layers."""
    out: list[str] = []
    for tok in tokens(spec.layers):
        _, _, k = split(tok)
        if k is None:
            out.append(tok)
            continue
        names = load_ranking(str(spec.ranking))
        if k > len(names):
            raise SpecError(f"digital.layers: {tok} asks for more layers than the ranking "
                            f"{spec.ranking} has ({len(names)})")
        out += [n for n in names[:k] if n not in out]
    for tok in out:
        tokens((tok,))   # ranking entries are tokens too
        if split(tok)[2] is not None:
            raise SpecError(f"digital.ranking: entry {tok!r} is no layer name")
    return tuple(out)
