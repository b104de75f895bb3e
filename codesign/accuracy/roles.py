"""Linear-layer roles of Hugging Face transformers: placement -> module names.

The role vocabulary is hw_models.specs.ROLES, so that a placement means the same layers to the
latency model and to the accuracy model:

==========  ===================================================================================
query       BERT/MiniLM/MobileBERT ``attention.self.query``, LLaMA ``q_proj``, DistilBERT ``q_lin``
key         ``attention.self.key``, ``k_proj``, ``k_lin``
value       ``attention.self.value``, ``v_proj``, ``v_lin``
attn_out    ``attention.output.dense``, ``o_proj``, ``out_lin``
ffn_in      ``intermediate.dense`` (MobileBERT: also in ``ffn.N``), ``gate_proj``, ``up_proj``,
            ``lin1``
ffn_out     ``output.dense`` (not attention's), ``down_proj``, ``lin2``
other       every other linear layer of the network body: BERT pooler ``pooler.dense``, MobileBERT
            ``embedding_transformation`` and bottleneck / output-bottleneck projections, MLM
            transform ``predictions.transform.dense``, DistilBERT ``pre_classifier``
==========  ===================================================================================

Task heads (``classifier``, ``qa_outputs``, ``lm_head``, ``score``) have no role: they are
task-specific, stay digital and train with the adapter (peft ``modules_to_save``), as in the
paper's one-analog-model-many-tasks setting where each task brings its adapter and head.
"""

from __future__ import annotations

import re
from typing import Iterable

#: last-name patterns of task heads (digital, trained per task, never analog)
HEAD_NAMES = ("classifier", "qa_outputs", "lm_head", "score")

_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|\.)(attention\.self\.query|q_proj|q_lin|query)$", "query"),
    (r"(^|\.)(attention\.self\.key|k_proj|k_lin|key)$", "key"),
    (r"(^|\.)(attention\.self\.value|v_proj|v_lin|value)$", "value"),
    (r"(^|\.)(attention\.output\.dense|o_proj|out_lin)$", "attn_out"),
    (r"(^|\.)(intermediate\.dense|gate_proj|up_proj|lin1)$", "ffn_in"),
    (r"(^|\.)(output\.dense|down_proj|lin2)$", "ffn_out"),
)


def role_of(name: str) -> str | None:
    """The role of the linear layer called ``name`` (a dotted module path); None for task heads."""
    last = name.rsplit(".", 1)[-1]
    if last in HEAD_NAMES or re.search(r"(^|\.)(classifier|qa_outputs)(\.|$)", name):
        return None
    if re.search(r"bottleneck\.", name) or name.endswith("output.bottleneck.dense"):
        return "other"
    for pattern, role in _RULES:
        if re.search(pattern, name):
            return role
    return "other"


def linear_roles(model) -> dict[str, str | None]:
    """Every ``torch.nn.Linear`` of ``model`` (dotted name) -> its role (None: a task head)."""
    import torch

    return {name: role_of(name) for name, mod in model.named_modules()
            if isinstance(mod, torch.nn.Linear)}


def select(roles_by_name: dict[str, str | None], roles: Iterable[str]) -> list[str]:
    """Module names whose role is in ``roles``, in model order."""
    wanted = frozenset(roles)
    return [name for name, role in roles_by_name.items() if role in wanted]


def heads(roles_by_name: dict[str, str | None]) -> list[str]:
    """Task-head module names (role None)."""
    return [name for name, role in roles_by_name.items() if role is None]
