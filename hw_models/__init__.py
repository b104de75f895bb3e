"""hw_models: latency, memory and energy of AIMC tiles + Snitch/RedMule PMCAs running transformers
with digital LoRA adapters (AHWA-LoRA). Depends on simpy and numpy only.

Public API::

    layer_closed_form(m, n, hw, rank, seq_len=320) -> LayerReport
    load_network(name_or_path) -> Network
    evaluate_network(network, hw, lora, seq_len=320, engine="des") -> NetworkReport
    plan_network(network, hw, lora, seq_len=320) -> Plan; plan_layer(m, n, hw, rank, seq_len=320)
    network_latency(plan, engine="des") -> ns
    HardwareSpec, AimcTileSpec, PmcaSpec, AttentionSpec, ChipSpec, OffchipSpec, LoraSpec, SpecError
    LinkSpec (chip links: .ucie(), .board()), LmHeadSpec (a decoder's LM head and embeddings)
    spec_field, check_value, validate: documented, bounded dataclass fields (codesign uses them too)
"""

from ._fields import SpecError, check_value, spec_field, validate
from .closed_form import layer_closed_form
from .offchip import OffchipSpec
from .plan import Plan, plan_layer, plan_network
from .reports import CONTRACT_KEYS, LayerReport, NetworkReport
from .specs import (PLACEMENTS, ROLES, AimcTileSpec, AttentionSpec, ChipSpec, HardwareSpec,
                    LoraSpec, PmcaSpec, roles)
from .system import ENGINES, evaluate_network, network_latency
from .system_specs import LinkSpec, LmHeadSpec
from .workload import NETWORKS, AttentionOp, LinearLayer, Network, load_network

__all__ = [
    "AimcTileSpec", "AttentionOp", "AttentionSpec", "CONTRACT_KEYS", "ChipSpec", "ENGINES",
    "HardwareSpec", "LayerReport", "LinkSpec", "LmHeadSpec",
    "LinearLayer", "LoraSpec", "NETWORKS", "Network", "NetworkReport", "OffchipSpec", "PLACEMENTS",
    "PmcaSpec",
    "ROLES", "SpecError", "check_value", "evaluate_network", "layer_closed_form", "load_network",
    "Plan", "network_latency", "plan_layer", "plan_network", "roles", "spec_field", "validate",
]
