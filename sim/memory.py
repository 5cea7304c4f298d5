"""Will a run fit in memory? An estimate from the scenario's counts, checked before anything is allocated.

A run's memory is the interpreter and its libraries, the residents' arrays and the case table.
The coefficients come from ``cogov bench`` (docs/PERFORMANCE.md, 2026-12-03): peak RSS 218 MB
for the classroom city, 309 MB for the city (240,000 residents) and 5,708 MB for Tianjin
(13.9 M residents, 3.2 M cases a year, a two-year burn-in), that is about 400 bytes per resident
at the baseline's case rate, of which the cases take a share that grows with the days and the
rates of emergence. The estimate is within 5% of those three figures.
"""

from __future__ import annotations

import os
from pathlib import Path

from .params import Scenario, ScenarioError

#: The interpreter with numpy, pandas, Mesa and numba loaded, before any model [bytes].
BASE_BYTES = 220e6
#: The residents' arrays, ties and the units per resident [bytes].
RESIDENT_BYTES = 300.0
#: One row of the case table with its parties [bytes].
CASE_BYTES = 150.0
#: One task of a sweep held in memory before any run (its scenario as a dict, its key and values):
#: about 7 KB measured on a 10^6-task list of the built-in LHS spec (2026-12-04), rounded up.
TASK_BYTES = 8e3
#: Cases created per new dispute or need (reopenings, group disputes' extra rows, hotline
#: re-filings): the bench's 3.16 M cases a year for 13.9 M residents at 0.117 a resident.
CASES_PER_ARISING = 2.0


class MemoryNeedError(ScenarioError):
    """The run needs more memory than the machine has (the message says how much)."""


def estimate_bytes(scenario: Scenario) -> float:
    """Peak memory of one run of ``scenario`` (build, burn-in and the reported days) [bytes]."""
    n = scenario.n_residents()
    years = (scenario.burn_in + scenario.days) / 365.0
    arising = scenario.emergence.disputes_per_1000_year / 1000.0 + scenario.emergence.demands_per_resident_year
    cases = n * arising * CASES_PER_ARISING * years
    return BASE_BYTES + n * RESIDENT_BYTES + cases * CASE_BYTES


def available_bytes() -> float | None:
    """Memory this process may still use: the kernel's MemAvailable, capped by a cgroup limit; None if unknown."""
    figures = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                figures.append(float(line.split()[1]) * 1024)
    except OSError:
        try:
            figures.append(float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")))
        except (ValueError, OSError, AttributeError):
            pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            cap = Path(limit).read_text().strip()
            if cap.isdigit() and int(cap) < 2**60:
                figures.append(float(int(cap) - int(Path(usage).read_text().strip())))
            break
        except (OSError, ValueError):
            continue
    return min(figures) if figures else None


def checks_off() -> bool:
    """``COGOV_MEMORY_CHECK`` is off, 0, no or false: skip the memory checks."""
    return os.environ.get("COGOV_MEMORY_CHECK", "").strip().lower() in ("off", "0", "no", "false")


def check_task_memory(tasks: int, where: str) -> None:
    """Raise ``MemoryNeedError`` if a sweep's list of ``tasks`` cannot be held in the memory available
    now (``TASK_BYTES`` each), before it is built: a ``--max-tasks`` far beyond what the machine holds."""
    have = available_bytes()
    need = tasks * TASK_BYTES
    if checks_off() or have is None or need <= have:
        return
    raise MemoryNeedError(f"{where}: the list of {tasks:,} runs alone needs about {need / 1e9:,.1f} GB of memory; "
                          f"{have / 1e9:,.1f} GB is available. Split the study into smaller sweeps")


def check_memory(scenario: Scenario, runs_at_once: int = 1, where: str | None = None) -> None:
    """Raise ``MemoryNeedError`` if ``runs_at_once`` runs of ``scenario`` cannot fit in the memory
    available now. ``COGOV_MEMORY_CHECK=off`` skips the check (swap, or a machine that frees memory)."""
    if checks_off():
        return
    have = available_bytes()
    need = estimate_bytes(scenario) * runs_at_once
    if have is None or need <= have:
        return
    runs = f"{runs_at_once} runs at once of " if runs_at_once > 1 else ""
    raise MemoryNeedError(
        f"{where or scenario.name}: {runs}{scenario.n_residents():,} residents for {scenario.burn_in + scenario.days:,} "
        f"days need about {need / 1e9:,.1f} GB of memory; {have / 1e9:,.1f} GB is available. Use a smaller "
        "[structure] (or population_scale), fewer --workers, or COGOV_MEMORY_CHECK=off to try anyway")
