import os

from hypothesis import settings

# CI runs at least 200 examples per property, derandomized so that a submission's result does not depend on
# the draw (explore with HYPOTHESIS_PROFILE=dev, which draws afresh each run).
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# ----------------------------------------------------------------------------------------------------------
# Tests read only the repository (issue #13): every file a test opens through open()/io.open()/Path.open() is
# recorded when it lies outside the repository and outside the places the interpreter and its libraries
# legitimately read or write (the Python installation, temporary directories, system font/TeX/config trees,
# user caches). Any such path fails the session (tests/test_repository_only.py checks the recorder itself).
import builtins  # noqa: E402
import io  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
_ALLOWED_OUTSIDE = tuple(str(pathlib.Path(p).resolve()) for p in {
    sys.prefix, sys.base_prefix, sys.exec_prefix, *sysconfig.get_paths().values(), tempfile.gettempdir(),
    "/dev", "/proc", "/sys", "/etc", "/usr", "/var/tmp", "/tmp",
    os.path.expanduser("~/.cache"), os.path.expanduser("~/.config"), os.path.expanduser("~/.matplotlib"),
    os.path.expanduser("~/.texlive"), os.path.expanduser("~/.texmf-var"),
} if p)
OUTSIDE_OPENS: list = []
_real_open = builtins.open


def _outside_repo(file) -> str | None:
    if isinstance(file, int):
        return None  # a file descriptor
    try:
        p = pathlib.Path(os.fsdecode(file)).resolve()
    except (TypeError, ValueError, OSError):
        return None
    s = str(p)
    if p == REPO_ROOT or REPO_ROOT in p.parents:
        return None
    if any(s == a or s.startswith(a.rstrip("/") + "/") for a in _ALLOWED_OUTSIDE):
        return None
    return s


def _recording_open(file, *args, **kwargs):
    where = _outside_repo(file)
    if where is not None:
        OUTSIDE_OPENS.append(where)
    return _real_open(file, *args, **kwargs)


def pytest_sessionstart(session):
    builtins.open = _recording_open
    io.open = _recording_open  # pathlib.Path.open/read_text go through io.open


def pytest_sessionfinish(session, exitstatus):
    builtins.open = _real_open
    io.open = _real_open
    if OUTSIDE_OPENS:
        shown = "\n  ".join(sorted(set(OUTSIDE_OPENS))[:20])
        sys.stderr.write(f"\nERROR: tests opened paths outside the repository (copy the data into tests/data):\n"
                         f"  {shown}\n")
        session.exitstatus = 1
