"""Scale benchmark (``cogov bench`` and ``benchmarks/scale.py``).

Runs the baseline for a simulated year at the classroom, city and tianjin presets, each in
its own process so that its peak memory is its own, and prints: residents, cases, the wall
seconds of building the city, of its burn-in (MODEL §12.1), of writing and of loading its
burn-in cache entry (and the entry's size), and of the reported run, resident-days and cases
per second of the run, peak RSS; then where a city run spends its time, by component of the
day; then the speed of the vectorised residents' dynamics against the plain Mesa reference
(one agent per resident) at 10,000 residents.

The measurements are here; the command (options, one process per preset) is ``sim.cli.bench``.
"""

from __future__ import annotations

import resource
import time

from pathlib import Path

from .params import load_scenario

PRESETS = ("classroom", "city", "tianjin")


def measure_preset(preset: str, days: int, seed: int = 1, burn_in: int | None = None,
                   population_scale: float | None = None) -> dict:
    """Build, burn in and run the baseline at ``preset`` in this process; timings and peak memory.

    The burn-in is run once (``build_s``, ``burn_in_s``), its entry written to an empty
    temporary cache folder (``cache_write_s``: snapshot and write; ``cache_mb``) and read back (``cache_load_s``,
    the cost of a burn-in for every later run of the same city); the reported days run from
    the loaded model (``run_s``). ``uncached_s`` and ``cached_s`` are the wall times of a whole
    run (construction and the reported days) without and with the cache entry."""
    import os
    import shutil
    import tempfile

    from . import burnin
    from .model import CoGovernanceModel

    over = {"preset": preset}
    if burn_in is not None:
        over["burn_in"] = burn_in
    sc = load_scenario("baseline", seed=seed, **over)
    if population_scale is not None:
        data = sc.model_dump()
        data["structure"]["population_scale"] = population_scale
        sc = load_scenario(data)
    folder = tempfile.mkdtemp(prefix="cogov-bench-cache-")
    before = os.environ.get("COGOV_CACHE_DIR")
    os.environ["COGOV_CACHE_DIR"] = folder
    try:
        t0 = time.perf_counter()
        built = CoGovernanceModel(sc)  # into the empty temporary cache: build, burn in, write the entry
        total = time.perf_counter() - t0
        assert built.burn_in_source == "built", built.burn_in_source
        build, burn = built.build_timings["build"], built.build_timings["burn_in"]
        write = total - build - burn
        (path,) = Path(folder).glob("*" + burnin.SUFFIX)
        size = path.stat().st_size
        del built
        t1 = time.perf_counter()
        model = CoGovernanceModel(sc)
        load = time.perf_counter() - t1
        assert model.burn_in_source == "cache", model.burn_in_source
        model.timings = {}
        t2 = time.perf_counter()
        model.run(days)
        run = time.perf_counter() - t2
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if before is None:
            os.environ.pop("COGOV_CACHE_DIR", None)
        else:
            os.environ["COGOV_CACHE_DIR"] = before
    n = model.population.n
    return {"preset": preset, "residents": n, "days": days, "burn_in": sc.burn_in,
            "population_scale": sc.structure.population_scale, "cases": int(model.table.n),
            "build_s": build, "burn_in_s": burn, "cache_write_s": write, "cache_load_s": load,
            "cache_mb": size / 2**20, "run_s": run, "uncached_s": build + burn + run, "cached_s": load + run,
            "resident_days_per_s": n * days / run, "cases_per_s": model.table.n / run,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "timings": model.timings}


def docking_speed(n_residents: int = 10_000, days: int = 20) -> dict:
    """Resident-days per second of the vectorised and reference residents' dynamics, same setup."""
    from .city import build_territory
    from .population import Population, build_network
    from .reference import DockingSetup, ReferenceResidents, VectorisedResidents
    from .streams import Streams

    sc = load_scenario("baseline")
    counts = {"districts": 1, "streets": 2, "communities": 10, "grids": 40}
    result = {}
    for name, cls in (("vectorised", VectorisedResidents), ("reference", ReferenceResidents)):
        streams = Streams(1)
        t = build_territory(counts, n_residents, streams.get("structure"))
        pop = Population(t, sc.structure, sc.residents, 0.05, streams.get("population"),
                         build_network(t, sc.structure, streams.get("network")))
        sim = cls(pop, sc.residents, DockingSetup(), 7)
        reps = days * (20 if name == "vectorised" else 1)  # enough work to time the fast one
        t0 = time.perf_counter()
        for _ in range(reps):
            sim.advance()
        result[name] = n_residents * reps / (time.perf_counter() - t0)
    result["ratio"] = result["vectorised"] / result["reference"]
    return result


def format_table(rows: list[dict]) -> str:
    head = (f"{'preset':<10} {'residents':>12} {'cases':>10} {'build s':>8} {'burn-in s':>10} "
            f"{'cache MB':>9} {'write s':>8} {'load s':>7} {'run s':>8} {'uncached s':>11} {'cached s':>9} "
            f"{'resident-days/s':>16} {'cases/s':>9} {'peak RSS MB':>12}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['preset']:<10} {r['residents']:>12,} {r['cases']:>10,} {r['build_s']:>8.2f} "
                     f"{r['burn_in_s']:>10.2f} {r['cache_mb']:>9,.1f} {r['cache_write_s']:>8.2f} "
                     f"{r['cache_load_s']:>7.2f} {r['run_s']:>8.2f} {r['uncached_s']:>11.2f} {r['cached_s']:>9.2f} "
                     f"{r['resident_days_per_s']:>16,.0f} {r['cases_per_s']:>9,.0f} {r['peak_rss_mb']:>12,.0f}")
    return "\n".join(lines)


def format_profile(row: dict) -> str:
    total = sum(row["timings"].values())
    lines = [f"where a {row['preset']} run spends its time ({row['days']} days, {total:.2f} s in the daily steps):"]
    for name, secs in sorted(row["timings"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<18} {secs:8.2f} s  {100 * secs / total:5.1f}%")
    return "\n".join(lines)
