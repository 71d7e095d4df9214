"""``python -m mlsysim.latex --out equations/``: regenerate the LaTeX fragments."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlsysim.latex",
                                     description="Regenerate mlsysim's LaTeX fragments (one .tex per equation set, "
                                                 "symbols.tex, examples.tex, inverses.tex, values.tex, "
                                                 "references.bib, preamble.tex, all.tex) or Quarto pages.")
    parser.add_argument("--out", default="equations", help="output folder (default: equations)")
    parser.add_argument("--format", choices=["tex", "qmd", "both"], default="tex", help="tex (default), qmd or both")
    parser.add_argument("--inline-sources", action="store_true", help="citations inline instead of \\cite{key}")
    parser.add_argument("--chapter", default=None, help="only what one chapter needs (see docs/latex.md)")
    args = parser.parse_args(argv)
    from . import export
    from ..core.errors import MlsysimError

    try:
        paths = export(args.out, fmt=args.format, inline_sources=args.inline_sources, chapter=args.chapter)
    except (MlsysimError, OSError) as exc:
        print(f"mlsysim latex: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
