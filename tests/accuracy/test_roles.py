import pytest

from codesign.accuracy.roles import role_of
from hw_models.specs import ROLES

CASES = {
    # BERT / MiniLM
    "encoder.layer.0.attention.self.query": "query",
    "encoder.layer.0.attention.self.key": "key",
    "encoder.layer.0.attention.self.value": "value",
    "encoder.layer.0.attention.output.dense": "attn_out",
    "encoder.layer.0.intermediate.dense": "ffn_in",
    "encoder.layer.0.output.dense": "ffn_out",
    "pooler.dense": "other",
    "bert.encoder.layer.3.attention.self.query": "query",
    # MobileBERT
    "mobilebert.embeddings.embedding_transformation": "other",
    "mobilebert.encoder.layer.0.bottleneck.input.dense": "other",
    "mobilebert.encoder.layer.0.bottleneck.attention.dense": "other",
    "mobilebert.encoder.layer.0.ffn.2.intermediate.dense": "ffn_in",
    "mobilebert.encoder.layer.0.ffn.2.output.dense": "ffn_out",
    "mobilebert.encoder.layer.0.output.bottleneck.dense": "other",
    # LLaMA
    "model.layers.0.self_attn.q_proj": "query",
    "model.layers.0.self_attn.k_proj": "key",
    "model.layers.0.self_attn.v_proj": "value",
    "model.layers.0.self_attn.o_proj": "attn_out",
    "model.layers.0.mlp.gate_proj": "ffn_in",
    "model.layers.0.mlp.up_proj": "ffn_in",
    "model.layers.0.mlp.down_proj": "ffn_out",
    # task heads: digital, no role
    "classifier": None, "qa_outputs": None, "lm_head": None, "classifier.dense": None,
}


@pytest.mark.parametrize("name,role", CASES.items())
def test_role_of(name, role):
    assert role_of(name) == role
    assert role is None or role in ROLES
