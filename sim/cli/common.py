"""What every command shares: the error line and its exit code, warnings, the interruption line
and its exit code, the progress bar of a single run, the lines naming written files, and aligned
text tables.

Exit codes: 0 success; 1 some runs failed; 2 bad input (scenario file, option, output folder);
130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path

#: The message of an interrupted study: what survives and how to go on.
RESUME = "finished runs are on disk: rerun the same command to resume"


def _prog(command: str | None) -> str:
    return f"cogov {command}" if command else "cogov"


def fail(message: str, command: str | None = None) -> int:
    """Print ``cogov [COMMAND]: error: MESSAGE`` on stderr; returns the exit code of bad input, 2."""
    print(f"{_prog(command)}: error: {message}", file=sys.stderr)
    return 2


def warn(message: str, command: str | None = None) -> None:
    """Print ``cogov [COMMAND]: warning: MESSAGE`` on stderr."""
    print(f"{_prog(command)}: warning: {message}", file=sys.stderr)


def interrupted(message: str = f"interrupted; {RESUME}", command: str | None = None) -> int:
    """Print ``cogov [COMMAND]: MESSAGE`` on stderr (by default: interrupted, finished runs are on
    disk, rerun to resume); returns the exit code of an interruption (Ctrl-C), 130."""
    print(f"{_prog(command)}: {message}", file=sys.stderr)
    return 130


def failed_runs(n: int, out: Path, retry: str | None = None, command: str | None = None) -> int:
    """Say how many runs failed and where their tracebacks are (and how to retry them); returns 1."""
    print(f"{_prog(command)}: {n} run(s) failed; tracebacks in {out}/failures/" + (f" ({retry})" if retry else ""),
          file=sys.stderr)
    return 1


def progress(total: int, quiet: bool, label: str):
    """A progress bar of ``total`` days on stderr (tqdm; shown on a terminal only) and the
    callback that advances it by one day; (None, None) when quiet."""
    if quiet:
        return None, None
    from tqdm import tqdm
    bar = tqdm(total=total, desc=label, unit="day", file=sys.stderr, leave=False,
               disable=None if sys.stderr.isatty() else True)
    return bar, (lambda _day: bar.update(1))


def runs_at_once(executor: str, workers: int | None, scheduler: str | None = None) -> int:
    """How many runs a study executes at once on this machine (a remote Dask cluster's are not here)."""
    import os
    if executor == "serial" or scheduler:
        return 1
    return workers or os.cpu_count() or 1


def print_written(label: str, paths: list[Path], suffixes: tuple[str, ...] | None = None,
                  one_line: bool = False) -> None:
    """Name the files a command wrote (those with one of ``suffixes``, or all): one
    ``LABEL: PATH`` line each, or ``LABEL: PATH, PATH...`` on one line."""
    shown = [p for p in paths if suffixes is None or p.suffix in suffixes]
    if one_line:
        print(f"{label}: " + ", ".join(str(p) for p in shown))
    else:
        for path in shown:
            print(f"{label}: {path}")


def warn_unreached_schedule(scenario) -> None:
    """Warn about schedule entries on or after the scenario's last day (they never take effect)."""
    for entry in scenario.schedule:
        if entry.day >= scenario.days:
            warn(f"{scenario.name}: schedule entry for day {entry.day} is after the last simulated "
                 f"day ({scenario.days - 1}); it never takes effect")


def warn_preset_replaces(source, preset: str | None, command: str | None = None) -> None:
    """Warn when ``--preset`` drops the structure counts a scenario file sets (the preset's apply)."""
    if not preset:
        return
    from ..params import PRESETS, ScenarioError, load_scenario
    try:
        own = load_scenario(source).structure
    except ScenarioError:
        return  # the caller reports a bad file itself
    given = [f"{k} = {getattr(own, k):,}" for k in PRESETS["city"] if getattr(own, k) is not None]
    if given:
        warn(f"--preset {preset} replaces the counts {source} sets in [structure] ({', '.join(given)}) with the "
             "preset's; leave out --preset to use them", command)


def check_days(days: int | None, command: str | None = None) -> int | None:
    """2 (after the error line) if ``--days`` is given and not 1-36500, else None."""
    if days is not None and not 1 <= days <= 36500:
        return fail(f"--days must be between 1 and 36500 (got {days})", command)
    return None


def add_executor_options(p, default: str = "processes", scheduler: bool = True) -> None:
    """``--executor``, ``--workers`` (and ``--scheduler``): where a study's runs execute."""
    from ..experiments.sweep import EXECUTORS

    p.add_argument("--executor", choices=EXECUTORS, default=default,
                   help=f"where runs execute: one at a time, worker processes here, or Dask (default {default})")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    if scheduler:
        p.add_argument("--scheduler", help="address of a running Dask scheduler (with --executor dask)")


def check_extra(modules: tuple[str, ...], extra: str, command: str | None = None) -> int | None:
    """2 (after the error line) if an optional library of ``pip install 'cogov[EXTRA]'`` is missing, else None."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        return fail(f"needs {', '.join(missing)}, which is not installed: pip install 'cogov[{extra}]' "
                    f"(or, from a clone, pip install -e '.[{extra}]')", command)
    return None


def aligned(rows: list[list[str]]) -> str:
    """Rows of cells as a table with aligned columns (CJK characters take two columns); a rule
    under the first row."""
    from ..report.i18n import display_width

    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def print_json(entries: list[dict]) -> None:
    import json
    print(json.dumps(entries, ensure_ascii=False, indent=2))
