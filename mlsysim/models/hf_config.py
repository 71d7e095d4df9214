"""Read a Hugging Face ``config.json`` into :class:`~mlsysim.models.TransformerWorkload` arguments.

Only the architecture keys are read; keys that do not change parameter count, FLOPs or KV-cache size
(``rope_theta``, ``torch_dtype``, dropout, ...) are ignored. Keys for features mlsysim does not model
(shared experts, low-rank attention, ...) raise :class:`DomainError` naming the key rather than
giving a silently wrong count.

Key mapping by ``model_type``
-----------------------------
=====================  ==========================================================================
llama, mistral,        num_hidden_layers, hidden_size, num_attention_heads, num_key_value_heads
mixtral, qwen2         (default: heads), head_dim (default h / heads), intermediate_size,
                       vocab_size, max_position_embeddings, tie_word_embeddings (default False),
                       num_local_experts / num_experts_per_tok (Mixtral), attention_bias and
                       mlp_bias (Llama). Gated (SwiGLU) MLP, RMSNorm, rotary positions. Qwen2 has
                       q/k/v biases.
gpt2                   n_layer, n_embd, n_head, n_positions, n_inner (default 4 h), vocab_size,
                       tie_word_embeddings (default True). Plain MLP, LayerNorm, learned
                       positions, biases everywhere.
gpt_neox               num_hidden_layers, hidden_size, num_attention_heads, intermediate_size,
                       vocab_size, max_position_embeddings, tie_word_embeddings (default False).
                       Plain MLP, LayerNorm, rotary positions, biases everywhere.
=====================  ==========================================================================
"""
from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

from ..core.errors import DomainError, UnderdeterminedError, UnknownNameError
from ..core.sources import derived
from ._common import check_count

_LLAMA_LIKE = ("llama", "mistral", "mixtral", "qwen2")
SUPPORTED_MODEL_TYPES = _LLAMA_LIKE + ("gpt2", "gpt_neox")

#: keys describing architecture features that TransformerCost does not model
UNSUPPORTED_KEYS = {
    "moe_intermediate_size": "experts narrower than the dense MLP",
    "shared_expert_intermediate_size": "shared experts",
    "n_shared_experts": "shared experts",
    "first_k_dense_replace": "a mix of dense and MoE layers",
    "q_lora_rank": "low-rank (multi-head latent) attention",
    "kv_lora_rank": "low-rank (multi-head latent) attention",
    "num_experts": "Qwen-MoE style experts",
}


def _load(path_or_dict):
    if isinstance(path_or_dict, dict):
        return dict(path_or_dict), None
    if not isinstance(path_or_dict, (str, os.PathLike)):
        raise DomainError(f"from_hf_config expects a path to config.json or a dict; got {type(path_or_dict).__name__}")
    p = Path(path_or_dict)
    if p.is_dir():
        p = p / "config.json"
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DomainError(f"cannot read Hugging Face config {str(p)!r}: {exc.strerror or exc}") from None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DomainError(f"{str(p)!r} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(cfg, dict):
        raise DomainError(f"{str(p)!r} must hold a JSON object; got {type(cfg).__name__}")
    return cfg, p


def workload_kwargs_from_hf_config(path_or_dict, name: str | None = None) -> dict:
    """``TransformerWorkload`` keyword arguments from a config.json path or dict."""
    cfg, path = _load(path_or_dict)
    where = str(path) if path is not None else "config dict"
    mt = cfg.get("model_type")
    if mt is None:
        raise UnderdeterminedError(f"{where}: missing key 'model_type' (one of {', '.join(SUPPORTED_MODEL_TYPES)})")
    if mt not in SUPPORTED_MODEL_TYPES:
        close = difflib.get_close_matches(str(mt), SUPPORTED_MODEL_TYPES, n=3)
        raise UnknownNameError(f"{where}: unsupported model_type {mt!r}; supported: {', '.join(SUPPORTED_MODEL_TYPES)}"
                               + (f" (did you mean {', '.join(close)}?)" if close else ""))
    for k, what in UNSUPPORTED_KEYS.items():
        if cfg.get(k) not in (None, 0):
            raise DomainError(f"{where}: key {k!r} = {cfg[k]!r} describes {what}, which mlsysim's TransformerCost "
                              f"does not model")

    def need(key):
        if key not in cfg or cfg[key] is None:
            raise UnderdeterminedError(f"{where}: missing required key {key!r} for model_type {mt!r}")
        return check_count(key, cfg[key], owner=where)

    def opt(key):
        return None if cfg.get(key) is None else check_count(key, cfg[key], owner=where)

    def flag(key, default):
        v = cfg.get(key, default)
        if v is None:
            v = default
        if not isinstance(v, bool):
            raise DomainError(f"{where}: key {key!r} must be true or false; got {v!r}")
        return v

    if mt in _LLAMA_LIKE:
        kw = dict(num_layers=need("num_hidden_layers"), hidden_size=need("hidden_size"),
                  num_heads=need("num_attention_heads"), num_kv_heads=opt("num_key_value_heads"),
                  head_dim=opt("head_dim"), ffn_hidden_size=need("intermediate_size"),
                  vocab_size=need("vocab_size"), seq_len=need("max_position_embeddings"), gated_ffn=True,
                  tied_embeddings=flag("tie_word_embeddings", False), learned_positions=False, norm="rmsnorm")
        if mt == "mixtral":
            kw["num_experts"] = need("num_local_experts")
            kw["experts_per_token"] = need("num_experts_per_tok")
        if mt == "qwen2":
            kw["bias"] = "qkv"
        else:
            attn_bias, mlp_bias = flag("attention_bias", False), flag("mlp_bias", False)
            if mlp_bias and not attn_bias:
                raise DomainError(f"{where}: mlp_bias without attention_bias is not modelled")
            kw["bias"] = "all" if mlp_bias else ("qkv" if attn_bias else "none")
    elif mt == "gpt2":
        kw = dict(num_layers=need("n_layer"), hidden_size=need("n_embd"), num_heads=need("n_head"),
                  ffn_hidden_size=opt("n_inner"), vocab_size=need("vocab_size"), seq_len=need("n_positions"),
                  gated_ffn=False, tied_embeddings=flag("tie_word_embeddings", True), learned_positions=True,
                  bias="all", norm="layernorm")
    else:  # gpt_neox
        kw = dict(num_layers=need("num_hidden_layers"), hidden_size=need("hidden_size"),
                  num_heads=need("num_attention_heads"), ffn_hidden_size=need("intermediate_size"),
                  vocab_size=need("vocab_size"), seq_len=need("max_position_embeddings"), gated_ffn=False,
                  tied_embeddings=flag("tie_word_embeddings", False), learned_positions=False,
                  bias="all" if flag("attention_bias", True) else "none", norm="layernorm")
    if name is None:
        name = cfg.get("_name_or_path") or (path.parent.name if path is not None and path.name == "config.json"
                                            else (path.stem if path is not None else mt))
    kw["name"] = name
    kw["source"] = derived(f"Hugging Face config.json ({where})",
                           f"architecture read from the {mt} config keys by mlsysim.models.hf_config")
    return kw
