"""``python -m mlsysim.infra [PATH]``: regenerate docs/infra.md from the registry."""
from __future__ import annotations

import sys

from .report import write_docs

if __name__ == "__main__":
    print(write_docs(sys.argv[1] if len(sys.argv) > 1 else None))
