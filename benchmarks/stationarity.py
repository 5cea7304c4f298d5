"""Is the baseline stationary? Each reported year's resolution rate, eruptions and open cases at
year end, against the five-year mean (MODEL §12.1: within +/-10%).

    python benchmarks/stationarity.py                      # baseline, city preset, 5 years, seeds 1-3
    python benchmarks/stationarity.py --scenario wuzhi --years 3 --seeds 1 2 --preset classroom

Prints one table per seed and the worst deviation of each measure; exit 0 whatever it finds (a
figure, not a test: tests/test_stationarity.py holds the slow test).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import CoGovernanceModel  # noqa: E402
from sim.experiments.analysis import STATIONARY_TOLERANCE, stationarity_deviation, yearly_table  # noqa: E402

YEAR = 365


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--preset", default="city")
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--burn-in", type=int, default=None, help="days of burn-in (default: the scenario's)")
    a = ap.parse_args(argv)
    extra = {} if a.burn_in is None else {"burn_in": a.burn_in}
    worst = []
    for seed in a.seeds:
        m = CoGovernanceModel(a.scenario, seed=seed, preset=a.preset, days=a.years * YEAR, **extra).run()
        table = yearly_table(m.timeseries(), a.years)
        print(f"\n{a.scenario}, {a.preset}, seed {seed}, burn-in {m.p.burn_in} days")
        print(table.to_string(float_format=lambda v: f"{v:,.3f}"))
        worst.append(stationarity_deviation(table))
    worst = pd.concat(worst, axis=1).max(axis=1)
    print(f"\nlargest deviation of a year from the {a.years}-year mean (over seeds), "
          f"tolerance {STATIONARY_TOLERANCE:.0%}:")
    for name, v in worst.items():
        print(f"  {name:<12} {v:6.1%}  {'ok' if v <= STATIONARY_TOLERANCE else 'NOT stationary'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
