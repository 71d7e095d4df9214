"""References: every cited work once, and ``cite(work, locator=...)`` for the place in it.

A :class:`Work` is one publication (a paper, a book, a datasheet, a standard) with its bibliographic
fields. A :class:`~mlsysim.core.sources.Source` is a *use* of a work: the work plus a locator (section,
table, equation). Equation sets and default assumptions create their Sources with :func:`cite`, so that a
work cited by three equation sets is typed once, here, and the bibliography (``references.bib``, written by
:mod:`mlsysim.latex`) holds it once.

Bibliography keys are built by one rule, :func:`make_key`: the first author's surname (or the first word of
an organisation's name), the year, and the first significant word of the title, lower-case ASCII
(``williams2009roofline``). :func:`work_from_source` applies the same rule to a Source that was typed
without a Work (registry entries), so the same publication gets the same key either way.

This module is engine-level data: it imports nothing but :mod:`mlsysim.core.sources`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .errors import SourceError
from .sources import Source

#: BibTeX entry types a Work may have
ENTRY_TYPES = ("article", "inproceedings", "book", "techreport", "manual", "misc")

#: default BibTeX entry type of each Source kind (a Work may say otherwise, e.g. a paper in a journal)
ENTRY_TYPE_OF_KIND = {"paper": "misc", "report": "techreport", "datasheet": "manual", "standard": "misc",
                      "benchmark": "misc", "measurement": "misc", "secondary": "misc"}

#: Source kinds that cite no published work (mlsysim's own derivation, assumption or fitted parameter)
NO_WORK_KINDS = ("derived", "assumption", "fit")

#: words never used as the title word of a key
STOPWORDS = frozenset(["a", "an", "and", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
                       "with", "via"])


def _ascii_letters(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text`` (accents dropped: ``Hölzle`` -> ``holzle``)."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", norm.lower())


def title_words(title: str) -> list[str]:
    """Words of a title for a key, in order: lower-case ASCII, stopwords and bare numbers dropped."""
    words = [_ascii_letters(w) for w in re.split(r"[\s\-/:,;.()'\"_]+", title)]
    return [w for w in words if w and w not in STOPWORDS and not w.isdigit()]


def make_key(name: str, year: int | None, title: str, words: int = 1) -> str:
    """``<name><year><title word(s)>``: ``make_key("Williams", 2009, "Roofline: An ...")`` is
    ``williams2009roofline``.

    The title part starts at the first significant word of at least three letters that is not the name
    itself (``"40 Gb/s and 100 Gb/s Ethernet"`` gives ``ethernet``) and takes ``words`` words from there.

    Parameters
    ----------
    name : str
        First author's surname, or an organisation's short name [text].
    year : int or None
        Year of publication (omitted from the key when None).
    title : str
        Title of the work.
    words : int
        How many title words to use (more than one only to tell apart two works with the same first word).
    """
    stem = _ascii_letters(name)
    if not stem:
        raise SourceError(f"cannot build a bibliography key: no letters in the author name {name!r}")
    tw = [w for w in title_words(title) if w != stem]
    start = next((i for i, w in enumerate(tw) if len(w) >= 3), 0)
    return f"{stem}{year or ''}{''.join(tw[start:start + max(1, words)])}"


@dataclass(frozen=True)
class Work:
    """One cited publication.

    Parameters
    ----------
    authors : tuple of str
        Authors as printed ("S. Williams"), in order; for an organisation, its name alone.
    year : int
        Year of publication.
    title : str
        Title, as published.
    kind : str
        Source kind of every citation of the work (``paper``, ``report``, ``datasheet``, ``standard``,
        ``benchmark``).
    entry_type : str, optional
        BibTeX entry type (``article``, ``inproceedings``, ``book``, ``techreport``, ``manual``, ``misc``);
        default from ``kind`` (:data:`ENTRY_TYPE_OF_KIND`).
    venue : str, optional
        Journal (article), proceedings (inproceedings), institution (techreport), series or publisher's note.
    publisher : str, optional
    volume, number, pages, edition : str, optional
    url, doi, arxiv : str, optional
        Identifiers: a URL, a DOI (``10.1145/...``), an arXiv id (``2104.04473``). Never fetched.
    et_al : bool
        ``authors`` lists only the first authors (BibTeX ``and others``).
    organization : bool
        ``authors`` is one organisation (BibTeX braces it, the key uses ``short_name``).
    short_name : str, optional
        Name used in the key (default: the first author's surname, or the organisation's first word).
    """

    authors: tuple
    year: int
    title: str
    kind: str
    entry_type: str = ""
    venue: str = ""
    publisher: str = ""
    volume: str = ""
    number: str = ""
    pages: str = ""
    edition: str = ""
    url: str = ""
    doi: str = ""
    arxiv: str = ""
    et_al: bool = False
    organization: bool = False
    short_name: str = ""
    note: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        if isinstance(self.authors, str):
            object.__setattr__(self, "authors", (self.authors,))
        if not self.authors or not all(isinstance(a, str) and a.strip() for a in self.authors):
            raise SourceError(f"Work {self.title!r}: authors must be a non-empty tuple of names")
        if self.kind not in ENTRY_TYPE_OF_KIND:
            raise SourceError(f"Work {self.title!r}: kind must be one of {tuple(ENTRY_TYPE_OF_KIND)}; "
                              f"got {self.kind!r}")
        if not self.entry_type:
            object.__setattr__(self, "entry_type", ENTRY_TYPE_OF_KIND[self.kind])
        if self.entry_type not in ENTRY_TYPES:
            raise SourceError(f"Work {self.title!r}: entry_type must be one of {ENTRY_TYPES}; got {self.entry_type!r}")
        if not (1900 <= int(self.year) <= 2100):
            raise SourceError(f"Work {self.title!r}: year out of range: {self.year!r}")
        if not self.key:
            object.__setattr__(self, "key", make_key(self.name_for_key, self.year, self.title))

    @property
    def name_for_key(self) -> str:
        if self.short_name:
            return self.short_name
        first = self.authors[0]
        if self.organization:
            words = [w for w in re.split(r"[\s/]+", first) if w.lower() != "the"]
            return words[0] if words else first
        return first.split()[-1]

    @property
    def identifier(self) -> str:
        """A normalised identifier (``arxiv:2104.04473``, ``doi:10.1145/...``), or ``""``."""
        if self.arxiv:
            return f"arxiv:{self.arxiv.lower()}"
        if self.doi:
            return f"doi:{self.doi.lower()}"
        return ""

    @property
    def citation(self) -> str:
        """The human-readable citation of :attr:`Source.citation`: authors, 'title', venue."""
        names = ", ".join(self.authors) + (" et al." if self.et_al else "")
        s = f"{names}, '{self.title}'"
        if self.edition:
            s += f", {self.edition} ed."
        venue = self.venue
        if venue:
            if self.volume:
                venue += f" {self.volume}" + (f"({self.number})" if self.number else "")
            if self.pages:
                venue += f", {self.pages}"
            s += f", {venue}"
        if self.publisher:
            s += f", {self.publisher}"
        return s

    @property
    def link(self) -> str:
        """The :attr:`Source.url` form: ``doi:...``, ``arXiv:...`` or the URL."""
        if self.doi:
            return f"doi:{self.doi}"
        if self.arxiv:
            return f"arXiv:{self.arxiv}"
        return self.url


#: every Work defined in this module, by key (filled by :func:`_work`)
WORKS: dict[str, Work] = {}
_BY_CITATION: dict[tuple, Work] = {}


def _work(**kw) -> Work:
    w = Work(**kw)
    if w.key in WORKS:
        raise SourceError(f"two Works have the bibliography key {w.key!r}: {WORKS[w.key].title!r} and {w.title!r}")
    WORKS[w.key] = w
    _BY_CITATION[(w.citation, w.year)] = w
    return w


def cite(work: Work, locator: str = "") -> Source:
    """A :class:`Source` citing ``work`` at ``locator`` (section, table, equation, page).

    ``cite(WILLIAMS_2009, "Eq. 1, Fig. 1")``. The Source is built with the usual rules (a year is required,
    the kind must be known); :func:`work_of` maps it back to ``work`` for the bibliography.
    """
    if not isinstance(work, Work):
        raise SourceError(f"cite() needs a Work from mlsysim.core.references; got {work!r}")
    return Source(work.citation, kind=work.kind, year=work.year, locator=locator, url=work.link)


# ---------------------------------------------------------------------------------------- the works

WILLIAMS_2009 = _work(
    authors=("S. Williams", "A. Waterman", "D. Patterson"), year=2009, kind="paper", entry_type="article",
    title="Roofline: An Insightful Visual Performance Model for Multicore Architectures",
    venue="Communications of the ACM", volume="52", number="4", pages="65-76", doi="10.1145/1498765.1498785")
HENNESSY_PATTERSON_2017 = _work(
    authors=("J. L. Hennessy", "D. A. Patterson"), year=2017, kind="paper", entry_type="book",
    title="Computer Architecture: A Quantitative Approach", edition="6th", publisher="Morgan Kaufmann")
PATTERSON_2021 = _work(
    authors=("D. Patterson", "J. Gonzalez", "Q. Le", "C. Liang", "L.-M. Munguia", "D. Rothchild", "D. So",
             "M. Texier", "J. Dean"), year=2021, kind="paper",
    title="Carbon Emissions and Large Neural Network Training", arxiv="2104.10350")
ISO_30134_2 = _work(
    authors=("ISO/IEC",), organization=True, short_name="ISO", year=2016, kind="standard",
    title="Information technology - Data centres - Key performance indicators - Part 2: Power usage "
          "effectiveness (PUE)", venue="ISO/IEC 30134-2")
GREEN_GRID_2011 = _work(
    authors=("The Green Grid",), organization=True, short_name="GreenGrid", year=2011, kind="report",
    title="Water Usage Effectiveness (WUE): A Green Grid Data Center Sustainability Metric",
    venue="White Paper #35", number="35")
LI_2023 = _work(
    authors=("P. Li", "J. Yang", "M. A. Islam", "S. Ren"), year=2023, kind="paper",
    title="Making AI Less \"Thirsty\": Uncovering and Addressing the Secret Water Footprint of AI Models",
    arxiv="2304.03271")
LUCCIONI_2022 = _work(
    authors=("A. S. Luccioni", "S. Viguier", "A.-L. Ligozat"), year=2022, kind="paper",
    title="Estimating the Carbon Footprint of BLOOM, a 176B Parameter Language Model", arxiv="2211.02001")
HOCKNEY_1994 = _work(
    authors=("R. W. Hockney",), year=1994, kind="paper", entry_type="article",
    title="The communication challenge for MPP: Intel Paragon and Meiko CS-2", venue="Parallel Computing",
    volume="20", number="3", pages="389-398", doi="10.1016/S0167-8191(06)80021-9")
THAKUR_2005 = _work(
    authors=("R. Thakur", "R. Rabenseifner", "W. Gropp"), year=2005, kind="paper", entry_type="article",
    title="Optimization of Collective Communication Operations in MPICH",
    venue="International Journal of High Performance Computing Applications", volume="19", number="1",
    pages="49-66", doi="10.1177/1094342005051521")
PATARASUK_YUAN_2009 = _work(
    authors=("P. Patarasuk", "X. Yuan"), year=2009, kind="paper", entry_type="article",
    title="Bandwidth optimal all-reduce algorithms for clusters of workstations",
    venue="Journal of Parallel and Distributed Computing", volume="69", number="2", pages="117-124",
    doi="10.1016/j.jpdc.2008.09.002")
SANDERS_2009 = _work(
    authors=("P. Sanders", "J. Speck", "J. L. Traff"), year=2009, kind="paper", entry_type="article",
    title="Two-tree algorithms for full bandwidth broadcast, reduction and scan", venue="Parallel Computing",
    volume="35", number="12", pages="581-594", doi="10.1016/j.parco.2009.09.001")
JIA_2018 = _work(
    authors=("X. Jia",), et_al=True, year=2018, kind="paper",
    title="Highly Scalable Deep Learning Training System with Mixed-Precision: Training ImageNet in Four Minutes",
    arxiv="1807.11205")
NARAYANAN_2021 = _work(
    authors=("D. Narayanan",), et_al=True, year=2021, kind="paper", entry_type="inproceedings",
    title="Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM",
    venue="SC21: International Conference for High Performance Computing, Networking, Storage and Analysis",
    arxiv="2104.04473")
DUBEY_2024 = _work(
    authors=("A. Dubey",), et_al=True, year=2024, kind="paper", title="The Llama 3 Herd of Models",
    arxiv="2407.21783")
KORTHIKANTI_2022 = _work(
    authors=("V. Korthikanti",), et_al=True, year=2022, kind="paper",
    title="Reducing Activation Recomputation in Large Transformer Models", arxiv="2205.05198")
RAJBHANDARI_2020 = _work(
    authors=("S. Rajbhandari", "J. Rasley", "O. Ruwase", "Y. He"), year=2020, kind="paper",
    entry_type="inproceedings", title="ZeRO: Memory Optimizations Toward Training Trillion Parameter Models",
    venue="SC20: International Conference for High Performance Computing, Networking, Storage and Analysis",
    arxiv="1910.02054")
CHOWDHERY_2022 = _work(
    authors=("A. Chowdhery",), et_al=True, year=2022, kind="paper",
    title="PaLM: Scaling Language Modeling with Pathways", arxiv="2204.02311")
POPE_2023 = _work(
    authors=("R. Pope",), et_al=True, year=2023, kind="paper", entry_type="inproceedings",
    title="Efficiently Scaling Transformer Inference", venue="Proceedings of Machine Learning and Systems (MLSys)",
    arxiv="2211.05102")
SHOEYBI_2019 = _work(
    authors=("M. Shoeybi",), et_al=True, year=2019, kind="paper",
    title="Megatron-LM: Training Multi-Billion Parameter Language Models Using Model Parallelism",
    arxiv="1909.08053")
BARROSO_2018 = _work(
    authors=("L. A. Barroso", "U. Hoelzle", "P. Ranganathan"), year=2018, kind="paper", entry_type="book",
    title="The Datacenter as a Computer: Designing Warehouse-Scale Machines", edition="3rd",
    venue="Synthesis Lectures on Computer Architecture", publisher="Morgan & Claypool")
VASWANI_2017 = _work(
    authors=("A. Vaswani",), et_al=True, year=2017, kind="paper", entry_type="inproceedings",
    title="Attention Is All You Need", venue="Advances in Neural Information Processing Systems (NeurIPS)",
    arxiv="1706.03762")
KAPLAN_2020 = _work(
    authors=("J. Kaplan",), et_al=True, year=2020, kind="paper", title="Scaling Laws for Neural Language Models",
    arxiv="2001.08361")
HOFFMANN_2022 = _work(
    authors=("J. Hoffmann",), et_al=True, year=2022, kind="paper",
    title="Training Compute-Optimal Large Language Models", arxiv="2203.15556")
KWON_2023 = _work(
    authors=("W. Kwon",), et_al=True, year=2023, kind="paper", entry_type="inproceedings",
    title="Efficient Memory Management for Large Language Model Serving with PagedAttention",
    venue="Proceedings of the 29th Symposium on Operating Systems Principles (SOSP)", arxiv="2309.06180")

KLEINROCK_1975 = _work(
    authors=("L. Kleinrock",), year=1975, kind="paper", entry_type="book",
    title="Queueing Systems, Volume 1: Theory", publisher="Wiley")
HARCHOL_BALTER_2013 = _work(
    authors=("M. Harchol-Balter",), year=2013, kind="paper", entry_type="book",
    title="Performance Modeling and Design of Computer Systems: Queueing Theory in Action",
    publisher="Cambridge University Press")
YOUNG_1974 = _work(
    authors=("J. W. Young",), year=1974, kind="paper", entry_type="article",
    title="A first order approximation to the optimum checkpoint interval", venue="Communications of the ACM",
    volume="17", number="9", pages="530-531", doi="10.1145/361147.361115")
DALY_2006 = _work(
    authors=("J. T. Daly",), year=2006, kind="paper", entry_type="article",
    title="A higher order estimate of the optimum checkpoint interval for restart dumps",
    venue="Future Generation Computer Systems", volume="22", number="3", pages="303-312",
    doi="10.1016/j.future.2004.11.016")
YU_2022 = _work(
    authors=("G.-I. Yu",), et_al=True, year=2022, kind="paper", entry_type="inproceedings",
    title="Orca: A Distributed Serving System for Transformer-Based Generative Models",
    venue="16th USENIX Symposium on Operating Systems Design and Implementation (OSDI)")
AGRAWAL_2024 = _work(
    authors=("A. Agrawal",), et_al=True, year=2024, kind="paper", entry_type="inproceedings",
    title="Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve",
    venue="18th USENIX Symposium on Operating Systems Design and Implementation (OSDI)", arxiv="2403.02310")
ZHONG_2024 = _work(
    authors=("Y. Zhong",), et_al=True, year=2024, kind="paper", entry_type="inproceedings",
    title="DistServe: Disaggregating Prefill and Decoding for Goodput-optimized Large Language Model Serving",
    venue="18th USENIX Symposium on Operating Systems Design and Implementation (OSDI)", arxiv="2401.09670")
PATEL_2024 = _work(
    authors=("P. Patel",), et_al=True, year=2024, kind="paper", entry_type="inproceedings",
    title="Splitwise: Efficient Generative LLM Inference Using Phase Splitting",
    venue="51st Annual International Symposium on Computer Architecture (ISCA)", arxiv="2311.18677")
LEVIATHAN_2023 = _work(
    authors=("Y. Leviathan", "M. Kalman", "Y. Matias"), year=2023, kind="paper", entry_type="inproceedings",
    title="Fast Inference from Transformers via Speculative Decoding",
    venue="40th International Conference on Machine Learning (ICML)", arxiv="2211.17192")

IEEE_754_2019 = _work(
    authors=("IEEE",), organization=True, year=2019, kind="standard",
    title="IEEE Standard for Floating-Point Arithmetic", venue="IEEE Std 754-2019")
OCP_FP8_2023 = _work(
    authors=("Open Compute Project",), organization=True, short_name="OCP", year=2023, kind="standard",
    title="OCP 8-bit Floating Point Specification (OFP8)")
OCP_MX_2023 = _work(
    authors=("Open Compute Project",), organization=True, short_name="OCP", year=2023, kind="standard",
    title="OCP Microscaling Formats (MX) Specification v1.0")
INTEL_BF16_2018 = _work(
    authors=("Intel",), organization=True, year=2018, kind="standard",
    title="BFLOAT16 - Hardware Numerics Definition", venue="document 338302-001US")
NVIDIA_A100_ARCH_2020 = _work(
    authors=("NVIDIA",), organization=True, year=2020, kind="datasheet",
    title="NVIDIA A100 Tensor Core GPU Architecture", venue="whitepaper",
    url="https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/nvidia-ampere-architecture-whitepaper.pdf")
JACOB_2018 = _work(
    authors=("B. Jacob",), et_al=True, year=2018, kind="paper", entry_type="inproceedings",
    title="Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference",
    venue="IEEE Conference on Computer Vision and Pattern Recognition (CVPR)", arxiv="1712.05877")

# ---------------------------------------------------------------------------------------- Source -> Work

_ARXIV = re.compile(r"(?:arxiv[:\s]*|arxiv\.org/(?:abs|pdf)/)(\d{4}\.\d{4,5})", re.IGNORECASE)
_DOI = re.compile(r"(?:doi[:\s]*|doi\.org/)(10\.\d{4,9}/[^\s;,]+)", re.IGNORECASE)
_HTTP = re.compile(r"https?://[^\s;,)]+")
_INITIALS = r"(?:[A-Z][a-z]?\.(?:-[A-Z][a-z]?\.)?\s*)"
_SURNAME = r"[A-Z][\w'\-]+"
#: "D. Patterson", "L.-M. Munguia", "A. Dubey et al.", "Patterson et al." (a bare word is an organisation)
_PERSON = re.compile(rf"^(?:{_INITIALS}+{_SURNAME}(?:\s+et al\.?)?|{_SURNAME}\s+et al\.?)$")


def identifiers(source: Source) -> dict:
    """arXiv id, DOI and http(s) URL found in a Source's ``url`` and ``citation`` (each ``""`` if none)."""
    text = f"{source.url} {source.citation}"
    ax = _ARXIV.search(text)
    doi = _DOI.search(text)
    http = _HTTP.search(source.url or "")
    return {"arxiv": ax.group(1) if ax else "", "doi": doi.group(1).rstrip(".") if doi else "",
            "url": http.group(0).rstrip(".") if http else ""}


def _top_level_commas(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for c in text:
        depth += (c == "(") - (c == ")")
        if c == "," and depth <= 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _split_citation(citation: str) -> tuple[str, str, str]:
    """``(author text, title, rest)`` of a free-text citation ``Authors, 'Title', rest``.

    The title is the first quoted text outside parentheses. Without one, the first comma-separated part
    (commas inside parentheses do not count) is the author, the second the title, the others the rest.
    """
    for m in re.finditer(r"(?:^|(?<=[\s(]))'(.+?)'(?=[\s,;)]|$)", citation):
        before = citation[:m.start()]
        if m.start() > 0 and before.count("(") == before.count(")"):
            author = before.strip().rstrip(",").strip()
            return author, m.group(1).strip(), citation[m.end():].strip(" ,;")
    parts = _top_level_commas(citation)
    if len(parts) == 1:
        return parts[0], parts[0], ""
    return parts[0], parts[1], ", ".join(parts[2:])


def _authors_of(author_text: str) -> tuple[tuple, bool, bool]:
    """``(authors, et_al, organization)`` from the author part of a free-text citation."""
    text = re.sub(r"\s*\([^)]*\)", "", author_text).strip()  # "A. Dubey et al. (Meta)" -> "A. Dubey et al."
    first = text.split(";")[0].strip()
    parts = [p.strip() for p in first.split(",") if p.strip()]
    parts = [re.sub(r"\s*&\s*", ", ", p) for p in parts]
    parts = [q.strip() for p in parts for q in p.split(",") if q.strip()]
    if parts and all(_PERSON.match(p) for p in parts):
        et_al = parts[-1].endswith("et al.") or parts[-1].endswith("et al")
        names = tuple(re.sub(r"\s+et al\.?$", "", p) for p in parts)
        return names, et_al, False
    # "Strubell, Ganesh & McCallum": surnames alone
    if parts and all(re.fullmatch(r"[A-Z][\w'\-]+", p) for p in parts) and len(parts) > 1:
        return tuple(parts), False, False
    return (parts[0] if parts else text,), False, True


def work_of(source: Source) -> Work | None:
    """The :class:`Work` a Source cites: the registered one for a :func:`cite` Source, else parsed from
    the citation text (:func:`work_from_source`); ``None`` for the kinds in :data:`NO_WORK_KINDS`."""
    if source.kind in NO_WORK_KINDS or source.year is None:
        return None  # mlsysim's own reasoning, or an undated document: cited inline, not in the bibliography
    w = _BY_CITATION.get((source.citation, source.year))
    return w if w is not None else work_from_source(source)


def work_from_source(source: Source) -> Work:
    """A :class:`Work` read from a Source typed as free text (``Authors, 'Title', venue``).

    The key follows :func:`make_key`, so a registry's spelling of a work gets the key of the Work defined here
    when author, year and title word agree; an arXiv id or DOI in the text is kept as an identifier.
    """
    if source.kind in NO_WORK_KINDS:
        raise SourceError(f"a {source.kind} Source cites no work: {source.citation!r}")
    if source.year is None:
        raise SourceError(f"an undated Source is no bibliography entry: {source.citation!r}")
    author_text, title, rest = _split_citation(source.citation)
    authors, et_al, org = _authors_of(author_text)
    paren = re.search(r"\(([^()]*)\)\s*$", author_text)
    publisher = paren.group(1).strip() if (paren and not org) else ""
    ids = identifiers(source)
    note = rest
    for pat in (_ARXIV, _DOI):
        note = pat.sub("", note)
    note = re.sub(r"\s+", " ", note).strip(" ,;")
    return Work(authors=authors, year=source.year, title=title, kind=source.kind, et_al=et_al, organization=org,
                publisher=publisher, arxiv=ids["arxiv"], doi=ids["doi"], url=ids["url"], note=note)
