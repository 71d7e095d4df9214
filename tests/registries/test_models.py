"""Workloads (mlsysim.models): registry, derived costs, HF config loading, errors.

Expected values: published counts (papers, model cards, published_cases.json) or hand calculations
written out in the test.
"""
import json
from pathlib import Path

import pytest

import mlsysim
from mlsysim import Equations, Models, Q_
from mlsysim.core.errors import (DomainError, MlsysimError, SourceError, UnderdeterminedError, UnitError,
                                 UnknownNameError)
from mlsysim.core.sources import Source
from mlsysim.models import CNNWorkload, TransformerWorkload, report

HF = Path(__file__).resolve().parents[1] / "data" / "hf_configs"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "models.md"


# ---------------------------------------------------------------- published parameter counts (within 2%)
@pytest.mark.parametrize("key,published", [
    ("Llama3_8B", 8.03e9),      # Meta Llama 3 model card (8.03B)
    ("Llama3_70B", 70.6e9),     # Meta Llama 3 model card (70.6B)
    ("Llama3_405B", 405.9e9),   # Meta Llama 3.1 model card (405.9B)
    ("GPT3", 175e9),            # Brown et al. 2020, Table 2.1
    ("OPT_13B", 13e9),          # Zhang et al. 2022, Table 1
    ("BERT_Base", 110e6),       # Devlin et al. 2019, Sec. 3
    ("Mixtral_8x7B", 46.7e9),   # Jiang et al. 2024: 47B total (HF card: 46.7B)
    ("Llama2_70B", 70e9),       # Touvron et al. 2023
    ("GPT2", 124e6),            # HF model card openai-community/gpt2: 124M
])
def test_published_parameter_counts(key, published):
    assert Models[key].parameters == pytest.approx(published, rel=0.02)


def test_mixtral_active_parameters():
    # Jiang et al. 2024, Sec. 2: 13B active parameters per token (HF card: 12.9B)
    m = Models.Mixtral_8x7B
    assert m.active_parameters == pytest.approx(12.9e9, rel=0.02)
    # hand: per layer attention 2*4096*128*(32+8) = 41,943,040; expert 3*4096*14336 = 176,160,768;
    # router 4096*8; norms 2*4096; embeddings 2*32000*4096; final norm 4096
    layer_active = 41_943_040 + 2 * 176_160_768 + 4096 * 8 + 2 * 4096
    assert m.active_parameters == 32 * layer_active + 2 * 32000 * 4096 + 4096
    layer_total = 41_943_040 + 8 * 176_160_768 + 4096 * 8 + 2 * 4096
    assert m.parameters == 32 * layer_total + 2 * 32000 * 4096 + 4096


def test_llama3_8b_exact_hand_count():
    # attention 2*h*d*(n_h+n_kv) = 2*4096*128*40; MLP 3*h*f = 3*4096*14336; 2 RMSNorms 2*4096 per layer;
    # embeddings (untied) 2*V*h = 2*128256*4096; final norm 4096
    layer = 2 * 4096 * 128 * 40 + 3 * 4096 * 14336 + 2 * 4096
    assert Models.Llama3_8B.parameters == 32 * layer + 2 * 128256 * 4096 + 4096 == 8_030_261_248
    assert Models.Llama3_8B.active_parameters == Models.Llama3_8B.parameters


def test_gpt2_exact_hand_count():
    # HF openai-community/gpt2 has 124,439,808 parameters: wte 50257*768, wpe 1024*768,
    # per layer 12h^2 + 13h (weights, biases, 2 LayerNorms), ln_f 2h
    h = 768
    assert Models.GPT2.parameters == 50257 * h + 1024 * h + 12 * (12 * h * h + 13 * h) + 2 * h == 124_439_808


# ---------------------------------------------------------------- KV cache
def test_kv_bytes_published():
    # published_cases.json vllm_kv_cache_opt13b: 819,200 bytes (Kwon et al. 2023: ~800 KB); GQA 70B: 327,680
    assert Models.OPT_13B.kv_bytes_per_token("fp16") == Q_(819_200, "byte")
    assert Models.Llama3_70B.kv_bytes_per_token("fp16") == Q_(327_680, "byte")
    assert Models.Llama2_70B.kv_bytes_per_token("fp16").m_as("byte") == 327_680
    # hand: 2 * 32 layers * 8 kv heads * 128 * 1 byte
    assert Models.Llama3_8B.kv_bytes_per_token("fp8").m_as("byte") == 2 * 32 * 8 * 128


def test_kv_cache_bytes():
    m = Models.OPT_13B
    # vLLM: "up to 1.6 GB" per 2048-token request: 819,200 * 2048 = 1,677,721,600 B = 1.5625 GiB
    assert m.kv_cache_bytes("fp16").m_as("byte") == 819_200 * 2048
    assert m.kv_cache_bytes("fp16", seq_len=1000, batch_size=8).m_as("byte") == 819_200 * 1000 * 8


def test_weight_bytes():
    m = Models.Llama3_70B
    assert m.weight_bytes("bf16").m_as("byte") == 2 * m.parameters
    assert m.weight_bytes("int4").m_as("byte") == 0.5 * m.parameters
    assert m.weight_bytes(Q_(1, "byte")).m_as("byte") == m.parameters
    assert m.weight_bytes("bf16").m_as("GB") == pytest.approx(141.1, rel=1e-3)  # hand: 2 * 70.55e9 B


# ---------------------------------------------------------------- FLOPs
def test_gpt3_training_flops():
    # Brown et al. 2020, Table D.1: GPT-3 175B, 300B tokens, 3.14e23 FLOPs (6ND)
    f = Models.GPT3.training_flops(300e9)
    assert f.check("[compute]")
    assert f.m_as("FLOP") == pytest.approx(3.14e23, rel=0.01)
    assert f.m_as("FLOP") == pytest.approx(6 * Models.GPT3.parameters * 300e9, rel=1e-12)
    assert Models.GPT3.training_flops(Q_(300e9, "")) == f  # a dimensionless Quantity is a plain count
    # full recompute: 8ND (Narayanan et al. 2021, Eq. 4)
    assert Models.GPT3.training_flops(300e9, recompute=True).m_as("FLOP") == pytest.approx(
        8 * Models.GPT3.parameters * 300e9, rel=1e-12)


def test_moe_training_uses_active_parameters():
    m = Models.Mixtral_8x7B
    assert m.training_flops(1e12).m_as("FLOP") == pytest.approx(6 * m.active_parameters * 1e12, rel=1e-12)


def test_flops_per_token_kaplan():
    m = Models.Llama3_8B
    # hand: 2 * (N - 2Vh [embeddings]) + 2 V h [de-embedding] (Kaplan et al. 2020, Table 1) + the two attention
    # matmuls QK^T and AV, 2 x 2 L s n_h d_head (Kaplan counts only QK^T; Megatron-LM's 4 l s h counts both)
    N, V, h = 8_030_261_248, 128256, 4096
    for s in (8192, 1):
        want = 2 * (N - 2 * V * h) + 2 * V * h + 4 * 32 * s * 32 * 128
        assert m.flops_per_token(s).m_as("FLOP") == pytest.approx(want, rel=1e-12)
    assert m.flops_per_token() == m.flops_per_token(8192)


# ---------------------------------------------------------------- CNNs
def test_cnn_reference_costs():
    # published_cases.json cnn_reference_costs (torchvision): ResNet-50 25,557,032 params, 4.09 GMACs = 8.18 GFLOPs;
    # MobileNetV2 3,504,872 params, 0.30 GMACs
    r = Models.ResNet50
    assert r.parameters == 25_557_032
    assert r.flops.m_as("GFLOP") == pytest.approx(8.18, rel=1e-9)
    assert r.weight_bytes("fp32").m_as("byte") == 4 * 25_557_032
    assert r.activation_bytes("fp16").m_as("byte") == 2 * 802_816  # 56*56*256 elements
    mb = Models.MobileNetV2
    assert mb.parameters == 3_504_872
    assert mb.flops.m_as("GFLOP") == pytest.approx(0.60, rel=1e-9)
    assert r.source_of("parameters").kind == "report"
    assert r.source_of("peak_activation_elements").kind == "derived"


def test_tiny_models():
    # published_cases.json mlperf_tiny_v05_reference: KWS DS-CNN 2.66M MACs; VWW MobileNet ~7.5M MACs
    k = Models.DSCNN_KWS
    assert k.macs == pytest.approx(2.66e6, rel=0.01)
    assert k.flops.m_as("FLOP") == pytest.approx(2 * 2.66e6, rel=1e-12)
    # int8 weights fit the published ~53 KB model file (weights are a part of it)
    assert k.weight_bytes("int8").m_as("kB") < 53
    v = Models.MobileNetV1_VWW
    assert v.macs == pytest.approx(7.5e6, rel=0.1)
    assert v.weight_bytes("int8").m_as("kB") < 325  # published ~325 KB int8 model file


def test_cnn_errors():
    with pytest.raises(DomainError, match="macs"):
        CNNWorkload(name="x", parameters=1e6, macs=-5, input_shape=(3, 32, 32))
    with pytest.raises(DomainError, match="input_shape"):
        CNNWorkload(name="x", parameters=1e6, macs=5, input_shape=(3, 0, 32))
    c = CNNWorkload(name="x", parameters=1e6, macs=5e6, input_shape=(3, 32, 32))
    assert c.source.kind == "assumption"
    with pytest.raises(DomainError, match="peak_activation_elements"):
        c.activation_bytes("int8")


# ---------------------------------------------------------------- architecture() and knowns
def test_architecture_names_are_equation_variables():
    tc, kv = Equations.TransformerCost, Equations.KVCache
    for key in ("Llama3_8B", "Mixtral_8x7B", "GPT3", "BERT_Base"):
        arch = Models[key].architecture()
        assert set(arch) <= set(tc.inputs) | set(kv.inputs)
        # a solver can bind the workload to a set directly
        out = kv.evaluate(**Models[key].knowns_for(kv, bytes_per_element=Q_(2, "byte"), batch_size=1))
        assert out.kv_bytes_per_token.m_as("byte") == 2 * arch["num_layers"] * arch["num_kv_heads"] * arch["head_dim"] * 2
    arch = Models.GPT3.architecture()
    assert arch["position_table_rows"] == 2048 and arch["untied_output"] == 0 and arch["ffn_matrices"] == 2
    assert Models.Mixtral_8x7B.architecture()["router_experts"] == 8


def test_inverse_through_architecture():
    # "how many layers of Llama-3-8B width give 70B parameters?" (inverse of the parameter count)
    m = Models.Llama3_8B
    tc = Equations.TransformerCost
    knowns = m.knowns_for(tc)
    knowns.pop("num_layers")
    sol = tc.solve("num_layers", parameters=70e9, **{k: v for k, v in knowns.items() if k in tc.input_deps("parameters")})
    # hand: (70e9 - 2*128256*4096 - 4096) / (2*4096*128*40 + 3*4096*14336 + 2*4096)
    want = (70e9 - 2 * 128256 * 4096 - 4096) / (2 * 4096 * 128 * 40 + 3 * 4096 * 14336 + 2 * 4096)
    assert float(sol.continuous.magnitude) == pytest.approx(want, rel=1e-9)
    assert float(sol.value.magnitude) == 316  # whole layers within 70B parameters: floor(316.12)


def test_replace():
    m = Models.Llama3_8B.replace(seq_len=32768)
    assert m.seq_len == 32768 and Models.Llama3_8B.seq_len == 8192
    assert m.kv_cache_bytes("bf16").m_as("byte") == 2 * 32 * 8 * 128 * 2 * 32768
    assert m.source.kind == "derived" and "seq_len=32768" in m.source.note
    assert m.parameters == Models.Llama3_8B.parameters  # rotary: context does not change the count
    g = Models.GPT2.replace(seq_len=2048)  # learned positions: the table grows by 1024 x 768
    assert g.parameters - Models.GPT2.parameters == 1024 * 768
    with pytest.raises(DomainError, match="num_layer"):
        Models.Llama3_8B.replace(num_layer=3)


def test_user_model_default_source():
    m = TransformerWorkload(name="toy", num_layers=2, hidden_size=64, num_heads=4, vocab_size=100, seq_len=16)
    assert m.source.kind == "assumption" and "caller" in m.source.citation
    assert m.num_kv_heads == 4 and m.head_dim == 16 and m.ffn_hidden_size == 256
    # hand: per layer 4h^2 (attention) + 8h^2 (MLP) + 2h (RMSNorms); untied embeddings 2Vh; final norm h
    h = 64
    assert m.parameters == 2 * (12 * h * h + 2 * h) + 2 * 100 * h + h


def test_top_level_imports():
    assert mlsysim.TransformerWorkload is TransformerWorkload
    assert mlsysim.CNNWorkload is CNNWorkload
    assert mlsysim.Models is Models


# ---------------------------------------------------------------- HF config loading
def test_hf_llama3_matches_registry():
    m = TransformerWorkload.from_hf_config(HF / "llama3_8b.json")
    assert m.architecture() == Models.Llama3_8B.architecture()
    assert m.name == "meta-llama/Meta-Llama-3-8B"
    assert m.source.kind == "derived"


def test_hf_mixtral_matches_registry():
    m = TransformerWorkload.from_hf_config(HF / "mixtral_8x7b.json", name="mixtral")
    assert m.name == "mixtral"
    assert m.architecture() == Models.Mixtral_8x7B.architecture()


def test_hf_gpt2_matches_registry():
    m = TransformerWorkload.from_hf_config(HF / "gpt2.json")
    assert m.architecture() == Models.GPT2.architecture()
    assert m.parameters == 124_439_808


def test_hf_pythia_neox():
    # EleutherAI Pythia model card (naming convention and parameter count table): pythia-160m has
    # 162,322,944 parameters (85,056,000 non-embedding)
    m = TransformerWorkload.from_hf_config(HF / "pythia_160m.json")
    assert m.parameters == 162_322_944
    assert m.parameters - m.embedding_parameters == 85_056_000


def test_hf_qwen2():
    m = TransformerWorkload.from_hf_config(json.loads((HF / "qwen2_7b.json").read_text()))
    # hand: h=3584, 28 layers, 28 heads, 4 kv heads, d=128, f=18944, V=152064, untied, q/k/v biases, RMSNorm
    h, d = 3584, 128
    layer = 2 * h * d * (28 + 4) + d * (28 + 2 * 4) + 3 * h * 18944 + 2 * h
    want = 28 * layer + 2 * 152064 * h + h
    assert m.parameters == want
    assert m.parameters == pytest.approx(7.6e9, rel=0.01)  # Qwen2 report: 7B class, 7.6B parameters
    assert m.kv_bytes_per_token("bf16").m_as("byte") == 2 * 28 * 4 * 128 * 2


def test_hf_errors(tmp_path):
    cfg = json.loads((HF / "llama3_8b.json").read_text())
    broken = dict(cfg)
    del broken["intermediate_size"]
    with pytest.raises(UnderdeterminedError, match="intermediate_size"):
        TransformerWorkload.from_hf_config(broken)
    with pytest.raises(UnknownNameError, match="llama"):
        TransformerWorkload.from_hf_config(dict(cfg, model_type="lama"))
    with pytest.raises(UnderdeterminedError, match="model_type"):
        TransformerWorkload.from_hf_config({k: v for k, v in cfg.items() if k != "model_type"})
    with pytest.raises(DomainError, match="shared_expert_intermediate_size"):
        TransformerWorkload.from_hf_config(dict(cfg, shared_expert_intermediate_size=5632))
    with pytest.raises(DomainError, match="num_hidden_layers"):
        TransformerWorkload.from_hf_config(dict(cfg, num_hidden_layers=-2))
    with pytest.raises(DomainError, match="tie_word_embeddings"):
        TransformerWorkload.from_hf_config(dict(cfg, tie_word_embeddings="yes"))
    with pytest.raises(DomainError, match="nope.json"):
        TransformerWorkload.from_hf_config(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DomainError, match="not valid JSON"):
        TransformerWorkload.from_hf_config(bad)


# ---------------------------------------------------------------- bad input
def test_unknown_registry_name_lists_close_matches():
    with pytest.raises(UnknownNameError, match="Llama3_70B"):
        Models["Llama3_70"]
    with pytest.raises(AttributeError, match="Llama3_8B"):
        Models.Lama3_8B


def test_unknown_precision_lists_known():
    with pytest.raises(UnknownNameError, match="bf16"):
        Models.Llama3_8B.weight_bytes("fp12")
    with pytest.raises(UnitError):
        Models.Llama3_8B.weight_bytes(Q_(2, "s"))


@pytest.mark.parametrize("arg,value", [("num_layers", 0), ("num_layers", -3), ("hidden_size", 4096.5),
                                       ("num_heads", True), ("vocab_size", "32000"), ("seq_len", float("nan")),
                                       ("num_kv_heads", 0), ("head_dim", -1), ("ffn_hidden_size", 0),
                                       ("num_experts", 0)])
def test_bad_architecture_numbers(arg, value):
    kw = dict(name="m", num_layers=2, hidden_size=64, num_heads=4, vocab_size=100, seq_len=16)
    kw[arg] = value
    with pytest.raises(DomainError, match=arg):
        TransformerWorkload(**kw)


def test_inconsistent_architecture():
    kw = dict(name="m", num_layers=2, hidden_size=64, num_heads=4, vocab_size=100, seq_len=16)
    with pytest.raises(DomainError, match="num_heads"):
        TransformerWorkload(**dict(kw, num_heads=5))  # 5 does not divide 64 and no head_dim given
    assert TransformerWorkload(**dict(kw, num_heads=5, head_dim=16)).head_dim == 16
    with pytest.raises(DomainError, match="num_kv_heads"):
        TransformerWorkload(**dict(kw, num_kv_heads=3))
    with pytest.raises(DomainError, match="experts_per_token"):
        TransformerWorkload(**dict(kw, num_experts=4, experts_per_token=5))
    with pytest.raises(DomainError, match="kind"):
        TransformerWorkload(**dict(kw, kind="seq2seq"))
    with pytest.raises(DomainError, match="gated_ffn"):
        TransformerWorkload(**dict(kw, gated_ffn=1))
    with pytest.raises(SourceError):
        TransformerWorkload(**dict(kw, source="my paper"))


def test_call_errors():
    with pytest.raises(DomainError, match="encoder"):
        Models.BERT_Base.kv_bytes_per_token("fp16")
    with pytest.raises(DomainError, match="tokens"):
        Models.GPT3.training_flops(-1)
    with pytest.raises(DomainError, match="tokens"):
        Models.GPT3.training_flops(Q_(1e9, "byte"))
    with pytest.raises(DomainError, match="batch_size"):
        Models.OPT_13B.kv_cache_bytes("fp16", batch_size=0)
    with pytest.raises(DomainError, match="seq_len"):
        Models.OPT_13B.flops_per_token(seq_len=-1)
    with pytest.raises(MlsysimError):
        Models.GPT3.training_flops(1e9, recompute="yes")


# ---------------------------------------------------------------- sources and generated docs
def test_every_registry_model_is_sourced():
    for key, m in Models.items():
        assert isinstance(m.source, Source), key
        assert m.source.kind != "assumption", key


def test_docs_models_md_is_fresh():
    text = report()
    for key in Models:
        assert f"| {key} |" in text
    assert DOCS.read_text() == text, "docs/models.md is stale: regenerate with mlsysim.models.report()"
