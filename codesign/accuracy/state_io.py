"""A training's resumable state (optimiser, schedule, random generators, step) without pickle.

Tensors go to ``state.safetensors`` (a JSON header and raw numbers: loading it runs no code), the
rest to ``state.json`` with three tags: ``{"$tensor": name}`` (a tensor of the safetensors file),
``{"$tuple": [...]}`` and ``{"$items": [[key, value], ...]}`` (a mapping whose keys are not all
strings, e.g. the optimiser's parameter indices). Anything else in the state is refused when
saving; anything else in the files is refused when loading (:class:`~codesign.accuracy.integrity.
Damaged`), so a crafted file can at worst be refused, never run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codesign.accuracy.integrity import Damaged

TENSORS = "state.safetensors"
JSON = "state.json"
FILES = (TENSORS, JSON)
_TAGS = ("$tensor", "$tuple", "$items")


def encode(obj: Any, tensors: dict) -> Any:
    """``obj`` as JSON-able data; its tensors move to ``tensors`` (CPU, contiguous copies)."""
    import torch

    if isinstance(obj, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = obj.detach().cpu().clone().contiguous()
        return {"$tensor": name}
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {"$tuple": [encode(x, tensors) for x in obj]}
    if isinstance(obj, list):
        return [encode(x, tensors) for x in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: encode(v, tensors) for k, v in obj.items()}
        return {"$items": [[encode(k, tensors), encode(v, tensors)] for k, v in obj.items()]}
    raise TypeError(f"training state: cannot store a {type(obj).__name__} without pickle")


def decode(data: Any, tensors: dict) -> Any:
    """The inverse of :func:`encode`; Damaged on anything it would not have written."""
    if isinstance(data, bool) or data is None or isinstance(data, (int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(x, tensors) for x in data]
    if not isinstance(data, dict):
        raise Damaged(None, f"unexpected {type(data).__name__} in {JSON}")
    tags = [k for k in data if k.startswith("$")]
    if not tags:
        return {k: decode(v, tensors) for k, v in data.items()}
    if len(data) != 1 or tags[0] not in _TAGS:
        raise Damaged(None, f"unknown entry {tags[0]!r} in {JSON}")
    tag, value = tags[0], data[tags[0]]
    if tag == "$tensor":
        if not isinstance(value, str) or value not in tensors:
            raise Damaged(None, f"{JSON} names a tensor {value!r} that {TENSORS} lacks")
        return tensors[value]
    if not isinstance(value, list):
        raise Damaged(None, f"{tag} in {JSON} is not a list")
    if tag == "$tuple":
        return tuple(decode(x, tensors) for x in value)
    out = {}
    for pair in value:
        if not isinstance(pair, list) or len(pair) != 2:
            raise Damaged(None, f"$items in {JSON} holds a non-pair")
        key = decode(pair[0], tensors)
        if not isinstance(key, (str, int, float, tuple)) or isinstance(key, bool):
            raise Damaged(None, f"$items in {JSON} holds an unusable key")
        out[key] = decode(pair[1], tensors)
    return out


def save(state: dict, folder: Path) -> None:
    """Write ``state`` (a dict) as ``state.safetensors`` + ``state.json`` in ``folder``."""
    from safetensors.torch import save_file

    tensors: dict = {}
    data = encode(state, tensors)
    save_file(tensors, str(Path(folder) / TENSORS))
    (Path(folder) / JSON).write_text(json.dumps(data))


def load(folder: Path) -> dict:
    """Read a state :func:`save` wrote and check its shape (:func:`check`); Damaged (naming the
    folder) when a file is missing, unreadable or holds anything else."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        tensors = load_file(str(folder / TENSORS))
        data = json.loads((folder / JSON).read_text())
        state = decode(data, tensors)
        check(state)
    except Damaged as exc:
        raise Damaged(folder, exc.why) from None
    except (OSError, ValueError, SafetensorError) as exc:
        raise Damaged(folder, f"training state unreadable: {type(exc).__name__}: {exc}") from None
    return state


def check(state: Any) -> None:
    """Damaged unless ``state`` has what :func:`codesign.accuracy.train.train` resumes from, of
    the right kinds (the optimiser's and schedule's own checks run when they load it)."""
    import random

    import torch

    if not isinstance(state, dict):
        raise Damaged(None, "training state is not a mapping")
    missing = {"step", "optimizer", "schedule", "python_rng", "torch_rng"} - set(state)
    if missing:
        raise Damaged(None, f"training state lacks {', '.join(sorted(missing))}")
    step = state["step"]
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise Damaged(None, f"training state: bad step {step!r}")
    opt = state["optimizer"]
    if not isinstance(opt, dict) or not isinstance(opt.get("state"), dict) \
            or not isinstance(opt.get("param_groups"), list):
        raise Damaged(None, "training state: the optimiser's state is malformed")
    if not isinstance(state["schedule"], dict):
        raise Damaged(None, "training state: the schedule's state is malformed")
    try:
        random.Random().setstate(state["python_rng"])
        rng = state["torch_rng"]
        if not isinstance(rng, torch.Tensor) or rng.dtype != torch.uint8:
            raise TypeError("not a byte tensor")
        torch.Generator().set_state(rng)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise Damaged(None, f"training state: bad random state ({exc})") from None
