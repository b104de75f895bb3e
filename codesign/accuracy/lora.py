"""LoRA adapters through peft: placement -> target modules, trainable-set checks, adapter I/O."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from codesign.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from hw_models.specs import LoraSpec

ADAPTER = "default"


def lora_config(lora: "LoraSpec", targets: list[str], heads: Iterable[str] = ()):
    from peft import LoraConfig

    return LoraConfig(r=int(lora.rank), lora_alpha=float(lora.alpha),
                      lora_dropout=float(lora.dropout), target_modules=list(targets),
                      modules_to_save=list(heads) or None, bias="none")


def apply_lora(model, lora: "LoraSpec", targets: list[str], heads: Iterable[str] = (),
               seed: int = 0):
    """Wrap ``model`` with peft LoRA adapters on ``targets`` (exact module names)."""
    import torch
    from peft import get_peft_model

    if not targets:
        raise InputError(f"lora.placement: {lora.placement!r} selects no linear layer of this model")
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        # peft reads transformers' deprecated `is_gradient_checkpointing` (harmless FutureWarning)
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*",
                                category=FutureWarning)
        model = get_peft_model(model, lora_config(lora, targets, heads))
    _bits_dropout(model)
    return model


def add_adapter(model, name: str, lora: "LoraSpec", targets: list[str],
                heads: Iterable[str] = ()) -> None:
    """Another adapter called ``name`` on ``targets`` of a peft model (as :func:`apply_lora`)."""
    model.add_adapter(name, lora_config(lora, targets, heads))
    _bits_dropout(model)


def _bits_dropout(model) -> None:
    from codesign.accuracy.dropout import use_bits_dropout

    use_bits_dropout(model)


def count_params(model) -> tuple[int, int]:
    """(trainable, total) parameters, each tensor once (aihwkit's analog_ctx aliases the weights)."""
    from aihwkit.optim.context import AnalogContext

    seen, trainable, total = set(), 0, 0
    for p in model.parameters():
        if isinstance(p, AnalogContext) or p.data_ptr() in seen:
            continue
        seen.add(p.data_ptr())
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def trainable_names(model) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]


def check_only_adapters(model) -> None:
    """Raise AssertionError when anything besides LoRA A/B and task heads would train."""
    bad = [n for n in trainable_names(model)
           if "lora_" not in n and "modules_to_save" not in n]
    if bad:
        raise AssertionError(f"non-adapter parameters would train: {bad[:5]}")


def save_adapter(model, folder: Path, adapter: str = ADAPTER) -> None:
    """The adapter (and task head) as peft writes it: adapter_model.safetensors + config."""
    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = get_peft_model_state_dict(model, adapter_name=adapter)
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()},
              str(folder / "adapter_model.safetensors"))
    model.peft_config[adapter].save_pretrained(str(folder))


def read_adapter(folder: Path) -> dict:
    """The tensors of a saved adapter (safetensors: no code runs); ValueError when the file is
    missing, truncated or not a safetensors file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(Path(folder) / "adapter_model.safetensors"))
    except (OSError, SafetensorError) as exc:
        raise ValueError(f"adapter file {Path(folder) / 'adapter_model.safetensors'} is "
                         f"unreadable: {type(exc).__name__}: {exc}") from None


def check_fits(model, state: dict, adapter: str = ADAPTER) -> None:
    """ValueError unless ``state`` has exactly the tensors (names and shapes) of ``model``'s
    adapter ``adapter``: checked before anything is loaded, so a bad file changes nothing."""
    from peft.utils import get_peft_model_state_dict

    current = get_peft_model_state_dict(model, adapter_name=adapter)
    extra, missing = sorted(set(state) - set(current)), sorted(set(current) - set(state))
    if extra or missing:
        raise ValueError(f"adapter file does not fit the model: unexpected {extra[:3]}, "
                         f"missing {missing[:3]}")
    for key, value in current.items():
        if tuple(state[key].shape) != tuple(value.shape) or not state[key].is_floating_point():
            raise ValueError(f"adapter file does not fit the model: {key} is "
                             f"{tuple(state[key].shape)} {state[key].dtype}, expected "
                             f"{tuple(value.shape)}")


def load_adapter_weights(model, folder: Path, adapter: str = ADAPTER) -> None:
    """Load saved adapter weights into an existing adapter of the same shape (ValueError, the
    model unchanged, when the file is unreadable or does not fit)."""
    from peft.utils import set_peft_model_state_dict

    state = read_adapter(folder)
    check_fits(model, state, adapter)
    set_peft_model_state_dict(model, state, adapter_name=adapter)


def snapshot(model, adapter: str = ADAPTER) -> dict:
    """A copy of the adapter's tensors (to put back with :func:`restore`)."""
    from peft.utils import get_peft_model_state_dict

    return {k: v.detach().clone() for k, v in
            get_peft_model_state_dict(model, adapter_name=adapter).items()}


def restore(model, saved: dict, adapter: str = ADAPTER) -> None:
    from peft.utils import set_peft_model_state_dict

    set_peft_model_state_dict(model, saved, adapter_name=adapter)


def transfer_pair(a_old, b_old, scale_old: float, a_init, b_init, scale_new: float):
    """One layer's LoRA factors moved to another rank, keeping the weight update they add.

    The update is ``scale x B A`` (peft: scale = alpha / rank). With the new rank at least the old
    one it is kept exactly: the old update's singular directions fill the first ranks and the rest
    keep their initialisation (``a_init`` rows, ``b_init`` columns, zero in peft: no update).
    With a smaller rank the factors are the best rank-r approximation of the old update
    (truncated SVD, Eckart-Young). Returns (A, B) of the shapes of (a_init, b_init)."""
    import torch

    delta = scale_old * (b_old.double() @ a_old.double())
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    k = min(a_init.shape[0], a_old.shape[0])
    root = (s[:k] / scale_new).sqrt()
    a, b = a_init.clone(), b_init.clone()
    a[:k] = (root[:, None] * vh[:k]).to(a.dtype)
    b[:, :k] = (u[:, :k] * root[None, :]).to(b.dtype)
    if a_init.shape[0] > k:
        b[:, k:] = 0
    return a, b


def load_adapter_transfer(model, folder: Path, adapter: str = ADAPTER) -> dict[str, int]:
    """Start ``model``'s adapter from a saved one that may have another rank (warm start).

    Tensors of the same shape are copied (task heads, same-rank factors); LoRA factor pairs of
    another rank go through :func:`transfer_pair`. Layers the saved adapter does not have keep
    their initialisation. Returns counts {"copied", "transferred", "kept"}."""
    import json

    from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict

    saved = read_adapter(folder)
    old_cfg = json.loads((Path(folder) / "adapter_config.json").read_text())
    cfg = model.peft_config[adapter]
    scale_old = float(old_cfg["lora_alpha"]) / float(old_cfg["r"])
    scale_new = float(cfg.lora_alpha) / float(cfg.r)
    current = get_peft_model_state_dict(model, adapter_name=adapter)
    out, counts = {}, {"copied": 0, "transferred": 0, "kept": 0}
    for key, value in current.items():
        old = saved.get(key)
        if old is not None and old.shape == value.shape and (
                "lora_" not in key or scale_old == scale_new):
            out[key] = old.to(value.dtype)
            counts["copied"] += 1
        elif key.endswith("lora_A.weight") and old is not None:
            key_b = key[:-len("lora_A.weight")] + "lora_B.weight"
            a, b = transfer_pair(old, saved[key_b], scale_old, value, current[key_b], scale_new)
            out[key], out[key_b] = a, b
            counts["transferred"] += 1
        elif key.endswith("lora_B.weight") and key[:-len("lora_B.weight")] + "lora_A.weight" in saved:
            continue                                   # set with its lora_A
        else:
            out[key] = value
            counts["kept"] += 1
    set_peft_model_state_dict(model, out, adapter_name=adapter)
    return counts
