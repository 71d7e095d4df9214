"""Workload cost from architecture: parameters, FLOPs, weight and KV-cache bytes.

Four equation sets, registered lazily in ``mlsysim.Equations``:

``TransformerCost``
    Parameter count of a general transformer (decoder or encoder) from its shapes, with grouped-query
    attention, gated (SwiGLU) or plain MLPs, biases, norms, tied or untied output head, learned
    position tables and mixture-of-experts; forward FLOPs per token (Kaplan et al. 2020, Table 1),
    training FLOPs ``C = 2 n_pass N D`` (6ND, or 8ND with full activation recomputation) and weight
    bytes.
``KVCache``
    KV-cache bytes per token and for a batch of sequences (Kwon et al. 2023, Sec. 3, with GQA).
``MegatronGPT``
    The closed forms of Narayanan et al. 2021 (Sec. 5.1) for GPT models: parameters
    ``12 l h^2 (1 + 13/(12h) + (V+s)/(12lh))`` and FLOPs per iteration
    ``24 n_pass B s l h^2 (1 + s/(6h) + V/(16lh))`` (96 with recompute, 72 without).
``CNNCost``
    FLOPs from published multiply-accumulate counts, weight and activation bytes.

Architecture switches as numbers
--------------------------------
sympy relations cannot take booleans, so each architectural switch is a numeric variable that the
Python façade (:class:`mlsysim.models.TransformerWorkload`) sets:

========================  ======================================================================
``ffn_matrices``          weight matrices per MLP: 2 (up, down) or 3 (gate, up, down: SwiGLU)
``untied_output``         1 if the output head has its own V x h matrix, 0 if tied to the input
``position_table_rows``   rows of a learned position table (max context), 0 for rotary/none
``qkv_bias``              1 if the q, k, v projections carry biases (GPT-2, OPT, BERT, Qwen2)
``linear_bias``           1 if the attention output and MLP projections carry biases
``norm_weights``          vectors of length h per norm: 1 (RMSNorm), 2 (LayerNorm scale + bias)
``router_experts``        outputs of the MoE router per layer (= num_experts for MoE, 0 for dense)
``training_passes``       forward-pass equivalents per training token: 3, or 4 with recompute
========================  ======================================================================

The factor 2 of "2 FLOPs per parameter per token" is the variable ``flops_per_mac`` (one
multiply-accumulate = 2 FLOP, i.e. ``Q_(1, "MAC")``), the only dimensioned constant: it is what turns
counts of multiply-accumulates into FLOPs, so every FLOP equation here is dimensionally checked.

Other topic modules re-use these Equation objects through the module-level accessors
(``megatron_flops_per_iteration_equation()``, ``kv_bytes_per_token_equation()``, ...), never by
retyping a formula.
"""
from __future__ import annotations

from ..equations import Equation, EquationSet
from .. import references as refs
from ..references import cite
from ..sources import derived
from ..units import Q_
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations

# ---------------------------------------------------------------- nomenclature (NOMENCLATURE.md names)
_var("parameters", "", "N", "parameter count")
_var("bytes_per_element", "byte", r"b_{\text{e}}", "bytes per stored number at the precision")
_var("weight_bytes", "byte", r"M_{\text{w}}", "bytes of the weights: parameters * bytes_per_element")
_var("num_layers", "", r"\ell", "transformer layers (blocks)", "count")
_var("hidden_size", "", "h", "model (residual stream) width", "count")
_var("num_heads", "", r"n_{\text{h}}", "attention (query) heads per layer", "count")
_var("num_kv_heads", "", r"n_{\text{kv}}", "key/value heads per layer (GQA; = num_heads for MHA)", "count")
_var("head_dim", "", r"d_{\text{head}}", "width of one attention head", "count")
_var("vocab_size", "", "V", "vocabulary size (rows of the token embedding)", "count")
_var("seq_len", "", "s", "context length (prompt + generated so far)", "count")
_var("batch_size", "", "B", "sequences served together", "count")
_var("kv_bytes_per_token", "byte", r"m_{\text{kv}}", "KV-cache bytes per token of context")
_var("kv_cache_bytes", "byte", r"M_{\text{kv}}", "KV-cache bytes: kv_bytes_per_token * seq_len * batch_size")
_var("global_batch", "", r"B_{\text{g}}", "sequences per optimizer step", "count")
_var("flops", "FLOP", "O", "work of one step or inference")

# ---------------------------------------------------------------- this module's additional names
_var("ffn_hidden_size", "", r"d_{\text{ff}}", "inner width of the MLP (intermediate size)", "count")
_var("num_experts", "", r"n_{\text{exp}}", "MLP experts per layer (1 for a dense model)", "count")
_var("experts_per_token", "", r"k_{\text{exp}}", "experts each token is routed to (1 for a dense model)", "count")
_var("router_experts", "", r"n_{\text{rt}}", "router outputs per layer (num_experts for MoE, 0 for dense)", "count0")
_var("ffn_matrices", "", r"n_{\text{ffn}}", "weight matrices per MLP: 2 (plain), 3 (gated, SwiGLU)", "count")
_var("untied_output", "", r"u_{\text{out}}", "1 if the output head is a separate V x h matrix, 0 if tied", "count0")
_var("position_table_rows", "", r"s_{\text{pos}}", "rows of a learned position table (0 for rotary)", "count0")
_var("qkv_bias", "", r"\beta_{\text{qkv}}", "1 if the q, k, v projections have biases, else 0", "count0")
_var("linear_bias", "", r"\beta_{\text{lin}}", "1 if attention-output and MLP projections have biases, else 0",
     "count0")
_var("norm_weights", "", r"n_{\text{norm}}", "length-h vectors per norm: 1 RMSNorm, 2 LayerNorm", "count0")
_var("attention_parameters", "", r"N_{\text{attn}}", "parameters of one attention block")
_var("expert_parameters", "", r"N_{\text{exp}}", "parameters of one MLP (one expert)")
_var("embedding_parameters", "", r"N_{\text{emb}}", "token, position and output-head embedding parameters")
_var("active_parameters", "", r"N_{\text{act}}", "parameters used per token (MoE: routed experts only)")
_var("flops_per_mac", "FLOP", r"c_{\text{MAC}}", "FLOPs per multiply-accumulate (1 MAC = 2 FLOP)")
_var("flops_per_token", "FLOP", r"C_{\text{fwd}}", "forward-pass FLOPs per token")
_var("attention_flops_per_token", "FLOP", r"C_{\text{attn}}",
     "forward FLOPs per token of the two attention matmuls (QK^T and AV) over a context of seq_len tokens")
_var("attention_causal_skip", "", r"\kappa_{\text{causal}}",
     "1 if the attention kernel skips the masked (upper) half of a causal score matrix (FlashAttention's causal "
     "path), 0 if it computes the full s x s matrix (Megatron-LM 2021-22); between 0 and 1", "nonnegative")
_var("attention_context", "", r"\bar{s}",
     "mean context a token of a causal sequence of seq_len tokens attends to, as the kernel computes it")
_var("query_tokens", "", r"n_{\text{q}}",
     "tokens of a sequence whose attention is computed: its last n_q of seq_len (= seq_len without a prefix cache)")
_var("tokens", "", r"D_{\text{tok}}", "training tokens", "positive")
_var("training_passes", "", r"n_{\text{pass}}",
     "forward-pass equivalents per training token: 3 (forward + backward), 4 with full recompute")
_var("training_flops", "FLOP", r"C_{\text{train}}", "training compute")
_var("flops_per_iteration", "FLOP", r"F_{\text{iter}}", "FLOPs of one training iteration (all passes counted)")
_var("model_flops_per_iteration", "FLOP", r"F_{\text{model}}",
     "model FLOPs of one iteration (forward + backward, no recompute)")
_var("hardware_flops_per_iteration", "FLOP", r"F_{\text{hw}}",
     "hardware FLOPs of one iteration with full activation recomputation")
_var("macs", "", r"n_{\text{MAC}}", "multiply-accumulate operations of one inference")
_var("peak_activation_elements", "", r"A_{\text{peak}}", "elements of the largest activation tensor", "count")
_var("activation_bytes", "byte", r"M_{\text{act}}^{\text{peak}}", "bytes of the largest activation tensor")

#: One multiply-accumulate is two floating-point operations (a multiply and an add).
FLOPS_PER_MAC = Q_(1, "MAC").to("FLOP")

# ---------------------------------------------------------------- sources
VASWANI_2017 = cite(refs.VASWANI_2017, "Sec. 3.2-3.4 (projections W^Q, W^K, W^V, W^O; FFN of width d_ff)")
KAPLAN_2020 = cite(refs.KAPLAN_2020, "Sec. 2.1, Table 1 (C_forward = 2N + 2 n_layer n_ctx d_attn)")
HOFFMANN_2022 = cite(refs.HOFFMANN_2022, "Sec. 3 and App. F (C = 6ND)")
NARAYANAN_2021 = cite(refs.NARAYANAN_2021, "Sec. 5.1 (parameter count and FLOPs per iteration; 4 passes with "
                                           "activation recomputation, 3 without)")
KWON_2023 = cite(refs.KWON_2023, "Sec. 3 (OPT-13B: 2 (K,V) x 5120 x 40 layers x 2 bytes = 800 KB per token)")
PARAM_COUNT = derived(
    "mlsysim transformer parameter count",
    "sum of the weight shapes of Vaswani et al. 2017 (Sec. 3): q and o projections h x (n_h d_head), k and v "
    "h x (n_kv d_head) with grouped-query attention (Ainslie et al. 2023, arXiv:2305.13245); MLP of "
    "n_ffn matrices h x d_ff (3 for SwiGLU, Shazeer 2020, arXiv:2002.05202); optional biases; two norms "
    "per layer and a final norm; token embedding V x h, untied output head V x h, learned position table "
    "s_pos x h; mixture of experts: n_exp expert MLPs and an h x n_exp router per layer (Jiang et al. "
    "2024, Mixtral, arXiv:2401.04088), of which k_exp experts are active per token")
KV_SOURCE = derived(
    "mlsysim KV-cache size",
    "Kwon et al. 2023 (SOSP, Sec. 3): 2 (key and value) x hidden x layers x bytes per token, generalised to "
    "grouped-query attention (Ainslie et al. 2023): keys and values have n_kv x d_head columns")
WEIGHT_BYTES = derived("mlsysim weight storage",
                       "each parameter is stored as one element of the chosen precision")
ACTIVATION_BYTES = derived("mlsysim activation storage",
                           "each activation element is stored as one element of the chosen precision")
TRAINING_FLOPS = derived(
    "Kaplan et al. 2020 (arXiv:2001.08361, Sec. 2.1) and Hoffmann et al. 2022 (arXiv:2203.15556): C = 6ND",
    "forward pass 2N FLOPs per token, backward pass twice the forward (C = 2 x 3 N D = 6ND); full activation "
    "recomputation adds one more forward pass (4 passes: 8ND, Narayanan et al. 2021, Sec. 5.1)")
ATTENTION_FLOPS = derived(
    "mlsysim attention FLOPs per token",
    "scaled dot-product attention (Vaswani et al. 2017, Sec. 3.2.1) is two matmuls per head: the logits Q K^T "
    "(s x d_head by d_head x s) and the weighted values A V (s x s by s x d_head), each s d_head "
    "multiply-accumulates per token per head: 2 c_MAC l s n_h d_head FLOPs per token, i.e. 4 l s h for "
    "n_h d_head = h. This is Megatron-LM's count (Narayanan et al. 2021, Sec. 5.1: 4 B s^2 h per layer "
    "forward); Kaplan et al. 2020 (Table 1) count only the logits (2 n_layer n_ctx d_attn)")
CAUSAL_CONTEXT = derived(
    "mean attended context of a causal sequence",
    "with a causal mask token i of s attends to i tokens, so a kernel that skips the masked half (FlashAttention "
    "causal, Dao 2023, arXiv:2307.08691, Sec. 3.1) computes s (s + 1) / 2 scores: mean (s + 1) / 2 per token; a "
    "kernel that computes the full s x s matrix and masks it (Megatron-LM 2021-22) does s per token. With the "
    "switch kappa in [0, 1]: s - kappa (s - 1) / 2; for the last n_q tokens only (the rest served from a "
    "prefix cache) the mean over i = s - n_q + 1..s is s - kappa (n_q - 1) / 2")
MAC_FLOPS = derived("mlsysim FLOP count of multiply-accumulates",
                    "a multiply-accumulate is one multiply and one add: 2 FLOPs (torchvision and most CNN "
                    "papers report MACs, also called multiply-adds)")


# ---------------------------------------------------------------- equations (built once, lazily)
_EQ: dict = {}


def _once(key, build):
    eq = _EQ.get(key)
    if eq is None:
        eq = _EQ[key] = build()
    return eq


def attention_parameters_equation() -> Equation:
    """Parameters of one attention block with grouped-query attention.

    .. math:: N_{attn} = 2 h d_{head} (n_h + n_{kv}) + \\beta_{qkv} d_{head} (n_h + 2 n_{kv}) + \\beta_{lin} h
    """
    return _once("attention_parameters", lambda: Equation(
        "attention_parameters", "attention_parameters",
        2 * sym.hidden_size * sym.head_dim * (sym.num_heads + sym.num_kv_heads)
        + sym.qkv_bias * sym.head_dim * (sym.num_heads + 2 * sym.num_kv_heads) + sym.linear_bias * sym.hidden_size,
        source=PARAM_COUNT, description="q, k, v, o projections (GQA) and their biases",
        display=r"2 h\, d_{\text{head}} (n_{\text{h}} + n_{\text{kv}}) + \beta_{\text{qkv}} d_{\text{head}}"
                r"(n_{\text{h}} + 2 n_{\text{kv}}) + \beta_{\text{lin}} h"))


def expert_parameters_equation() -> Equation:
    """Parameters of one MLP (one expert): n_ffn matrices h x d_ff plus biases."""
    return _once("expert_parameters", lambda: Equation(
        "expert_parameters", "expert_parameters",
        sym.ffn_matrices * sym.hidden_size * sym.ffn_hidden_size
        + sym.linear_bias * ((sym.ffn_matrices - 1) * sym.ffn_hidden_size + sym.hidden_size),
        source=PARAM_COUNT, description="one MLP: 2 (plain) or 3 (SwiGLU) matrices h x d_ff, plus biases",
        display=r"n_{\text{ffn}} h\, d_{\text{ff}} + \beta_{\text{lin}} \left((n_{\text{ffn}} - 1) d_{\text{ff}}"
                r" + h\right)"))


def embedding_parameters_equation() -> Equation:
    """Token embedding, untied output head and learned position table."""
    return _once("embedding_parameters", lambda: Equation(
        "embedding_parameters", "embedding_parameters",
        (1 + sym.untied_output) * sym.vocab_size * sym.hidden_size + sym.position_table_rows * sym.hidden_size,
        source=PARAM_COUNT, description="token embedding, untied output head and learned position table",
        display=r"(1 + u_{\text{out}}) V h + s_{\text{pos}} h"))


def _layer_total(experts):
    return (sym.attention_parameters + experts * sym.expert_parameters + sym.router_experts * sym.hidden_size
            + 2 * sym.norm_weights * sym.hidden_size)


def parameters_equation() -> Equation:
    """Total parameter count (every expert counted)."""
    return _once("parameters", lambda: Equation(
        "parameters", "parameters",
        sym.embedding_parameters + sym.num_layers * _layer_total(sym.num_experts) + sym.norm_weights * sym.hidden_size,
        source=PARAM_COUNT, description="all parameters: embeddings, L layers (attention, every expert, router, "
                                        "two norms) and the final norm",
        display=r"N_{\text{emb}} + \ell\left(N_{\text{attn}} + n_{\text{exp}} N_{\text{exp}} + n_{\text{rt}} h"
                r" + 2 n_{\text{norm}} h\right) + n_{\text{norm}} h"))


def active_parameters_equation() -> Equation:
    """Parameters a token uses (MoE: only the experts it is routed to)."""
    return _once("active_parameters", lambda: Equation(
        "active_parameters", "active_parameters",
        sym.embedding_parameters + sym.num_layers * _layer_total(sym.experts_per_token)
        + sym.norm_weights * sym.hidden_size,
        source=PARAM_COUNT, description="parameters used per token: as the total, with k_exp experts per layer",
        display=r"N_{\text{emb}} + \ell\left(N_{\text{attn}} + k_{\text{exp}} N_{\text{exp}} + n_{\text{rt}} h"
                r" + 2 n_{\text{norm}} h\right) + n_{\text{norm}} h"))


def attention_flops_per_token_equation() -> Equation:
    """Attention-matmul FLOPs per token over a context of ``seq_len`` tokens: QK^T and AV.

    .. math:: C_{attn} = 2 c_{MAC}\\, \\ell\\, s\\, n_h d_{head}

    The one relation for attention FLOPs: serving (decode at context s; prefill at the mean causal
    context :func:`attention_context_equation`) and training use it. With ``n_h d_head = h`` it is
    Megatron-LM's ``4 l s h`` per token (Narayanan et al. 2021, Sec. 5.1).
    """
    return _once("attention_flops_per_token", lambda: Equation(
        "attention_flops_per_token", "attention_flops_per_token",
        2 * sym.flops_per_mac * sym.num_layers * sym.seq_len * sym.num_heads * sym.head_dim,
        source=ATTENTION_FLOPS, description="FLOPs per token of QK^T and AV over a context of s tokens",
        display=r"2 c_{\text{MAC}}\, \ell\, s\, n_{\text{h}} d_{\text{head}}"))


def attention_context_suffix_equation() -> Equation:
    """Mean context of the last ``query_tokens`` (n_q) tokens of a causal sequence of ``seq_len`` (s).

    .. math:: \\bar{s} = s - \\kappa_{causal} (n_q - 1) / 2

    ``attention_causal_skip`` (kappa) = 0: the kernel computes whole rows of the score matrix
    (Megatron-LM 2021-22), s per token; 1: it skips the masked part (FlashAttention's causal path):
    token i attends i tokens, a mean of s - (n_q - 1)/2 over the last n_q. A prefix cache computes
    only the last n_q tokens of a prompt; without one n_q = s (:func:`attention_context_equation`).
    """
    return _once("attention_context_suffix", lambda: Equation(
        "attention_context", "attention_context",
        sym.seq_len - sym.attention_causal_skip * (sym.query_tokens - 1) / 2,
        source=CAUSAL_CONTEXT, description="mean context a token of a causal sequence attends to, as computed",
        display=r"s - \kappa_{\text{causal}} (n_{\text{q}} - 1) / 2"))


def attention_context_equation() -> Equation:
    """Mean context per token of a whole causal sequence of ``seq_len`` tokens (n_q = s):
    ``s - kappa (s - 1) / 2``: s for a kernel that computes the full matrix, (s + 1)/2 for one that
    skips the masked half. Training uses this; it is :func:`attention_context_suffix_equation` with n_q = s.
    """
    return _once("attention_context", lambda: attention_context_suffix_equation().renamed(
        {"query_tokens": "seq_len"}, key="attention_context",
        description="mean context a token of a causal sequence attends to, as computed"))


def flops_per_token_equation() -> Equation:
    """Forward FLOPs per token: Kaplan et al. 2020 (Table 1) with both attention matmuls.

    ``c_MAC (N_act - N_emb + V h) + C_attn``: one multiply-accumulate per non-embedding parameter,
    the de-embedding (output head, V h) and the attention matmuls QK^T and AV over the context
    (:func:`attention_flops_per_token_equation`); embedding look-ups cost no FLOPs.
    """
    return _once("flops_per_token", lambda: Equation(
        "flops_per_token", "flops_per_token",
        sym.flops_per_mac * (sym.active_parameters - sym.embedding_parameters + sym.vocab_size * sym.hidden_size)
        + sym.attention_flops_per_token,
        source=KAPLAN_2020, description="forward FLOPs per token: 2 per non-embedding active parameter, "
                                        "the de-embedding and the attention matmuls (QK^T and AV) over the context",
        display=r"c_{\text{MAC}} \left(N_{\text{act}} - N_{\text{emb}} + V h\right) + C_{\text{attn}}"))


def weight_bytes_equation() -> Equation:
    """``weight_bytes = parameters * bytes_per_element``."""
    return _once("weight_bytes", lambda: Equation(
        "weight_bytes", "weight_bytes", sym.parameters * sym.bytes_per_element,
        source=WEIGHT_BYTES, description="bytes to store the weights at the precision"))


def training_flops_equation() -> Equation:
    """Training compute ``C = c_MAC n_pass N_act D`` (6ND; 8ND with full recompute)."""
    return _once("training_flops", lambda: Equation(
        "training_flops", "training_flops",
        sym.flops_per_mac * sym.training_passes * sym.active_parameters * sym.tokens,
        source=TRAINING_FLOPS, description="training compute: 2 FLOPs per active parameter per token per pass "
                                           "(3 passes: 6ND; 4 with recompute: 8ND)",
        display=r"c_{\text{MAC}}\, n_{\text{pass}} N_{\text{act}} D_{\text{tok}}"))


def kv_bytes_per_token_equation() -> Equation:
    """``kv_bytes_per_token = 2 * num_layers * num_kv_heads * head_dim * bytes_per_element``."""
    return _once("kv_bytes_per_token", lambda: Equation(
        "kv_bytes_per_token", "kv_bytes_per_token",
        2 * sym.num_layers * sym.num_kv_heads * sym.head_dim * sym.bytes_per_element,
        source=KV_SOURCE, description="keys and values of every layer for one token",
        display=r"2 \ell\, n_{\text{kv}} d_{\text{head}}\, b_{\text{e}}"))


def kv_cache_bytes_equation() -> Equation:
    """``kv_cache_bytes = kv_bytes_per_token * seq_len * batch_size``."""
    return _once("kv_cache_bytes", lambda: Equation(
        "kv_cache_bytes", "kv_cache_bytes", sym.kv_bytes_per_token * sym.seq_len * sym.batch_size,
        source=KWON_2023, description="KV cache of a batch of sequences of the given context length"))


def megatron_parameters_equation() -> Equation:
    """Megatron-LM GPT parameter count (Narayanan et al. 2021, Sec. 5.1).

    .. math:: P = 12 l h^2 \\left(1 + \\frac{13}{12 h} + \\frac{V + s}{12 l h}\\right)
    """
    def build():
        L, h, V, s = sym.num_layers, sym.hidden_size, sym.vocab_size, sym.seq_len
        return Equation("megatron_parameters", "parameters",
                        12 * L * h**2 * (1 + 13 / (12 * h) + (V + s) / (12 * L * h)),
                        source=NARAYANAN_2021, description="GPT parameter count (Megatron-LM closed form)",
                        display=r"12 \ell h^2 \left(1 + \frac{13}{12 h} + \frac{V + s}{12 \ell h}\right)")
    return _once("megatron_parameters", build)


def _megatron_flops_rhs(passes):
    L, h, V, s, B = sym.num_layers, sym.hidden_size, sym.vocab_size, sym.seq_len, sym.global_batch
    return sym.flops_per_mac * 12 * passes * B * s * L * h**2 * (1 + s / (6 * h) + V / (16 * L * h))


def megatron_flops_per_iteration_equation() -> Equation:
    """Megatron-LM FLOPs per iteration (Narayanan et al. 2021, Sec. 5.1).

    .. math:: F = c_{MAC}\\, 12\\, n_{pass} B s l h^2 \\left(1 + \\frac{s}{6h} + \\frac{V}{16 l h}\\right)

    With ``flops_per_mac = 2 FLOP``: ``n_pass = 4`` (full recompute) gives the paper's
    ``96 B s l h^2 (...)``; ``n_pass = 3`` gives ``72 B s l h^2 (...)`` (model FLOPs).
    """
    return _once("megatron_flops", lambda: Equation(
        "megatron_flops_per_iteration", "flops_per_iteration", _megatron_flops_rhs(sym.training_passes),
        source=NARAYANAN_2021, description="FLOPs of one iteration of B sequences (logit layer included)",
        display=r"c_{\text{MAC}}\, 12\, n_{\text{pass}} B_{\text{g}}\, s \ell h^2 \left(1 + \frac{s}{6 h} + "
                r"\frac{V}{16 \ell h}\right)"))


def megatron_model_flops_equation() -> Equation:
    """Model FLOPs per iteration, 3 passes: ``72 B s l h^2 (...)`` (the MFU numerator)."""
    def build():
        gen = megatron_flops_per_iteration_equation()
        return Equation("megatron_model_flops", "model_flops_per_iteration",
                        gen.rhs.xreplace({sym.training_passes: 3}), source=gen.source, origin=gen,
                        description="model FLOPs of one iteration: forward + backward (3 passes)",
                        display=r"c_{\text{MAC}}\, 36\, B_{\text{g}}\, s \ell h^2 \left(1 + \frac{s}{6 h} + "
                                r"\frac{V}{16 \ell h}\right)")
    return _once("megatron_model_flops", build)


def megatron_hardware_flops_equation() -> Equation:
    """Hardware FLOPs per iteration with full recompute, 4 passes: ``96 B s l h^2 (...)``."""
    def build():
        gen = megatron_flops_per_iteration_equation()
        return Equation("megatron_hardware_flops", "hardware_flops_per_iteration",
                        gen.rhs.xreplace({sym.training_passes: 4}), source=gen.source, origin=gen,
                        description="hardware FLOPs of one iteration with full activation recomputation",
                        display=r"c_{\text{MAC}}\, 48\, B_{\text{g}}\, s \ell h^2 \left(1 + \frac{s}{6 h} + "
                                r"\frac{V}{16 \ell h}\right)")
    return _once("megatron_hardware_flops", build)


def cnn_flops_equation() -> Equation:
    """``flops = flops_per_mac * macs`` (2 FLOPs per multiply-accumulate)."""
    return _once("cnn_flops", lambda: Equation(
        "cnn_flops", "flops", sym.flops_per_mac * sym.macs, source=MAC_FLOPS,
        description="FLOPs of one inference from its multiply-accumulate count"))


def activation_bytes_equation() -> Equation:
    """``activation_bytes = peak_activation_elements * bytes_per_element``."""
    return _once("activation_bytes", lambda: Equation(
        "activation_bytes", "activation_bytes", sym.peak_activation_elements * sym.bytes_per_element,
        source=ACTIVATION_BYTES, description="bytes of the largest activation tensor at the precision"))


# ---------------------------------------------------------------- sets
def build_transformer_cost() -> EquationSet:
    return EquationSet("TransformerCost", [
        attention_parameters_equation(), expert_parameters_equation(), embedding_parameters_equation(),
        parameters_equation(), active_parameters_equation(), attention_flops_per_token_equation(),
        flops_per_token_equation(), weight_bytes_equation(), training_flops_equation()],
        description="transformer parameters, FLOPs per token, training FLOPs and weight bytes from the architecture")


def build_kv_cache() -> EquationSet:
    return EquationSet("KVCache", [kv_bytes_per_token_equation(), kv_cache_bytes_equation()],
                       description="KV-cache bytes per token and for a batch of sequences")


def build_megatron_gpt() -> EquationSet:
    return EquationSet("MegatronGPT", [
        megatron_parameters_equation(), megatron_flops_per_iteration_equation(),
        megatron_model_flops_equation(), megatron_hardware_flops_equation()],
        description="Megatron-LM closed forms for GPT parameters and FLOPs per iteration (Narayanan et al. 2021)")


def build_cnn_cost() -> EquationSet:
    return EquationSet("CNNCost", [cnn_flops_equation(), weight_bytes_equation(), activation_bytes_equation()],
                       description="CNN FLOPs from published MACs; weight and activation bytes")


Equations.register("TransformerCost", factory=build_transformer_cost)
Equations.register("KVCache", factory=build_kv_cache)
Equations.register("MegatronGPT", factory=build_megatron_gpt)
Equations.register("CNNCost", factory=build_cnn_cost)
