"""``python -m mlsysim.latex --out equations/``: regenerate the LaTeX fragments."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlsysim.latex",
                                     description="Regenerate mlsysim's LaTeX fragments (one .tex per equation set, "
                                                 "symbols.tex, examples.tex, inverses.tex, preamble.tex, all.tex).")
    parser.add_argument("--out", default="equations", help="output folder (default: equations)")
    args = parser.parse_args(argv)
    from . import export
    from ..core.errors import MlsysimError

    try:
        paths = export(args.out)
    except (MlsysimError, OSError) as exc:
        print(f"mlsysim latex: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
