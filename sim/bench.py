"""Scale benchmark (``cogov bench`` and ``benchmarks/scale.py``).

Runs the baseline for a simulated year at the classroom, city and tianjin presets, each in
its own process so that its peak memory is its own, and prints: residents, cases, build and
run wall seconds, resident-days and cases per second, peak RSS; then where a city run spends
its time, by component of the day; then the speed of the vectorised residents' dynamics
against the plain Mesa reference (one agent per resident) at 10,000 residents.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
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


def measure_in_subprocess(preset: str, days: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "sim.bench", "--one", preset, "--days", str(days)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark of {preset} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cogov bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="skip the full-scale tianjin preset")
    p.add_argument("--days", type=int, default=365, help="simulated days per preset (default 365)")
    p.add_argument("--presets", nargs="+", choices=PRESETS, help="presets to run (default: all)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--one", choices=PRESETS, help=argparse.SUPPRESS)  # internal: one preset, JSON out
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure_preset(args.one, args.days)))
        return 0
    presets = args.presets or [x for x in PRESETS if not (args.quick and x == "tianjin")]
    rows = []
    for preset in presets:
        print(f"running {preset} for {args.days} days...", file=sys.stderr, flush=True)
        rows.append(measure_in_subprocess(preset, args.days))
    print(format_table(rows))
    print()
    city = next((r for r in rows if r["preset"] == "city"), rows[-1])
    print(format_profile(city))
    print()
    speed = docking_speed()
    print(f"residents' dynamics at 10,000 residents: vectorised {speed['vectorised']:,.0f} resident-days/s, "
          f"reference (one Mesa agent each) {speed['reference']:,.0f}; ratio {speed['ratio']:,.0f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"presets": rows, "docking_speed": speed}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
