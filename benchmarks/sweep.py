"""Sweep benchmark: runs per minute of one fixed city sweep, serial vs processes vs Dask.

    PYTHONPATH=. python3 benchmarks/sweep.py                  # 8 runs of 365 days, 2 workers
    PYTHONPATH=. python3 benchmarks/sweep.py --runs 4 --days 60 --executors serial processes
    PYTHONPATH=. python3 benchmarks/sweep.py --big            # 200 runs, processes executor

The sweep is fixed in code: the baseline at the city preset, a grid of two levers
(authority_devolution x resources_follow, 2 values each, fewer points when ``--runs`` is not a
multiple of 4) and as many replicates as make ``--runs`` runs. Every executor runs the very
same sweep into a fresh temporary folder, each in a fresh Python process (so none inherits
another's imports or compiled kernel). The wall clock is taken around ``run_sweep`` and so
includes what a user pays on top of the runs: starting and stopping the worker processes or
the Dask cluster, importing the model in the workers, writing the store. The summaries the
executors wrote must be identical (same run keys, same KPI values), else the script fails.

Printed: a table of executor, workers, kernel threads per run, runs, wall seconds, runs per
minute, speed-up against serial and "other load" (cores kept busy by work other than this
benchmark while it was measured, from ``/proc/stat``; near 0 on an idle machine), then whether
the target (>= 1.8x with 2 workers) is met for processes and Dask, and whether the timings look
disturbed. Serial runs use the kernel's default thread count (``COGOV_THREADS``,
else up to 2 cores; see ``--serial-threads``); sweep workers use one thread each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a plain script: make ``sim`` importable
    sys.path.insert(0, str(ROOT))

EXECUTORS = ("serial", "processes", "dask")
TARGET = 1.8  # speed-up wanted from 2 workers
TARGET_WORKERS = 2
BIG_RUNS = 200
LEVERS = ("authority_devolution", "resources_follow")
VALUES = (0.0, 0.8)


def grid_shape(runs: int) -> tuple[int, int]:
    """(points, replicates) with points x replicates = runs: 4 points when runs allows, else 2, else 1."""
    if runs < 1:
        raise ValueError("--runs must be at least 1")
    points = 4 if runs % 4 == 0 else 2 if runs % 2 == 0 else 1
    return points, runs // points


def build_sweep(runs: int, days: int, seed: int = 2024):
    """The fixed benchmark sweep (spec and base scenario) of ``runs`` runs of ``days`` days."""
    from sim.experiments.spec import SweepSpec
    from sim.params import load_scenario

    points, replicates = grid_shape(runs)
    first = list(VALUES) if points >= 2 else [VALUES[0]]
    second = list(VALUES) if points == 4 else [VALUES[0]]
    spec = SweepSpec.model_validate({
        "name": "bench_sweep", "base": "baseline", "preset": "city", "days": days,
        "replicates": replicates, "seed": seed, "sampler": "grid", "thin": 7,
        "parameters": {LEVERS[0]: {"values": first}, LEVERS[1]: {"values": second}}})
    scenario = load_scenario(spec.base, preset=spec.preset, days=spec.days)
    return spec, scenario


def kernel_threads(executor: str, serial_threads: int | None) -> int:
    """Threads of the residents' kernel inside one run under ``executor``."""
    if executor != "serial":
        return 1  # run_sweep sets COGOV_THREADS=1 in its workers
    if serial_threads:
        return serial_threads
    env = os.environ.get("COGOV_THREADS")
    return max(1, int(env)) if env else min(2, os.cpu_count() or 1)


def measure_one(executor: str, runs: int, days: int, workers: int, out: str) -> dict:
    """Run the benchmark sweep with ``executor`` into ``out`` in this process; the timings."""
    from sim.experiments.sweep import run_sweep

    spec, scenario = build_sweep(runs, days)
    t0 = time.perf_counter()
    report = run_sweep(spec, scenario, Path(out), executor=executor,
                       workers=None if executor == "serial" else workers, progress=False)
    wall = time.perf_counter() - t0
    return {"executor": executor, "workers": 1 if executor == "serial" else workers, "runs": report.total,
            "done": report.done, "failed": report.failed, "skipped": report.skipped,
            "interrupted": report.interrupted, "sweep_s": report.seconds, "wall_s": wall}


def measure_in_subprocess(executor: str, runs: int, days: int, workers: int, out: str,
                          serial_threads: int | None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(x for x in (str(ROOT), env.get("PYTHONPATH")) if x)
    if executor == "serial" and serial_threads:
        env["COGOV_THREADS"] = str(serial_threads)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", executor, "--runs", str(runs),
           "--days", str(days), "--workers", str(workers), "--out", out]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"the {executor} sweep failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    if row["failed"] or row["done"] != row["runs"] or row["interrupted"]:
        failures = sorted((Path(out) / "failures").glob("*.txt"))
        detail = failures[0].read_text()[-2000:] if failures else ""
        raise RuntimeError(f"the {executor} sweep did not finish every run: {row}\n{detail}")
    return row


def summaries(out: str):
    from sim.experiments.store import SweepStore

    return SweepStore(Path(out)).summaries().sort_values("key").reset_index(drop=True)


def compare_summaries(frames: dict) -> list[str]:
    """Differences between the executors' summaries (empty when identical)."""
    names = list(frames)
    ref_name, ref = names[0], frames[names[0]]
    problems = []
    for name in names[1:]:
        df = frames[name]
        if set(df["key"]) != set(ref["key"]):
            problems.append(f"{name} vs {ref_name}: different run keys "
                            f"({len(set(df['key']) ^ set(ref['key']))} not in both)")
            continue
        if list(df.columns) != list(ref.columns):
            problems.append(f"{name} vs {ref_name}: different columns "
                            f"({sorted(set(df.columns) ^ set(ref.columns))})")
            continue
        if not df.equals(ref):  # NaN in the same place counts as equal
            for col in df.columns:
                a, b = df[col], ref[col]
                diff = ~((a == b) | (a.isna() & b.isna()))
                if diff.any():
                    i = int(diff.to_numpy().nonzero()[0][0])
                    problems.append(f"{name} vs {ref_name}: column {col!r} differs in {int(diff.sum())} runs "
                                    f"(e.g. run {df['key'][i]}: {a[i]!r} vs {b[i]!r})")
    return problems


def format_table(rows: list[dict]) -> str:
    serial = next((r for r in rows if r["executor"] == "serial"), None)
    head = (f"{'executor':<10} {'workers':>7} {'threads/run':>11} {'runs':>5} {'wall s':>8} "
            f"{'runs/minute':>11} {'speed-up vs serial':>18} {'other load':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        speed = f"{r['speedup']:.2f}x" if serial else "n/a"
        other = "n/a" if r.get("other_cores") is None else f"{r['other_cores']:.2f}"
        lines.append(f"{r['executor']:<10} {r['workers']:>7} {r['threads']:>11} {r['runs']:>5} "
                     f"{r['wall_s']:>8.1f} {r['runs_per_min']:>11.2f} {speed:>18} {other:>10}")
    return "\n".join(lines)


def target_line(rows: list[dict], workers: int) -> str:
    if not any(r["executor"] == "serial" for r in rows):
        return "target (>= 1.8x with 2 workers): not checked, the serial executor was not run"
    parts = []
    for r in rows:
        if r["executor"] != "serial":
            parts.append(f"{r['executor']} {r['speedup']:.2f}x {'met' if r['speedup'] >= TARGET else 'NOT met'}")
    if not parts:
        return "target (>= 1.8x with 2 workers): not checked, only the serial executor was run"
    note = "" if workers == TARGET_WORKERS else f" (measured with {workers} workers, not {TARGET_WORKERS})"
    return f"target >= {TARGET}x with {TARGET_WORKERS} workers{note}: " + "; ".join(parts)


def cpu_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux ``/proc/stat``), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait (guest is in user)
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its finished descendants (the benchmark's own work)."""
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def other_load(busy0, own0, busy1, own1, seconds: float) -> float | None:
    """Cores kept busy by work other than this benchmark over ``seconds`` (None off Linux)."""
    if busy0 is None or busy1 is None or seconds <= 0:
        return None
    return max(0.0, (busy1 - busy0) - (own1 - own0)) / seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="benchmarks/sweep.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, help="runs in the sweep (default 8; 200 with --big)")
    p.add_argument("--days", type=int, default=365, help="simulated days per run (default 365)")
    p.add_argument("--workers", type=int, default=2, help="workers of the processes and dask executors (default 2)")
    p.add_argument("--executors", nargs="+", choices=EXECUTORS,
                   help="executors to run (default: all three; processes with --big)")
    p.add_argument("--serial-threads", type=int,
                   help="kernel threads of the serial executor (default: COGOV_THREADS, else up to 2 cores)")
    p.add_argument("--big", action="store_true",
                   help=f"instead: a {BIG_RUNS}-run city sweep with the processes executor; wall time and runs/minute")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--one", choices=EXECUTORS, help=argparse.SUPPRESS)  # internal: one executor, JSON out
    p.add_argument("--out", help=argparse.SUPPRESS)  # internal: the folder of --one
    args = p.parse_args(argv)
    runs = args.runs or (BIG_RUNS if args.big else 8)
    if args.one:
        print(json.dumps(measure_one(args.one, runs, args.days, args.workers, args.out)))
        return 0
    if args.workers < 1 or args.days < 1 or runs < 1:
        p.error("--runs, --days and --workers must be at least 1")
    executors = [e for e in EXECUTORS if e in (args.executors or (["processes"] if args.big else EXECUTORS))]
    points, replicates = grid_shape(runs)
    print(f"sweep: baseline at the city preset, {runs} runs of {args.days} days "
          f"({points} grid points x {replicates} replicates), {args.workers} workers", file=sys.stderr)
    busy, own, t = cpu_busy_seconds(), own_cpu_seconds(), time.perf_counter()
    time.sleep(1.0)
    busy_before = other_load(busy, own, cpu_busy_seconds(), own_cpu_seconds(), time.perf_counter() - t)
    rows, frames = [], {}
    with tempfile.TemporaryDirectory(prefix="cogov-bench-sweep-") as tmp:
        for executor in executors:
            out = str(Path(tmp) / executor)
            print(f"running {executor}...", file=sys.stderr, flush=True)
            busy, own, t = cpu_busy_seconds(), own_cpu_seconds(), time.perf_counter()
            row = measure_in_subprocess(executor, runs, args.days, args.workers, out, args.serial_threads)
            row["other_cores"] = other_load(busy, own, cpu_busy_seconds(), own_cpu_seconds(),
                                            time.perf_counter() - t)
            row["threads"] = kernel_threads(executor, args.serial_threads)
            row["runs_per_min"] = 60 * row["runs"] / row["wall_s"]
            rows.append(row)
            frames[executor] = summaries(out)
            print(f"  {executor}: {row['wall_s']:.1f} s", file=sys.stderr, flush=True)
        problems = compare_summaries(frames)
    serial = next((r for r in rows if r["executor"] == "serial"), None)
    for r in rows:
        r["speedup"] = serial["wall_s"] / r["wall_s"] if serial else None

    if args.big:
        for r in rows:
            print(f"{r['runs']}-run sweep at the city preset ({args.days} days per run), {r['executor']} executor, "
                  f"{r['workers']} workers: wall {r['wall_s']:.0f} s ({r['wall_s'] / 60:.1f} min), "
                  f"{r['runs_per_min']:.2f} runs/minute")
    else:
        print(f"sweep: baseline at the city preset, {runs} runs of {args.days} days "
              f"({points} points x {replicates} replicates); wall time includes worker / cluster start-up")
        print(format_table(rows))
        print(target_line(rows, args.workers))
    if len(frames) > 1:
        if problems:
            print("summaries DIFFER between executors:\n  " + "\n  ".join(problems))
        else:
            print(f"summaries identical across {', '.join(frames)} ({runs} run keys, "
                  f"{frames[executors[0]].shape[1]} columns)")
    loads = [r["other_cores"] for r in rows if r["other_cores"] is not None]
    if loads and busy_before is not None:
        worst = max(loads)
        verdict = ("timings look undisturbed" if max(worst, busy_before) < 0.15 else
                   "TIMINGS DISTURBED by other work on this machine; rerun when it is idle")
        print(f"other work on this machine ({os.cpu_count()} cores): {busy_before:.2f} cores busy just before "
              f"the benchmark, up to {worst:.2f} during a measurement; {verdict}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": runs, "days": args.days, "workers": args.workers, "rows": rows,
                       "identical": not problems}, f, indent=2)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
