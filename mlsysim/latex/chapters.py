"""Chapter bundles: the equation sets, worked examples and inverse questions one chapter needs.

``mlsysim latex --chapter serving --out DIR`` writes only these (with the symbols of those sets, the value
macros, the preamble and the works they cite) and a ``README.md`` listing the files and the ``\\input`` lines
to paste. Extend :data:`CHAPTERS` when the book gains a chapter or a chapter gains a set.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import UnknownNameError


@dataclass(frozen=True)
class Chapter:
    """What one chapter of the book draws from mlsysim.

    Parameters
    ----------
    title : str
        The chapter's subject, for the README.
    sets : tuple of str
        Equation sets (``mlsysim.Equations`` names), in the order the chapter presents them.
    examples : tuple of str
        Labels of the worked examples of ``examples.tex`` (``ex:...``).
    inverses : tuple of str
        Labels of the inverse questions of ``inverses.tex`` (``eq:inverse-...``).
    """

    title: str
    sets: tuple
    examples: tuple = ()
    inverses: tuple = ()


#: the book's chapters and what each needs
CHAPTERS: dict[str, Chapter] = {
    "roofline": Chapter(
        "Performance models: the iron law, the roofline and efficiency laws",
        ("IronLaw", "Roofline", "GemmEfficiency", "MemoryEfficiency"),
        ("ex:roofline-h200", "ex:roofline-bandwidth-for-latency"), ("eq:inverse-roofline-bandwidth-for-latency",)),
    "serving": Chapter(
        "Model serving: prefill, decode and the KV cache",
        ("Roofline", "TransformerCost", "KVCache", "Serving", "Inference"),
        ("ex:serving-tpot-llama3-70b-h200",), ("eq:inverse-serving-bandwidth-for-tpot",)),
    "serving_at_scale": Chapter(
        "Serving at scale: paged KV, continuous batching, chunked prefill, disaggregation and queueing",
        ("KVCache", "Serving", "PagedKV", "ContinuousBatching", "ChunkedPrefill", "Disaggregation", "Queueing",
         "QueueingQuantile", "MultiNodeInference")),
    "training": Chapter(
        "Distributed training: parallelism, collectives and memory",
        ("TransformerCost", "MegatronGPT", "Collectives", "HierarchicalCollectives", "CollectiveAlphaBeta",
         "CollectiveRingEquivalent",
         "Parallelism", "PipelineBubble", "ZeROMemory", "ActivationMemory", "Checkpointing", "Goodput",
         "TrainingStep"), ("ex:training-breakdown-llama3-405b",)),
    "sustainability": Chapter(
        "Sustainable AI: energy, carbon, water and cost", ("Carbon", "TCO"), (),
        ("eq:inverse-carbon-intensity-for-budget",)),
}


def chapter(name: str) -> Chapter:
    """The :class:`Chapter` called ``name``; :class:`UnknownNameError` listing the chapters otherwise."""
    if name not in CHAPTERS:
        raise UnknownNameError(f"unknown chapter {name!r}; known chapters: {', '.join(CHAPTERS)}")
    return CHAPTERS[name]
