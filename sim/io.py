"""Writing a run's results: all files or none (MODEL §7).

Files are first written into a temporary folder beside the destination, then moved in
one by one with ``os.replace`` (atomic on one file system). An interrupted run leaves the
destination as it was; a finished run leaves every file complete.
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


def write_run(out: Path, model, extra_meta: dict | None = None, csv: bool = False) -> list[Path]:
    """Write the run's seven files (timeseries, cases, districts and network tables, summary, scenario,
    meta; plus CSV copies of the tables if ``csv``) into ``out`` atomically; returns their paths.
    ``network.parquet`` is the organisational network at the run's end (``metrics.network_table``)."""
    from .metrics import network_snapshot, network_table
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".cogov-", dir=out))
    try:
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
        written = []
        for f in sorted(tmp.iterdir()):
            os.replace(f, out / f.name)
            written.append(out / f.name)
        if not csv:  # CSV copies of an earlier run in this folder would now be stale
            for name in ("timeseries.csv", "cases.csv", "districts.csv", "network.csv"):
                (out / name).unlink(missing_ok=True)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
