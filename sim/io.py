"""Writing results: a run's files all or none (MODEL §7), and one command at a time per output folder.

A run's files are written into a temporary folder beside the destination (``.cogov-tmp-PID-NAME``),
which then takes the destination's place in one step (Linux ``renameat2(RENAME_EXCHANGE)``;
elsewhere two renames a moment apart): an interrupted run leaves the destination as it was, a
finished one leaves every file of the new run and none of the old. Temporaries of a process that
no longer exists (a run killed while writing) are removed by the next run into the same parent.

A study's folder (sweep, comparison, calibration, reproduction) is held by one command at a time:
``folder_lock`` takes an OS lock on ``DIR/.cogov.lock`` (``filelock``; released by the kernel if
the holder dies) and names the holder in ``DIR/.cogov.holder.json``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import tomli_w

from .params import Scenario


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it), with the usual
    permissions of a new file (mkstemp's are owner-only)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OutputError(OSError):
    """The output folder cannot be written."""


def check_writable(out: Path) -> None:
    """Fail early, before a long run, if ``out`` cannot be created or written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    ancestor = out
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"--out {out}: {ancestor} is a file, so the folder cannot be created")
    try:  # the only sure test: make (and remove) a folder where the results will go
        Path(tempfile.mkdtemp(prefix=".cogov-check-", dir=ancestor)).rmdir()
    except OSError as exc:
        raise OutputError(f"--out {out}: folder {ancestor} is not writable ({exc.strerror})") from None


def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def git_state() -> tuple[str | None, bool]:
    """The git commit cogov runs from (None outside a checkout) and whether sim/ or scenarios/ have
    uncommitted changes."""
    commit = git_commit()
    if commit is None:
        return None, False
    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--",
                              "sim", "scenarios"],
                             capture_output=True, text=True, timeout=5, check=False)
        return commit, bool(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return commit, False


def versions() -> dict:
    import mesa
    import numpy
    import pandas

    from . import __version__
    return {"cogov": __version__, "mesa": mesa.__version__, "numpy": numpy.__version__,
            "pandas": pandas.__version__, "python": platform.python_version(), "platform": platform.platform()}


def scenario_toml(scenario: Scenario) -> str:
    header = ("# Fully resolved scenario written by cogov: every value in force for this run.\n"
              "# Re-run it with: cogov run scenario.toml\n")
    return header + tomli_w.dumps(scenario.to_toml_dict())


def _no_nan(d: dict) -> dict:
    """JSON has no NaN: an undefined figure (no case to average over) is written as null."""
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def _plain(value):
    """numpy scalars of a table's rows as JSON numbers."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


#: The files of a run folder (``write_run``); with ``csv``, the tables' CSV copies too.
RUN_TABLES = ("timeseries", "cases", "districts", "network")
RUN_FILES = (*(f"{t}.parquet" for t in RUN_TABLES), "summary.json", "scenario.toml", "meta.json",
             *(f"{t}.csv" for t in RUN_TABLES))


def write_run(out: Path, model, extra_meta: dict | None = None, csv: bool = False) -> list[Path]:
    """Write the run's seven files (timeseries, cases, districts and network tables, summary, scenario,
    meta; plus CSV copies of the tables if ``csv``) as the folder ``out``, all at once; returns their paths.
    An existing ``out`` is replaced only if it is empty or a run folder (``RUN_FILES`` only), so that
    nothing else is lost. ``network.parquet`` is the organisational network at the run's end
    (``metrics.network_table``)."""
    from .metrics import network_snapshot, network_table
    out = Path(out)
    check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=f"-{out.name}", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~UMASK)
        districts = model.districts()
        tables = (("timeseries", model.timeseries()), ("cases", model.cases()), ("districts", districts),
                  ("network", network_table(network_snapshot(model))))
        for name, frame in tables:
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
            if csv:
                frame.to_csv(tmp / f"{name}.csv", index=False)
        summary = {**_no_nan(model.summary()),
                   "districts": [_no_nan(row) for row in districts.to_dict(orient="records")]}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, allow_nan=False, default=_plain) + "\n")
        (tmp / "scenario.toml").write_text(scenario_toml(model.config), encoding="utf-8")
        meta = {**versions(), "seed": model.config.seed, "scenario": model.config.name,
                "preset": model.config.preset, "days": model.reported_day,
                "burn_in": model.day0, "burn_in_source": model.burn_in_source, "git_commit": git_commit(),
                "command": " ".join(sys.argv), **(extra_meta or {})}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        names = sorted(f.name for f in tmp.iterdir())
        swap_into_place(tmp, out)
        return [out / name for name in names]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # an unfinished temporary (the run failed or was interrupted)


def check_replaceable(out: Path) -> None:
    """``OutputError`` unless ``out`` is new, empty or a run folder that a new run may replace."""
    if not out.is_dir():
        return
    others = sorted(p.name for p in out.iterdir()
                    if p.name not in RUN_FILES and not p.name.startswith(".cogov-"))  # an older cogov's temporaries
    if others:
        shown = ", ".join(others[:5]) + (f" and {len(others) - 5} more" if len(others) > 5 else "")
        raise OutputError(f"--out {out}: holds files that are not a cogov run ({shown}); a run replaces its "
                          "whole folder, so give a new or empty folder")


#: Temporary folders of ``write_run``: ``.cogov-tmp-PID-...-NAME`` beside the destination.
TMP_PREFIX = ".cogov-tmp-"


def swap_into_place(new: Path, out: Path) -> None:
    """Put the folder ``new`` at ``out`` and remove the previous ``out``, if any."""
    if not out.exists():
        os.replace(new, out)
    elif _exchange(new, out):
        shutil.rmtree(new, ignore_errors=True)  # now the previous run
    else:  # two renames: for a moment there is no ``out``; the previous run waits in a temporary
        previous = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-old-", dir=out.parent))
        os.replace(out, previous / out.name)
        os.replace(new, out)
        shutil.rmtree(previous, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return rc == 0


def remove_stale_temporaries(parent: Path) -> None:
    """Remove ``write_run``'s temporary folders in ``parent`` whose process is gone (a run killed while writing)."""
    for tmp in parent.glob(f"{TMP_PREFIX}*"):
        pid = tmp.name.removeprefix(TMP_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------------------------
# One command per output folder
# ---------------------------------------------------------------------------------------------

LOCK_NAME = ".cogov.lock"
HOLDER_NAME = ".cogov.holder.json"


class FolderBusy(OutputError):
    """Another process holds the output folder."""


@contextmanager
def folder_lock(out: Path, command: str):
    """Hold the output folder ``out`` (created if need be) for the duration; ``FolderBusy`` at once,
    naming the holder's process, command and start time, if another process holds it."""
    from filelock import FileLock, Timeout

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(out / LOCK_NAME, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusy(f"--out {out}: in use by {_holder(out)}; wait for it to finish or give another "
                         "--out") from None
    holder = out / HOLDER_NAME
    try:
        atomic_write_bytes(holder, json.dumps({"pid": os.getpid(), "host": platform.node(), "command": command,
                                               "argv": sys.argv, "since": time.strftime("%Y-%m-%d %H:%M:%S")}
                                              ).encode())
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def _holder(out: Path) -> str:
    try:
        h = json.loads((out / HOLDER_NAME).read_text())
        return (f"process {h['pid']} on {h['host']} (cogov {h['command']}, since {h['since']}: "
                f"{' '.join(h['argv'])})")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
