"""Per-district KPIs of the baseline (MODEL §12.7) and the C10 measure, over a few seeds.

    python benchmarks/districts.py                       # city preset, seeds 1-3, 365 days
    python benchmarks/districts.py --preset classroom --seeds 1 2 --days 180

Prints, per district and seed, the resolution rate, eruptions per 100,000 residents a year, the
land share of new cases and of collective petitions (collective incidents and group petitions),
then the mean over seeds, and the city's ``collective_petitions_land_share`` (C10: > 70%).
"""

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim import CoGovernanceModel  # noqa: E402

COLUMNS = ["name", "type", "residents", "resolution_rate", "eruptions_per_100k_year", "land_share_new",
           "collective_petitions", "collective_petitions_land_share"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--preset", default="city")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    frames, c10 = [], {}
    for seed in args.seeds:
        m = CoGovernanceModel(args.scenario, seed=seed, preset=args.preset).run(args.days)
        frames.append(m.districts()[COLUMNS].assign(seed=seed))
        s = m.summary()
        c10[seed] = (s["collective_petitions_land_share"], s["petitions"], s["collective_incidents"])
    table = pd.concat(frames, ignore_index=True)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print("\nmean over seeds")
    mean = table.groupby(["name", "type"], sort=False)[COLUMNS[2:]].mean()
    print(mean.to_string(float_format=lambda x: f"{x:.3f}"))
    print("\nC10 collective_petitions_land_share (city; target > 0.70)")
    for seed, (share, petitions, incidents) in c10.items():
        print(f"  seed {seed}: {share:.3f}   (petitions {petitions}, collective incidents {incidents})")
    values = [v[0] for v in c10.values()]
    print(f"  mean {sum(values) / len(values):.3f}")


if __name__ == "__main__":
    main()
