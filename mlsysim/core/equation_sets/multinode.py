"""Multi-node and expert-parallel inference: tensor parallelism inside a node, pipeline stages across nodes,
expert all-to-alls for mixture-of-experts models (``Equations.MultiNodeInference``).

Notes
-----
A replica runs ``tp`` devices per stage (tensor parallelism inside a node, as the serving model computes
it) and ``pp`` stages in a pipeline across nodes (Narayanan et al. 2021, Sec. 2.2). A stage holds at
most :math:`n_{\\max} = \\lceil L / p \\rceil` of the model's :math:`L` layers, and a decode step of the whole
model on one tensor-parallel group takes :math:`T_{TP}` (the serving model's ``tpot`` at ``num_devices = tp``);
split in proportion to the layers, the slowest stage computes for

.. math::

    T_{\\text{st,comp}} = T_{TP}\\, n_{\\max} / L

(the embedding and the LM head are spread in proportion: an approximation that Narayanan et al. avoid by
giving them their own stage time; it is within one layer's share for the models here).

Between stages each decode step sends one hidden vector per sequence:
:math:`M_{PP} = B\\, h\\, b_e`, in :math:`T_{PP}` (the point-to-point time of that message over the fabric
between nodes, alpha-beta; Hockney 1994).

With expert parallelism over :math:`n_{EP}` ranks (Lepikhin et al. 2020, GShard; Fedus et al. 2022, Switch),
each MoE layer dispatches every token to its :math:`k` experts and combines the results: two all-to-alls,
each rank exchanging :math:`M_{EP} = B\\, k\\, h\\, b_e` bytes in :math:`T_{A2A}` (pairwise exchange,
Thakur et al. 2005). Then a token's latency through the pipeline is the sum of the stage times plus the
inter-stage sends, and the pipeline's throughput (``pp`` micro-batches of ``batch_size`` sequences in
flight) is set by the slowest stage:

.. math::

    T_{\\text{st}} &= T_{\\text{st,comp}} + 2\\, n_{\\text{MoE,st}}\\, T_{A2A} \\\\
    T_{\\text{tok,PP}} &= T_{TP} + 2\\, n_{\\text{MoE}}\\, T_{A2A} + (p - 1)\\, T_{PP} \\\\
    X_{\\text{pipe}} &= B / T_{\\text{st}}

The collective times are inputs of this set: the solver computes them from the fleet's fabrics
(``Fleet.collective_time`` where it exists, else ``Equations.Collectives``).
"""
from __future__ import annotations

from .. import references as refs
from ..equations import Equation, EquationSet
from ..references import cite
from ..sources import derived
from ..variables import ensure_var as _var
from ..variables import sym
from . import Equations

# the names shared with the training step (same definitions: ensure_var checks that they agree)
_var("ep", "", r"n_{\text{EP}}", "expert-parallel degree (experts split over ep ranks)", "count")
_var("ep_message_bytes", "byte", r"M_{\text{EP}}", "bytes one rank dispatches in one expert all-to-all")
_var("ep_alltoall_time", "s", r"T_{\text{A2A,EP}}", "one expert all-to-all (dispatch or combine)", "nonnegative")
_var("stage_layers", "", r"n_{\max}", "layers on the largest stage: ceil(num_layers / pp)", "count")
_var("experts_per_token", "", r"k_{\text{exp}}", "experts each token is routed to (1 for a dense model)", "count")

_var("tp_step_time", "s", r"T_{TP}", "decode step of the whole model on one tensor-parallel group")
_var("stage_compute_time", "s", r"T_{\text{st,comp}}", "compute of the slowest pipeline stage in one decode step")
_var("moe_layers", "", r"n_{\text{MoE}}", "mixture-of-experts layers of the model (0 for a dense model)", "count0")
_var("moe_stage_layers", "", r"n_{\text{MoE,st}}", "mixture-of-experts layers on the largest stage", "count0")
_var("pipeline_stage_time", "s", r"T_{\text{st}}", "time of the slowest pipeline stage in one decode step")
_var("stage_message_bytes", "byte", r"M_{PP}", "activations one stage sends the next per decode step")
_var("stage_send_time", "s", r"T_{PP}", "time to send one stage's activations to the next", "nonnegative")
_var("pipeline_token_latency", "s", r"T_{\text{tok,PP}}",
     "time per output token through the pipeline: every stage, its expert all-to-alls and the sends")
_var("pipeline_throughput", "1/s", r"X_{\text{pipe}}", "output tokens per second of a full pipeline")

NARAYANAN_2021 = cite(refs.NARAYANAN_2021, "Sec. 2.2 (pipeline model parallelism: stages of consecutive layers, "
                                           "point-to-point sends between stages)")
LAYER_SPLIT = derived("layer-proportional pipeline stages",
                      "a stage of n_max of the L layers runs n_max/L of the decode step the serving model computes "
                      "for the whole model on one tensor-parallel group (Narayanan et al. 2021, Sec. 2.2); the "
                      "embedding and the LM head are spread in proportion (an approximation)")
PIPE_LATENCY = derived("per-token latency of an inference pipeline",
                       "a token passes every stage in turn: the sum of the stage times (the whole model's decode "
                       "step and its expert all-to-alls) plus pp - 1 point-to-point sends (Narayanan et al. 2021, "
                       "Sec. 2.2)")
PIPE_THROUGHPUT = derived("throughput of a full inference pipeline",
                          "with pp micro-batches of batch_size sequences in flight, one micro-batch leaves the "
                          "last stage per slowest-stage time (Narayanan et al. 2021, Sec. 2.2; sends overlap "
                          "with the other micro-batches' compute)")
EXPERT_PARALLEL = derived("expert-parallel dispatch and combine",
                          "Lepikhin et al. 2020 (GShard, arXiv:2006.16668, Sec. 2.2) and Fedus et al. 2022 "
                          "(Switch Transformers, JMLR 23): each token is sent to its k experts and the results "
                          "are sent back, one all-to-all each per MoE layer (pairwise exchange, Thakur et al. 2005)")

_EQS = None


def multinode_equations() -> dict[str, Equation]:
    """The multi-node inference relations by key (written once here)."""
    global _EQS
    if _EQS is None:
        B, h, be = sym.batch_size, sym.hidden_size, sym.bytes_per_element
        eqs = [
            Equation("stage_compute_time", "stage_compute_time", sym.tp_step_time * sym.stage_layers / sym.num_layers,
                     source=LAYER_SPLIT, description="compute of the slowest stage: its share of the layers",
                     display=r"T_{TP}\,\frac{n_{\max}}{\ell}"),
            Equation("ep_message_bytes", "ep_message_bytes", B * sym.experts_per_token * h * be,
                     source=EXPERT_PARALLEL, description="routed token activations one rank exchanges"),
            Equation("pipeline_stage_time", "pipeline_stage_time",
                     sym.stage_compute_time + 2 * sym.moe_stage_layers * sym.ep_alltoall_time,
                     source=EXPERT_PARALLEL, description="slowest stage: compute plus dispatch and combine "
                                                         "all-to-alls of its MoE layers",
                     display=r"T_{\text{st,comp}} + 2\,n_{\text{MoE,st}}\,T_{\text{A2A,EP}}"),
            Equation("stage_message_bytes", "stage_message_bytes", B * h * be, source=NARAYANAN_2021,
                     description="one hidden vector per sequence sent between stages"),
            Equation("pipeline_token_latency", "pipeline_token_latency",
                     sym.tp_step_time + 2 * sym.moe_layers * sym.ep_alltoall_time + (sym.pp - 1) * sym.stage_send_time,
                     source=PIPE_LATENCY, description="time per output token through every stage and send",
                     display=r"T_{TP} + 2\,n_{\text{MoE}}\,T_{\text{A2A,EP}} + (n_{\text{PP}} - 1)\,T_{PP}"),
            Equation("pipeline_throughput", "pipeline_throughput", B / sym.pipeline_stage_time,
                     source=PIPE_THROUGHPUT, description="output tokens per second, set by the slowest stage"),
        ]
        _EQS = {e.key: e for e in eqs}
    return _EQS


Equations.register("MultiNodeInference", factory=lambda: EquationSet(
    "MultiNodeInference", list(multinode_equations().values()),
    description="multi-node inference: tensor parallel inside a node, pipeline stages across nodes, expert "
                "all-to-alls (Narayanan et al. 2021; Lepikhin et al. 2020)"))
