"""``python -m mlsysim.hardware [PATH]``: regenerate ``docs/hardware.md`` (or write to PATH)."""
import sys

from . import write_docs

if __name__ == "__main__":
    print(write_docs(sys.argv[1] if len(sys.argv) > 1 else None))
