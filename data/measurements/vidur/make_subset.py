"""Make the in-repository subset of Vidur's profiling data (run once; provenance of the files here).

``python data/measurements/vidur/make_subset.py SRC`` where SRC is a copy of Vidur's ``data/profiling/``
folder (microsoft/vidur at commit 7d47513363ec447a741ac5e47241580b47724fbf), laid out as
``compute/{a100,h100}/<org>/<model>/mlp.csv.gz`` and ``network/<fabric>/{all_reduce,send_recv}.csv.gz``.

Every row is kept, unchanged. Of the timing columns only the medians (``time_stats.<op>.median``, in
milliseconds) are kept; the min/max/mean/std columns and the pandas index column are dropped, which makes the
data 5.5 times smaller (0.46 MB instead of 2.5 MB). The files are written gzip-compressed with a zero
timestamp, so re-running the script reproduces them byte for byte.
"""
from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def subset(src: Path, dst: Path) -> None:
    with gzip.open(src, "rt", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    keep = [i for i, c in enumerate(header)
            if c and c != "Unnamed: 0" and (not c.startswith("time_stats.") or c.endswith(".median"))]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for r in rows:
        w.writerow([r[i] for i in keep])
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as out:
        out.write(gzip.compress(buf.getvalue().encode(), compresslevel=9, mtime=0))


def main(src_root: str) -> None:
    root = Path(src_root)
    for src in sorted(root.rglob("*.csv.gz")):
        dst = HERE / src.relative_to(root)
        subset(src, dst)
        print(dst.relative_to(HERE), dst.stat().st_size)


if __name__ == "__main__":
    main(sys.argv[1])
