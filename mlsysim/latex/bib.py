"""``references.bib``: one BibTeX entry per cited work, built from every Source that exists now.

Nothing here is a hand list. :func:`collect_sources` walks the equation sets, the default assumptions, the
precision table and every registry (hardware, infrastructure, models, fabrics, systems, applications);
:class:`Bibliography` maps each Source to its :class:`~mlsysim.core.references.Work` (the registered Work
for a :func:`~mlsysim.core.references.cite` Source, else one read from the citation text), merges the
spellings of one work (same arXiv id or DOI, or same author, year and title), and gives each work one key
(:func:`~mlsysim.core.references.make_key`; two different works with the same key get more title words).

:func:`cite_tex` renders a use of a Source: ``\\cite[locator]{key}`` with a bibliography, the inline
citation text without one (``--inline-sources``), the plain text for ``derived``/``assumption`` Sources.
"""
from __future__ import annotations

import re
from dataclasses import replace

from ..core.references import NO_WORK_KINDS, WORKS, Work, make_key, title_words, work_of
from ..core.sources import Source
from .render import TeX, escape_latex

#: Source kinds whose ``note`` (how, why, which caveat) is printed with their inline text
NOTE_KINDS = ("derived", "assumption", "fit", "secondary")


# ------------------------------------------------------------------------------------ collecting Sources

def _sources_of(obj):
    """Every Source attached to a registry entry (sourced fields, a ``source`` attribute)."""
    out = []
    fields = getattr(obj, "sourced_fields", None)
    if callable(fields):
        for s in fields().values():
            out.append(s.source)
    src = getattr(obj, "source", None)
    if isinstance(src, Source):
        out.append(src)
    return out


def collect_sources() -> list[tuple[str, Source]]:
    """``(where, Source)`` of every Source of the equation sets, defaults and registries, in a stable order."""
    import mlsysim

    from ..core import defaults
    from ..core.assumptions import Assumption
    from ..core.equation_sets import Equations
    from ..core.precision import PRECISIONS

    out: list[tuple[str, Source]] = []
    for name in Equations:
        for eq in Equations[name].equations.values():
            out.append((f"Equations.{name}.{eq.key}", eq.source))
    for name, value in vars(defaults).items():
        if isinstance(value, Assumption):
            out.append((f"defaults.{name}", value.source))
    for p, (_b, src) in PRECISIONS.items():
        out.append((f"precision.{p}", src))
    for reg_name in ("Hardware", "Infra", "Models", "Fabrics", "Systems", "Applications"):
        reg = getattr(mlsysim, reg_name, None)
        if reg is None:
            continue
        for entry_name in reg.names():
            for src in _sources_of(reg.get(entry_name)):
                out.append((f"{reg_name}.{entry_name}", src))
    return out


# ------------------------------------------------------------------------------------ the bibliography

def _norm_title(w: Work) -> str:
    return " ".join(title_words(w.title))


def _richness(w: Work) -> int:
    return sum(bool(getattr(w, f)) for f in ("venue", "publisher", "volume", "pages", "url", "doi", "arxiv"))


class Bibliography:
    """The works cited by a set of Sources, each once, with unique keys.

    Parameters
    ----------
    sources : iterable of Source
        Sources to cover (``derived`` and ``assumption`` ones cite no work and are skipped).
    """

    def __init__(self, sources):
        works: list[Work] = []
        self._work_index: dict[int, int] = {}  # id(Source) -> index in works (before merging)
        by_source: dict[Source, int] = {}
        for src in sources:
            if src in by_source:
                continue
            w = work_of(src)
            if w is None:
                continue
            by_source[src] = len(works)
            works.append(w)
        # merge spellings of one work: same identifier, or same (name, year, title words)
        parent = list(range(len(works)))

        def find(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        seen: dict[tuple, int] = {}
        for i, w in enumerate(works):
            for k in ((w.identifier,) if w.identifier else ()) + ((w.name_for_key.lower(), w.year, _norm_title(w)),):
                if k in seen:
                    parent[find(i)] = find(seen[k])
                else:
                    seen[k] = i
        groups: dict[int, list[int]] = {}
        for i in range(len(works)):
            groups.setdefault(find(i), []).append(i)
        registered = set(WORKS.values())
        chosen = []
        for members in groups.values():
            ws = [works[i] for i in members]
            best = next((w for w in ws if w in registered), None) or max(ws, key=_richness)
            chosen.append((best, members))
        # keys: registered Works keep theirs; other collisions get more title words until unique
        self.works: dict[str, Work] = {}
        taken = {w.key for w, _m in chosen if w in registered}
        pending = [(w, m) for w, m in chosen if w not in registered]
        final: dict[int, str] = {}
        for w, members in chosen:
            if w in registered:
                for i in members:
                    final[i] = w.key
        n = 1
        while pending:
            bases: dict[str, list] = {}
            for w, members in pending:
                bases.setdefault(make_key(w.name_for_key, w.year, w.title, words=n), []).append((w, members))
            still = []
            for key, group in bases.items():
                if len(group) == 1 and key not in taken:
                    w, members = group[0]
                    taken.add(key)
                    for i in members:
                        final[i] = key
                    group[0] = (replace(w, key=key), members)
                    chosen_w = group[0][0]
                    self.works[key] = chosen_w
                elif n > 12:  # identical titles, different works: number them (never reached by today's data)
                    for j, (w, members) in enumerate(group):
                        k2 = f"{key}{chr(ord('a') + j)}"
                        taken.add(k2)
                        for i in members:
                            final[i] = k2
                        self.works[k2] = replace(w, key=k2)
                else:
                    still.extend(group)
            pending = still
            n += 1
        for w, _m in chosen:
            if w in registered:
                self.works[w.key] = w
        self.works = dict(sorted(self.works.items()))
        self._key_of: dict[Source, str] = {src: final[i] for src, i in by_source.items()}

    @classmethod
    def of_everything(cls) -> Bibliography:
        """The bibliography of every Source that exists now (:func:`collect_sources`)."""
        return cls(src for _where, src in collect_sources())

    def key_of(self, source: Source) -> str | None:
        """The key of the work ``source`` cites, or None (``derived``/``assumption``, or not covered)."""
        key = self._key_of.get(source)
        if key is None and source.kind not in NO_WORK_KINDS:
            w = work_of(source)
            for k, other in self.works.items():  # the same work cited with another locator
                if (w.identifier and w.identifier == other.identifier) or (
                        w.name_for_key.lower(), w.year, _norm_title(w)) == (
                        other.name_for_key.lower(), other.year, _norm_title(other)):
                    key = k
                    break
        return key

    def __len__(self):
        return len(self.works)

    def __contains__(self, key):
        return key in self.works

    def bibtex(self, keys=None) -> str:
        """The text of ``references.bib`` (every work, or only ``keys``), sorted by key."""
        from .. import __version__

        head = (f"% Generated by mlsysim {__version__} (mlsysim.latex.bib) from every Source of the equation sets, "
                "defaults and registries.\n% Do not edit by hand: regenerate with "
                "`python -m mlsysim latex --out equations/`.\n")
        chosen = [k for k in self.works if keys is None or k in keys]
        return head + "\n" + "\n".join(bibtex_entry(self.works[k]) for k in chosen)


# ------------------------------------------------------------------------------------ BibTeX text

def _field_text(text: str) -> str:
    """A BibTeX field value in LaTeX text (special characters escaped; ``--`` for page ranges added by caller)."""
    return str(escape_latex(text))


def _url_text(url: str) -> str:
    return url.replace("%", r"\%").replace("#", r"\#")


def _author_field(w: Work) -> str:
    if w.organization:
        return "{" + _field_text(w.authors[0]) + "}"
    names = [_field_text(a) for a in w.authors]
    if w.et_al:
        names.append("others")
    return " and ".join(names)


def bibtex_entry(w: Work) -> str:
    """One ``@type{key, ...}`` entry; the entry type follows the Work's ``entry_type`` (from its kind)."""
    f: list[tuple[str, str]] = [("author", _author_field(w)), ("title", "{" + _field_text(w.title) + "}")]
    venue = _field_text(w.venue) if w.venue else ""
    t = w.entry_type
    institution = w.authors[0] if w.organization else (w.publisher or w.venue)
    if t == "techreport" and not institution:
        t = "misc"  # BibTeX's techreport needs an institution; a report whose publisher is not known is misc
    if t == "article":
        f.append(("journal", venue))
    elif t == "inproceedings":
        f.append(("booktitle", venue))
    elif t == "book":
        if venue:
            f.append(("series", venue))
        f.append(("publisher", _field_text(w.publisher)))
    elif t == "techreport":
        inst = institution
        f.append(("institution", _field_text(inst)))
        if w.venue and w.venue != inst:
            f.append(("type", _field_text(re.sub(r"\s*#?\d+$", "", w.venue))))
    elif t == "manual":
        if w.organization:
            f.append(("organization", _field_text(w.authors[0])))
        if venue:
            f.append(("note", venue))
    else:  # misc
        how = venue or (f"arXiv preprint arXiv:{w.arxiv}" if w.arxiv else "")
        if how:
            f.append(("howpublished", how))
    for name in ("volume", "number", "edition"):
        v = getattr(w, name)
        if v:
            f.append((name, _field_text(v)))
    if w.pages:
        f.append(("pages", _field_text(w.pages).replace("-", "--")))
    f.append(("year", str(w.year)))
    if w.note and not any(n == "note" for n, _ in f):
        f.append(("note", _field_text(w.note)))
    if w.doi:
        f.append(("doi", _url_text(w.doi)))
    if w.arxiv:
        f.extend([("eprint", w.arxiv), ("archiveprefix", "arXiv")])
    url = w.url or (f"https://arxiv.org/abs/{w.arxiv}" if w.arxiv else "")
    if url:
        f.append(("url", _url_text(url)))
    body = ",\n".join(f"  {n} = {{{v}}}" for n, v in f if v)
    return f"@{t}{{{w.key},\n{body}\n}}\n"


# ------------------------------------------------------------------------------------ citing

def cite_tex(source: Source, bib: Bibliography | None) -> TeX:
    """How a fragment cites ``source``: ``\\cite[locator]{key}`` with ``bib``; inline text otherwise.

    ``derived`` and ``assumption`` Sources cite no work: their text (and reasoning) stays inline.
    """
    key = bib.key_of(source) if bib is not None else None
    if key is None:
        return inline_tex(source)
    flag = " (secondary source)" if source.kind == "secondary" else ""  # not the value's primary document
    if source.locator:
        # brackets inside the optional argument would end it early (natbib reads "[L/kWh]" as a citation)
        loc = escape_latex(source.locator).replace("[", "{[}").replace("]", "{]}")
        return TeX(rf"\cite[{{{loc}}}]{{{key}}}{flag}")
    return TeX(rf"\cite{{{key}}}{flag}")


def inline_tex(source: Source) -> TeX:
    """The inline citation text of a Source (today's ``--inline-sources`` form)."""
    s = escape_latex(source.citation)
    if source.year:
        s += f", {source.year}"
    if source.locator:
        s += "; " + escape_latex(source.locator)
    if source.kind in NOTE_KINDS:
        s += f" ({source.kind}: " + escape_latex(source.note) + ")"
    return TeX(s)
