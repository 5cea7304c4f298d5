"""Scale benchmark (``cogov bench`` and ``benchmarks/scale.py``).

Runs the baseline for a simulated year at the classroom, city and tianjin presets, each in
its own process so that its peak memory is its own, and prints: residents, cases, build and
run wall seconds, resident-days and cases per second, peak RSS; then where a city run spends
its time, by component of the day; then the speed of the vectorised residents' dynamics
against the plain Mesa reference (one agent per resident) at 10,000 residents.

The measurements are here; the command (options, one process per preset) is ``sim.cli.bench``.
"""

from __future__ import annotations

import resource
import time

PRESETS = ("classroom", "city", "tianjin")


def measure_preset(preset: str, days: int, seed: int = 1) -> dict:
    """Build and run the baseline at ``preset`` in this process; timings and peak memory."""
    from .model import CoGovernanceModel

    t0 = time.perf_counter()
    model = CoGovernanceModel("baseline", seed=seed, preset=preset)
    build = time.perf_counter() - t0
    model.timings = {}
    t1 = time.perf_counter()
    model.run(days)
    run = time.perf_counter() - t1
    n = model.population.n
    return {"preset": preset, "residents": n, "days": days, "cases": int(model.table.n),
            "build_s": build, "run_s": run, "resident_days_per_s": n * days / run,
            "cases_per_s": model.table.n / run,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "timings": model.timings}


def docking_speed(n_residents: int = 10_000, days: int = 20) -> dict:
    """Resident-days per second of the vectorised and reference residents' dynamics, same setup."""
    from .city import build_territory
    from .params import load_scenario
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
    head = (f"{'preset':<10} {'residents':>12} {'cases':>10} {'build s':>8} {'run s':>8} "
            f"{'resident-days/s':>16} {'cases/s':>9} {'peak RSS MB':>12}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['preset']:<10} {r['residents']:>12,} {r['cases']:>10,} {r['build_s']:>8.2f} "
                     f"{r['run_s']:>8.2f} {r['resident_days_per_s']:>16,.0f} {r['cases_per_s']:>9,.0f} "
                     f"{r['peak_rss_mb']:>12,.0f}")
    return "\n".join(lines)


def format_profile(row: dict) -> str:
    total = sum(row["timings"].values())
    lines = [f"where a {row['preset']} run spends its time ({row['days']} days, {total:.2f} s in the daily steps):"]
    for name, secs in sorted(row["timings"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<18} {secs:8.2f} s  {100 * secs / total:5.1f}%")
    return "\n".join(lines)
