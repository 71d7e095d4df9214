"""The textbook's toolchain: references.bib, values.tex, Quarto pages, chapter bundles, real rendering.

Expected keys follow the documented rule (surname + year + first title word) worked by hand; expected
numbers are datasheet values or hand calculations written in the test.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import mlsysim
from mlsysim.core.errors import SourceError, UnknownNameError
from mlsysim.core.references import (
    NARAYANAN_2021,
    PATTERSON_2021,
    SHOEYBI_2019,
    WORKS,
    Work,
    cite,
    make_key,
    work_from_source,
    work_of,
)
from mlsysim.core.sources import Source
from mlsysim.latex import render_files
from mlsysim.latex.bib import Bibliography, bibtex_entry, collect_sources
from mlsysim.latex.chapters import CHAPTERS
from mlsysim.latex.values import (
    CONTROL_WORD,
    ValueMacro,
    camel,
    check_names,
    macro_name,
    number_words,
)

REPO = Path(__file__).resolve().parents[2]
CITE_TEX = re.compile(r"\\cite(?:\[\{.*?\}\])?\{([^}]+)\}")
CITE_MD = re.compile(r"\[@([A-Za-z0-9_:-]+)")
BIB_KEY = re.compile(r"^@(\w+)\{([^,]+),", re.MULTILINE)


@pytest.fixture(scope="module")
def bib():
    return Bibliography.of_everything()


@pytest.fixture(scope="module")
def tex_files():
    return render_files()


@pytest.fixture(scope="module")
def qmd_files():
    return render_files(fmt="qmd")


def _tool(name):
    exe = shutil.which(name)
    if exe is None:
        if os.environ.get("MLSYSIM_REQUIRE_LATEX") == "1":
            pytest.fail(f"MLSYSIM_REQUIRE_LATEX=1 but {name} is not installed (README: install)")
        pytest.skip(f"{name} not installed (set MLSYSIM_REQUIRE_LATEX=1 to make this a failure)")
    return exe


# ----------------------------------------------------------------------------------- references module

@pytest.mark.parametrize("name, year, title, words, key", [
    ("Williams", 2009, "Roofline: An Insightful Visual Performance Model for Multicore Architectures", 1,
     "williams2009roofline"),
    ("Narayanan", 2021, "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM", 1,
     "narayanan2021efficient"),
    ("IEEE", 2010, "40 Gb/s and 100 Gb/s Ethernet", 1, "ieee2010ethernet"),  # numbers and 2-letter words skipped
    ("Google", 2023, "TPU v4", 2, "google2023tpuv4"),  # a second word tells two TPU pages apart
    ("Hoelzle", 2018, "The Datacenter as a Computer", 1, "hoelzle2018datacenter"),  # stopword "The" skipped
])
def test_make_key(name, year, title, words, key):
    assert make_key(name, year, title, words=words) == key


def test_work_keys_follow_the_rule():
    assert NARAYANAN_2021.key == "narayanan2021efficient"
    assert PATTERSON_2021.key == "patterson2021carbon"
    assert SHOEYBI_2019.key == "shoeybi2019megatron"
    assert all(k == w.key for k, w in WORKS.items())


def test_cite_builds_a_source_that_maps_back_to_its_work():
    s = cite(NARAYANAN_2021, "Sec. 2.2")
    assert isinstance(s, Source) and s.kind == "paper" and s.year == 2021 and s.locator == "Sec. 2.2"
    assert s.url == "arXiv:2104.04473"
    assert work_of(s) is NARAYANAN_2021
    with pytest.raises(SourceError, match="Work"):
        cite("Narayanan 2021", "Sec. 2")


def test_work_refuses_bad_fields():
    with pytest.raises(SourceError, match="authors"):
        Work(authors=(), year=2020, title="t", kind="paper")
    with pytest.raises(SourceError, match="kind"):
        Work(authors=("A. B",), year=2020, title="t", kind="assumption")
    with pytest.raises(SourceError, match="entry_type"):
        Work(authors=("A. B",), year=2020, title="t", kind="paper", entry_type="thesis")


def test_free_text_sources_are_read_like_works():
    w = work_from_source(Source("D. Patterson et al., 'Carbon Emissions and Large Neural Network Training', "
                                "arXiv:2104.10350", kind="paper", year=2021, url="https://arxiv.org/abs/2104.10350"))
    assert (w.key, w.authors, w.et_al, w.arxiv) == ("patterson2021carbon", ("D. Patterson",), True, "2104.10350")
    org = work_from_source(Source("NVIDIA, 'NVIDIA H100 Tensor Core GPU Architecture' whitepaper v1.04",
                                  kind="datasheet", year=2022))
    assert org.organization and org.key == "nvidia2022h100" and org.entry_type == "manual"
    apostrophe = work_from_source(Source("E. Talpes et al., 'Compute Solution for Tesla's Full Self-Driving "
                                         "Computer', IEEE Micro 40(2)", kind="paper", year=2020))
    assert apostrophe.title == "Compute Solution for Tesla's Full Self-Driving Computer"
    assert work_of(Source("x model", kind="derived", note="because")) is None
    # a quote inside parentheses is not the title; commas inside parentheses do not split
    w = work_from_source(Source("Lacoste et al., ML CO2 Impact calculator, impact.csv (row a, b: source 'eGRID')",
                                kind="secondary", year=2019, url="arXiv:1910.09700", note="n"))
    assert (w.key, w.title, w.note) == ("lacoste2019co2", "ML CO2 Impact calculator",
                                        "impact.csv (row a, b: source 'eGRID')")
    # a report by people of an organisation: the organisation is the institution
    r = work_from_source(Source("A. Radford et al. (OpenAI), 'Language Models are Unsupervised Multitask "
                                "Learners'", kind="report", year=2019))
    assert "institution = {OpenAI}" in bibtex_entry(r) and bibtex_entry(r).startswith("@techreport{")
    nobody = work_from_source(Source("A. B. Author, 'A Report'", kind="report", year=2019))
    assert bibtex_entry(nobody).startswith("@misc{author2019report,")  # techreport needs an institution


def test_each_cited_work_is_one_entry(bib):
    """Narayanan 2021, Patterson 2021 (two URL spellings, three modules) and Shoeybi 2019: one entry each."""
    keys_by_title: dict = {}
    for _where, src in collect_sources():
        for title, key in (("Carbon Emissions and Large Neural Network Training", "patterson2021carbon"),
                           ("Efficient Large-Scale Language Model Training", "narayanan2021efficient"),
                           ("Megatron-LM: Training Multi-Billion", "shoeybi2019megatron")):
            if title in src.citation:
                keys_by_title.setdefault(title, set()).add(bib.key_of(src))
                assert bib.key_of(src) == key, src
    assert len(keys_by_title) == 3
    titles = [w.title for w in bib.works.values()]
    assert sum("Carbon Emissions and Large Neural Network Training" in t for t in titles) == 1
    assert sum("Training on GPU Clusters Using Megatron-LM" in t for t in titles) == 1


def test_engine_sources_spell_each_work_once(bib):
    """Within the equation sets, defaults and precisions, one work has one citation text (typed once)."""
    spellings: dict = {}
    for where, src in collect_sources():
        if where.startswith(("Equations.", "defaults.", "precision.")):
            key = bib.key_of(src)
            if key:
                spellings.setdefault(key, set()).add(src.citation)
    assert spellings and all(len(v) == 1 for v in spellings.values()), {k: v for k, v in spellings.items()
                                                                         if len(v) > 1}


def test_bibtex_entries_types_and_fields(bib):
    text = bib.bibtex()
    entries = BIB_KEY.findall(text)
    keys = [k for _t, k in entries]
    assert len(keys) == len(set(keys)) == len(bib)
    types = {k: t for t, k in entries}
    assert types["williams2009roofline"] == "article"
    assert types["narayanan2021efficient"] == "inproceedings"
    assert types["hennessy2017computer"] == "book"
    assert types["greengrid2011water"] == "techreport"
    assert types["nvidia2022h100"] == "manual"  # a datasheet/whitepaper
    assert types["kaplan2020scaling"] == "misc"  # an arXiv preprint
    williams = bibtex_entry(bib.works["williams2009roofline"])
    assert "doi = {10.1145/1498765.1498785}" in williams and "pages = {65--76}" in williams
    assert "author = {S. Williams and A. Waterman and D. Patterson}" in williams
    patterson = bibtex_entry(bib.works["patterson2021carbon"])
    assert "eprint = {2104.10350}" in patterson and "url = {https://arxiv.org/abs/2104.10350}" in patterson
    assert "and others" in bibtex_entry(bib.works["narayanan2021efficient"])
    assert "author = {{The Green Grid}}" in bibtex_entry(bib.works["greengrid2011water"])


def test_fragments_cite_only_keys_of_references_bib(tex_files):
    bibkeys = {k for _t, k in BIB_KEY.findall(tex_files["references.bib"])}
    cited = set()
    for name, text in tex_files.items():
        if name.endswith(".tex"):
            cited |= {k for group in CITE_TEX.findall(text) for k in group.split(",")}
    assert cited and cited <= bibkeys, sorted(cited - bibkeys)
    assert bibkeys <= cited, f"entries no file cites: {sorted(bibkeys - cited)}"
    assert r"\cite[{Eq. 1, Fig. 1}]{williams2009roofline}" in tex_files["roofline.tex"]


def test_inline_sources_keeps_todays_form():
    files = render_files(inline_sources=True)
    assert "references.bib" not in files
    assert not any(r"\cite" in t for t in files.values())
    assert "S. Williams, A. Waterman, D. Patterson, 'Roofline" in files["roofline.tex"].replace("\n", " ")
    assert r"\bibliography" not in files["all.tex"]
    qmd = render_files(inline_sources=True, fmt="qmd")
    assert "references.bib" not in qmd and not any("bibliography:" in t or "[@" in t for t in qmd.values())


# ----------------------------------------------------------------------------------- values.tex

@pytest.mark.parametrize("part, text", [("H100", "HOneHundred"), ("H100_PCIe", "HOneHundredPCIe"),
                                         ("peak_flops:bf16", "PeakFlopsBfSixteen"),
                                         ("Llama3_70B", "LlamaThreeSeventyB"),
                                         ("IndustryAverage2018", "IndustryAverageTwoThousandEighteen"),
                                         ("v0.5", "VZeroPointFive"), ("rev05", "RevZeroFive"), ("TPUv5p", "TPUvFiveP")])
def test_camel_spells_digits(part, text):
    assert camel(part) == text


def test_number_words():
    assert [number_words(n) for n in (0, 13, 40, 70, 100, 405, 1000, 2048)] == [
        "Zero", "Thirteen", "Forty", "Seventy", "OneHundred", "FourHundredFive", "OneThousand",
        "TwoThousandFortyEight"]


def test_macro_name_example_from_the_issue():
    assert macro_name("Hardware", "H100", "memory_bandwidth") == r"\mlsHardwareHOneHundredMemoryBandwidth"


def test_check_names_refuses_collisions_and_bad_names():
    a = ValueMacro(r"\mlsX", "1", "s", "A.x")
    with pytest.raises(mlsysim.MlsysimError, match="both"):
        check_names([a, ValueMacro(r"\mlsX", "2", "s", "B.x")])
    with pytest.raises(mlsysim.MlsysimError, match="control word"):
        check_names([ValueMacro(r"\mls1", "2", "s", "B.x")])


def test_values_tex_names_valid_unique_and_covering_the_registries(tex_files):
    text = tex_files["values.tex"]
    names = re.findall(r"^\\newcommand\{(\\[^}]*)\}", text, re.MULTILINE)
    assert len(names) == len(set(names)) and all(CONTROL_WORD.match(n) for n in names)
    values = [n for n in names if not n.startswith(r"\mlsSource")]
    assert {r"\mlsSource" + n[4:] for n in values} == set(names) - set(values)  # one companion each
    # at least one macro per numeric sourced registry field (counted here independently of values.py)
    origins = set(re.findall(r"% (\S+)$", text, re.MULTILINE))
    for reg_name in ("Hardware", "Infra", "Fabrics"):
        reg = getattr(mlsysim, reg_name)
        group = {"Fabrics": "Fabric"}.get(reg_name, reg_name)
        for entry in reg.names():
            for field, sv in reg.get(entry).sourced_fields().items():
                if hasattr(sv.value, "units") or isinstance(sv.value, (int, float)):
                    assert f"{group}.{entry}.{field}" in origins, (reg_name, entry, field)
    # datasheet: H100 SXM5 moves 3.35 TB/s (NVIDIA H100 whitepaper, Table 3)
    assert (r"\newcommand{\mlsHardwareHOneHundredMemoryBandwidth}{\qty{3.35}{\tera\byte\per\second}}"
            in text)
    assert r"\newcommand{\mlsSourceHardwareHOneHundredMemoryBandwidth}{\cite[" in text


def test_values_tex_worked_example_results(tex_files):
    text = tex_files["values.tex"]
    # hand: Llama-3-70B fp8 decode on one H200 reads 70,889,250,816 B at 4.8 TB/s = 14.7686 ms (test_latex.py)
    assert r"\newcommand{\mlsExampleServingHTwoHundredTpot}{\qty{14.77}{\milli\second}}" in text
    # hand: the H200's whole memory, 141 GiB = 141 * 2**30 = 151,397,597,184 B, read in 20 ms needs
    # 151,397,597,184 / 0.020 = 7.570e12 B/s = 7.57 TB/s
    assert (r"\newcommand{\mlsExampleRooflineBandwidthForLatencyMemoryBandwidth}{\qty{7.57}{\tera\byte\per\second}}"
            in text)


def test_document_with_preamble_and_values_compiles(tmp_path, tex_files):
    """A document inputting the preamble and values.tex (twice: two bundles' copies) compiles and prints."""
    exe = _tool("pdflatex")
    for name in ("preamble.tex", "values.tex"):
        (tmp_path / name).write_text(tex_files[name], encoding="utf-8")
    (tmp_path / "doc.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n\\input{preamble}\n"
        "\\input{values}\n\\input{values}\n\\begin{document}\nThe H100 moves \\mlsHardwareHOneHundredMemoryBandwidth{} "
        "(\\mlsSourceHardwareHOneHundredMemoryBandwidth); Llama-3-70B decodes at "
        "\\mlsExampleServingHTwoHundredTpot{} per token on an H200.\n\\end{document}\n", encoding="utf-8")
    r = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], check=False, cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    log = (tmp_path / "doc.log").read_text(encoding="latin-1")
    assert r.returncode == 0, r.stdout[-3000:]
    assert not [ln for ln in log.splitlines() if ln.startswith("!")]


# ----------------------------------------------------------------------------------- Quarto pages

def test_one_qmd_per_set_with_labels_tables_and_citations(qmd_files):
    for name in mlsysim.Equations:
        assert f"{mlsysim.latex.slug(name)}.qmd" in qmd_files, name
    page = qmd_files["roofline.qmd"]
    assert page.startswith('---\ntitle: "Roofline"\nbibliography: references.bib\n---\n')
    assert "$$\nT = T_{\\text{ovh}} + \\max\\left(T_{\\text{comp}},\\, T_{\\text{mem}}\\right)\n$$ " \
           "{#eq-roofline-latency}" in page
    assert "| Symbol | Meaning | Unit | Source |" in page
    assert "| $\\mathrm{BW}$ | device memory bandwidth (`memory_bandwidth`) | B/s | input |" in page
    assert "[@williams2009roofline, Eq. 1, Fig. 1]" in page
    bibkeys = {k for _t, k in BIB_KEY.findall(qmd_files["references.bib"])}
    cited = {k for name, t in qmd_files.items() if name.endswith(".qmd") for k in CITE_MD.findall(t)}
    assert cited and cited == bibkeys


def test_qmd_pages_use_no_siunitx(qmd_files):
    """MathJax has no siunitx: the Quarto pages print numbers and units as plain TeX math."""
    for name, text in qmd_files.items():
        if name.endswith(".qmd"):
            assert not re.search(r"\\(SI|si|qty|num)\{", text), name
    ex = qmd_files["examples.qmd"]
    # hand: 70,889,250,816 B / 4.8 TB/s = 14.7686 ms (as in test_latex.py)
    assert r"&= 14.77\,\mathrm{ms} \quad \text{(memory-bound)}" in ex
    assert r"$O = 1.41 \times 10^{11}\,\mathrm{FLOP}$" in ex
    assert "Equations: @eq-serving-" in ex
    assert "$$ {#eq-inverse-roofline-bandwidth-for-latency}" in qmd_files["inverses.qmd"]


def test_qmd_locator_with_semicolon_stays_one_citation(qmd_files):
    # Patterson's locator has a ';' that would start a second citation unescaped
    assert r"[@patterson2021carbon, Table 4 (energy = chips x hours x average power x PUE\; " in qmd_files["carbon.qmd"]


def test_pandoc_renders_every_qmd_with_mathjax_without_warning(tmp_path, qmd_files):
    exe = _tool("pandoc")
    for name, text in qmd_files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    pages = sorted(n for n in qmd_files if n.endswith(".qmd"))
    for name in pages:
        html = tmp_path / (name[:-4] + ".html")
        r = subprocess.run([exe, "--lua-filter", "quarto-equations.lua", "--citeproc", "--mathjax", "-s",
                            "-f", "markdown", name, "-o", html.name], check=False, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and r.stderr.strip() == "", f"{name}: {r.stderr}"
        out = re.sub(r"\s+", " ", html.read_text(encoding="utf-8"))
        assert '<span class="math display">' in out and "{#eq-" not in out, name
        if CITE_MD.search(qmd_files[name]):
            assert 'id="ref-' in out, f"{name}: no bibliography rendered"
    out = re.sub(r"\s+", " ", (tmp_path / "roofline.html").read_text(encoding="utf-8"))
    assert 'id="eq-roofline-latency"' in out and 'href="#eq-roofline-latency"' in out


# ----------------------------------------------------------------------------------- chapter bundles

def test_chapter_map_names_registered_sets_and_labels():
    from mlsysim.latex.export import examples, inverse_questions

    ex_labels = {e.label for e in examples()}
    q_labels = {q.label for q in inverse_questions()}
    for name, ch in CHAPTERS.items():
        for s in ch.sets:
            assert s in mlsysim.Equations, (name, s)
        assert set(ch.examples) <= ex_labels and set(ch.inverses) <= q_labels, name


def test_serving_bundle_has_only_what_the_chapter_needs():
    files = render_files(chapter="serving", fmt="both")
    sets = {n for n in files if n.endswith(".tex") and n not in ("preamble.tex", "values.tex", "all.tex",
                                                                   "symbols.tex", "examples.tex", "inverses.tex")}
    assert sets == {"roofline.tex", "transformercost.tex", "kvcache.tex", "serving.tex", "inference.tex"}
    assert {n for n in files if n.endswith(".qmd")} == {s[:-4] + ".qmd" for s in sets} | {"examples.qmd",
                                                                                         "inverses.qmd"}
    assert "sec-ex-serving-tpot-llama3-70b-h200" in files["examples.qmd"]
    assert "sec-ex-roofline-h200" not in files["examples.qmd"]
    assert "carbon.tex" not in files and "Carbon" not in files["symbols.tex"]
    assert "ex:serving-tpot-llama3-70b-h200" in files["examples.tex"]
    assert "ex:roofline-h200" not in files["examples.tex"]
    assert r"\mlsExampleServingHTwoHundredTpot" in files["values.tex"]
    assert r"\mlsExampleRooflineHTwoHundredLatency" not in files["values.tex"]
    readme = files["README.md"]
    for line in (r"\input{preamble}", r"\input{values}", r"\input{serving}", r"\input{examples}"):
        assert line in readme
    for f in files:
        if f != "README.md":
            assert f"`{f}`" in readme
    cited = {k for t in files.values() for g in CITE_TEX.findall(t) for k in g.split(",")}
    cited |= {k for t in files.values() for k in CITE_MD.findall(t)}
    assert cited == {k for _t, k in BIB_KEY.findall(files["references.bib"])}


def test_unknown_chapter():
    with pytest.raises(UnknownNameError, match="serving"):
        render_files(chapter="servng")


def test_cli_latex_formats_and_chapter(tmp_path, capsys):
    from mlsysim.cli import main

    assert main(["latex", "--chapter", "sustainability", "--format", "both", "--out", str(tmp_path / "s")]) == 0
    names = {p.name for p in (tmp_path / "s").iterdir()}
    assert {"carbon.tex", "tco.tex", "carbon.qmd", "tco.qmd", "README.md", "references.bib"} <= names
    assert main(["latex", "--chapter", "nope", "--out", str(tmp_path / "n")]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "n").exists()


def test_roofline_bundle_compiles_with_bibtex(tmp_path):
    """A bundle stands alone: its examples refer only to its own equations, it cites only its own works."""
    exe = _tool("pdflatex")
    bibtex = _tool("bibtex")
    for name, text in render_files(chapter="roofline").items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    run = [exe, "-interaction=nonstopmode", "-halt-on-error", "all.tex"]
    assert subprocess.run(run, check=False, cwd=tmp_path, capture_output=True, timeout=300).returncode == 0
    b = subprocess.run([bibtex, "all"], check=False, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert b.returncode == 0 and "didn't find" not in b.stdout, b.stdout
    for _ in range(2):
        assert subprocess.run(run, check=False, cwd=tmp_path, capture_output=True, timeout=300).returncode == 0
    log = (tmp_path / "all.log").read_text(encoding="latin-1")
    assert "undefined" not in log, [ln for ln in log.splitlines() if "undefined" in ln]


def test_secondary_and_assumed_sources_say_so():
    from mlsysim.latex.bib import cite_tex
    from mlsysim.latex.qmd import cite_markdown

    sec = Source("Press, 'Chip X review'", kind="secondary", year=2024, locator="p. 2", note="vendor gives none")
    assumed = Source("mlsysim default", kind="assumption", note="a round figure")
    b = Bibliography([sec, assumed])
    assert list(b.works) == ["press2024chip"]
    assert cite_tex(sec, b) == r"\cite[{p. 2}]{press2024chip} (secondary source)"
    assert cite_markdown(sec, b) == "[@press2024chip, p. 2] (secondary source)"
    assert cite_tex(assumed, b) == "mlsysim default (assumption: a round figure)"
