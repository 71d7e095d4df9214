"""Transformer workloads whose costs are derived from the architecture by equation sets.

A :class:`TransformerWorkload` stores only architecture numbers (layers, widths, heads, vocabulary,
context, switches). Parameters, FLOPs, weight bytes and KV-cache bytes are computed by the equation
sets ``Equations.TransformerCost`` and ``Equations.KVCache`` (module
``mlsysim.core.equation_sets.transformer``); nothing here retypes a formula.
"""
from __future__ import annotations

from typing import Any

from ..core.equation_sets import Equations
from ..core.equation_sets.transformer import FLOPS_PER_MAC
from ..core.errors import DomainError
from ..core.sources import Source, derived
from ._common import check_count, check_positive, check_source, element_bytes, fmt_count

_KINDS = ("decoder", "encoder")
_BIAS = {"none": (0, 0), "qkv": (1, 0), "all": (1, 1)}
_NORMS = {"rmsnorm": 1, "layernorm": 2}


class TransformerWorkload:
    """A transformer (decoder or encoder, dense or mixture-of-experts) described by its architecture.

    Parameters
    ----------
    name : str
        Display name.
    num_layers : int
        Transformer blocks [1].
    hidden_size : int
        Model width h [1].
    num_heads : int
        Attention (query) heads [1].
    vocab_size : int
        Vocabulary size V [1].
    seq_len : int
        Maximum context length s [1] (used by default for FLOPs per token and the KV cache).
    num_kv_heads : int, optional
        Key/value heads (grouped-query attention) [1]; default ``num_heads`` (multi-head attention).
    head_dim : int, optional
        Width of one head [1]; default ``hidden_size / num_heads`` (which must then divide exactly).
    ffn_hidden_size : int, optional
        MLP inner width d_ff [1]; default ``4 * hidden_size``.
    gated_ffn : bool
        True for a gated MLP (SwiGLU/GeGLU: 3 matrices), False for the plain 2-matrix MLP.
    num_experts, experts_per_token : int
        Mixture of experts: experts per layer and experts each token is routed to [1]. A model with
        ``num_experts > 1`` has a router (h x num_experts per layer).
    tied_embeddings : bool
        True if the output head re-uses the token-embedding matrix.
    learned_positions : bool
        True for a learned position table of ``seq_len`` rows (GPT-2/3, OPT, BERT); False for rotary.
    kind : {"decoder", "encoder"}
        Encoders (BERT) keep no KV cache.
    source : Source, optional
        Where the architecture comes from; defaults to a Source of kind ``assumption``
        ("architecture given by the caller"). Registry entries always give one.
    bias : {"none", "qkv", "all"}
        Linear-layer biases: none (Llama, Mistral), q/k/v only (Qwen2), every projection (GPT-2/3, OPT, BERT).
    norm : {"rmsnorm", "layernorm"}
        RMSNorm has one length-h vector per norm, LayerNorm two (scale and bias).

    Notes
    -----
    Every cost is computed through ``Equations.TransformerCost`` / ``Equations.KVCache``; see
    :meth:`architecture` for the numbers passed to them and :meth:`knowns_for` to bind a workload to
    any equation set.
    """

    def __init__(self, *, name: str, num_layers: int, hidden_size: int, num_heads: int, vocab_size: int,
                 seq_len: int, num_kv_heads: int | None = None, head_dim: int | None = None,
                 ffn_hidden_size: int | None = None, gated_ffn: bool = False, num_experts: int = 1,
                 experts_per_token: int = 1, tied_embeddings: bool = False, learned_positions: bool = False,
                 kind: str = "decoder", source: Source | None = None, bias: str = "none", norm: str = "rmsnorm"):
        if not isinstance(name, str) or not name.strip():
            raise DomainError(f"TransformerWorkload: name must be a non-empty string; got {name!r}")
        own = f"TransformerWorkload {name!r}"
        self.name = name
        self.num_layers = check_count("num_layers", num_layers, owner=own)
        self.hidden_size = check_count("hidden_size", hidden_size, owner=own)
        self.num_heads = check_count("num_heads", num_heads, owner=own)
        self.vocab_size = check_count("vocab_size", vocab_size, owner=own)
        self.seq_len = check_count("seq_len", seq_len, owner=own)
        if num_kv_heads is None:
            num_kv_heads = self.num_heads
        self.num_kv_heads = check_count("num_kv_heads", num_kv_heads, owner=own)
        if self.num_heads % self.num_kv_heads:
            raise DomainError(f"{own}: num_kv_heads = {self.num_kv_heads} must divide num_heads = {self.num_heads} "
                              f"(each key/value head serves a whole group of query heads)")
        if head_dim is None:
            if self.hidden_size % self.num_heads:
                raise DomainError(f"{own}: num_heads = {self.num_heads} does not divide hidden_size = "
                                  f"{self.hidden_size}; give head_dim explicitly")
            head_dim = self.hidden_size // self.num_heads
        self.head_dim = check_count("head_dim", head_dim, owner=own)
        self.ffn_hidden_size = check_count("ffn_hidden_size",
                                           4 * self.hidden_size if ffn_hidden_size is None else ffn_hidden_size,
                                           owner=own)
        for arg, val in (("gated_ffn", gated_ffn), ("tied_embeddings", tied_embeddings),
                         ("learned_positions", learned_positions)):
            if not isinstance(val, bool):
                raise DomainError(f"{own}: {arg} must be True or False; got {val!r}")
        self.gated_ffn = gated_ffn
        self.tied_embeddings = tied_embeddings
        self.learned_positions = learned_positions
        self.num_experts = check_count("num_experts", num_experts, owner=own)
        self.experts_per_token = check_count("experts_per_token", experts_per_token, owner=own)
        if self.experts_per_token > self.num_experts:
            raise DomainError(f"{own}: experts_per_token = {self.experts_per_token} exceeds num_experts = "
                              f"{self.num_experts}")
        if kind not in _KINDS:
            raise DomainError(f"{own}: kind must be one of {', '.join(_KINDS)}; got {kind!r}")
        self.kind = kind
        if bias not in _BIAS:
            raise DomainError(f"{own}: bias must be one of {', '.join(_BIAS)}; got {bias!r}")
        self.bias = bias
        if norm not in _NORMS:
            raise DomainError(f"{own}: norm must be one of {', '.join(_NORMS)}; got {norm!r}")
        self.norm = norm
        self.source = check_source(source, own)
        self._cache: dict = {}

    # ---------------------------------------------------------------- construction helpers
    def _init_args(self) -> dict:
        return dict(name=self.name, num_layers=self.num_layers, hidden_size=self.hidden_size,
                    num_heads=self.num_heads, vocab_size=self.vocab_size, seq_len=self.seq_len,
                    num_kv_heads=self.num_kv_heads, head_dim=self.head_dim, ffn_hidden_size=self.ffn_hidden_size,
                    gated_ffn=self.gated_ffn, num_experts=self.num_experts,
                    experts_per_token=self.experts_per_token, tied_embeddings=self.tied_embeddings,
                    learned_positions=self.learned_positions, kind=self.kind, source=self.source,
                    bias=self.bias, norm=self.norm)

    def replace(self, **changes) -> "TransformerWorkload":
        """A copy with some constructor arguments changed (e.g. ``seq_len=32768``).

        When architecture numbers change and no ``source`` is given, the copy's source says it was
        derived from this model's source with those changes. Changing ``hidden_size`` or ``num_heads``
        keeps ``head_dim`` unless ``head_dim=None`` is passed to re-derive it.
        """
        args = self._init_args()
        unknown = sorted(set(changes) - set(args))
        if unknown:
            import difflib

            close = difflib.get_close_matches(unknown[0], list(args), n=3)
            raise DomainError(f"TransformerWorkload.replace: unknown argument {unknown[0]!r}"
                              + (f"; did you mean {', '.join(close)}?" if close else
                                 f"; arguments are {', '.join(args)}"))
        arch_changes = {k: v for k, v in changes.items() if k not in ("name", "source")}
        args.update(changes)
        if arch_changes and "source" not in changes:
            desc = ", ".join(f"{k}={v!r}" for k, v in arch_changes.items())
            args["source"] = derived(f"{self.name} modified by the caller",
                                     f"{self.source.short()} with {desc}")
        return TransformerWorkload(**args)

    @classmethod
    def from_hf_config(cls, path_or_dict, name: str | None = None) -> "TransformerWorkload":
        """Build from a Hugging Face ``config.json`` (path or already-parsed dict).

        Supported ``model_type``: llama, mistral, mixtral, qwen2, gpt2, gpt_neox. A missing required
        key raises :class:`~mlsysim.core.errors.UnderdeterminedError` naming it; an unknown model type
        :class:`~mlsysim.core.errors.UnknownNameError`; a key for a feature mlsysim does not model
        (e.g. shared experts) :class:`~mlsysim.core.errors.DomainError`.
        """
        from .hf_config import workload_kwargs_from_hf_config

        return cls(**workload_kwargs_from_hf_config(path_or_dict, name=name))

    # ---------------------------------------------------------------- architecture as equation knowns
    def architecture(self) -> dict:
        """The architecture as ``{equation variable: number}`` (the knowns of ``TransformerCost``/``KVCache``)."""
        qkv_bias, linear_bias = _BIAS[self.bias]
        return {
            "num_layers": self.num_layers, "hidden_size": self.hidden_size, "num_heads": self.num_heads,
            "num_kv_heads": self.num_kv_heads, "head_dim": self.head_dim, "vocab_size": self.vocab_size,
            "seq_len": self.seq_len, "ffn_hidden_size": self.ffn_hidden_size,
            "ffn_matrices": 3 if self.gated_ffn else 2, "untied_output": 0 if self.tied_embeddings else 1,
            "position_table_rows": self.seq_len if self.learned_positions else 0,
            "qkv_bias": qkv_bias, "linear_bias": linear_bias, "norm_weights": _NORMS[self.norm],
            "num_experts": self.num_experts, "experts_per_token": self.experts_per_token,
            "router_experts": self.num_experts if self.num_experts > 1 else 0,
        }

    def knowns_for(self, equation_set, **extra) -> dict:
        """Knowns for ``equation_set`` (an EquationSet or its registry name): the architecture numbers
        (and ``flops_per_mac``) that the set uses, updated with ``extra``.
        """
        eqset = Equations[equation_set] if isinstance(equation_set, str) else equation_set
        base: dict[str, Any] = dict(self.architecture())
        base["flops_per_mac"] = FLOPS_PER_MAC
        base.update(extra)
        return {k: v for k, v in base.items() if k in eqset.inputs}

    def _computed(self, set_name: str, output: str, **extra):
        key = (set_name, output, tuple(sorted((k, _hashable(v)) for k, v in extra.items())))
        hit = self._cache.get(key)
        if hit is None:
            eqset = Equations[set_name]
            hit = self._cache[key] = eqset.evaluate(outputs=[output], **self.knowns_for(eqset, **extra))[output]
        return hit

    # ---------------------------------------------------------------- costs
    @property
    def parameters(self) -> float:
        """Total parameter count [1] (every expert counted), from ``TransformerCost``."""
        return float(self._computed("TransformerCost", "parameters"))

    @property
    def active_parameters(self) -> float:
        """Parameters used per token [1] (MoE: routed experts only), from ``TransformerCost``."""
        return float(self._computed("TransformerCost", "active_parameters"))

    @property
    def embedding_parameters(self) -> float:
        """Token, position and output-head embedding parameters [1]."""
        return float(self._computed("TransformerCost", "embedding_parameters"))

    def weight_bytes(self, precision="bf16"):
        """Bytes of all weights at ``precision`` [byte] (a name such as ``"bf16"`` or bytes per element)."""
        return self._computed("TransformerCost", "weight_bytes", bytes_per_element=element_bytes(precision))

    def kv_bytes_per_token(self, precision="bf16"):
        """KV-cache bytes per token of context at ``precision`` [byte], from ``KVCache``."""
        self._require_decoder("kv_bytes_per_token")
        return self._computed("KVCache", "kv_bytes_per_token", bytes_per_element=element_bytes(precision))

    def kv_cache_bytes(self, precision="bf16", seq_len: int | None = None, batch_size: int = 1):
        """KV-cache bytes of ``batch_size`` sequences of ``seq_len`` tokens (default: max context) [byte]."""
        self._require_decoder("kv_cache_bytes")
        s = self.seq_len if seq_len is None else check_count("seq_len", seq_len, owner=self.name)
        b = check_count("batch_size", batch_size, owner=self.name)
        return self._computed("KVCache", "kv_cache_bytes", bytes_per_element=element_bytes(precision), seq_len=s,
                          batch_size=b)

    def flops_per_token(self, seq_len: int | None = None):
        """Forward FLOPs per token with a context of ``seq_len`` tokens (default: max context) [FLOP].

        Kaplan et al. 2020, Table 1: 2 FLOPs per non-embedding active parameter, plus the
        de-embedding 2 V h, and both attention matmuls (QK^T and AV), 4 L s n_h d_head.
        """
        s = self.seq_len if seq_len is None else check_count("seq_len", seq_len, owner=self.name)
        return self._computed("TransformerCost", "flops_per_token", seq_len=s)

    def training_flops(self, tokens, recompute: bool = False):
        """Training compute for ``tokens`` training tokens [FLOP]: 6 N D, or 8 N D with full recompute.

        ``tokens`` is a plain count [1]; N is the active parameter count (all parameters for a dense model).
        """
        d = check_positive("tokens", tokens, owner=self.name)
        if not isinstance(recompute, bool):
            raise DomainError(f"{self.name}: recompute must be True or False; got {recompute!r}")
        return self._computed("TransformerCost", "training_flops", tokens=d, training_passes=4 if recompute else 3)

    def _require_decoder(self, what: str):
        if self.kind != "decoder":
            raise DomainError(f"{self.name} is an {self.kind}: it attends over its whole input at once and keeps "
                              f"no KV cache, so {what} is not defined")

    # ---------------------------------------------------------------- display
    def __repr__(self):
        moe = f", experts {self.experts_per_token}/{self.num_experts}" if self.num_experts > 1 else ""
        return (f"<TransformerWorkload {self.name}: {fmt_count(self.parameters)} params, {self.num_layers} layers, "
                f"h={self.hidden_size}, heads {self.num_heads}/{self.num_kv_heads} kv{moe}, V={self.vocab_size}, "
                f"s={self.seq_len}>")

    def __eq__(self, other):
        if not isinstance(other, TransformerWorkload):
            return NotImplemented
        a, b = self._init_args(), other._init_args()
        a.pop("source"), b.pop("source")
        return a == b

    def __hash__(self):
        return hash(tuple(sorted((k, v) for k, v in self._init_args().items() if k != "source")))


def _hashable(v):
    if hasattr(v, "magnitude"):
        return (float(v.magnitude), str(v.units))
    return v
