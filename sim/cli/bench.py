"""``cogov bench``: the scale benchmark (``sim.bench``), each preset measured in a process of its own."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from .. import bench
from ..bench import PRESETS


def measure_in_subprocess(preset: str, days: int) -> dict:
    """``measure_preset`` in a fresh process (``cogov bench --one``), so its peak memory is its own."""
    out = subprocess.run([sys.executable, "-m", "sim.cli", "bench", "--one", preset, "--days", str(days)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"benchmark of {preset} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cogov bench", description=bench.__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="skip the full-scale tianjin preset")
    p.add_argument("--days", type=int, default=365, help="simulated days per preset (default 365)")
    p.add_argument("--presets", nargs="+", choices=PRESETS, help="presets to run (default: all)")
    p.add_argument("--json", help="also write the figures to this JSON file")
    p.add_argument("--one", choices=PRESETS, help=argparse.SUPPRESS)  # internal: one preset, JSON out
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.one:
        print(json.dumps(bench.measure_preset(args.one, args.days)))
        return 0
    presets = args.presets or [x for x in PRESETS if not (args.quick and x == "tianjin")]
    rows = []
    for preset in presets:
        print(f"running {preset} for {args.days} days...", file=sys.stderr, flush=True)
        rows.append(measure_in_subprocess(preset, args.days))
    print(bench.format_table(rows))
    print()
    city = next((r for r in rows if r["preset"] == "city"), rows[-1])
    print(bench.format_profile(city))
    print()
    speed = bench.docking_speed()
    print(f"residents' dynamics at 10,000 residents: vectorised {speed['vectorised']:,.0f} resident-days/s, "
          f"reference (one Mesa agent each) {speed['reference']:,.0f}; ratio {speed['ratio']:,.0f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"presets": rows, "docking_speed": speed}, f, indent=2)
    return 0
