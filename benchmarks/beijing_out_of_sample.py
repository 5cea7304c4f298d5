"""Beijing's reforms out of sample (issue 14, item 6; MODEL §9): the reform's levers from the burned-in
calibrated baseline for six reported years, against the baseline on the same seed.

Prints, per reported year and scenario, the hotline's 三率 as Beijing publishes them (response, resolution
and satisfaction at the callback, over the year's callbacks), the reported volume (12345 demands filed per
resident per year, and per year for the simulated city), and the real resolution rate, escalations and
bounces; writes the monthly 三率 trajectory as a figure. Nothing is fitted here and nothing is compared with
what happened after the reform: those figures are kept outside this project (CALIBRATION.md).

    python benchmarks/beijing_out_of_sample.py [--seed 1] [--preset city] [--figure docs/calibration/beijing_sanlv.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sim import CoGovernanceModel, load_scenario

MONTH, YEAR = 30, 365
RATES = {"response": "hotline_responded", "resolution": "hotline_solved", "satisfaction": "hotline_satisfied"}


def run(name: str, days: int, preset: str, seed: int) -> tuple[pd.DataFrame, int]:
    sc = load_scenario(name, preset=preset, days=days).model_copy(update={"seed": seed})
    model = CoGovernanceModel(sc).run()
    return model.timeseries(), sc.n_residents()


def by_period(ts: pd.DataFrame, length: int) -> pd.DataFrame:
    """Sums of the daily flows per period of ``length`` days (1-based), the 三率 over its callbacks."""
    g = ts.assign(period=ts["day"] // length + 1).groupby("period")
    sums = g[["hotline_callbacks", "hotline_filed", *RATES.values(), "outcomes", "outcomes_resolved", "escalations",
              "bounces"]].sum()
    for rate, col in RATES.items():
        sums[rate] = sums[col] / sums["hotline_callbacks"].replace(0, np.nan)
    sums["resolution_rate"] = sums["outcomes_resolved"] / sums["outcomes"].replace(0, np.nan)
    return sums


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--preset", default="city")
    ap.add_argument("--years", type=int, default=6)
    ap.add_argument("--figure", default="docs/calibration/beijing_sanlv.png")
    args = ap.parse_args()
    days = args.years * YEAR
    t0 = time.perf_counter()
    runs = {name: run(name, days, args.preset, args.seed) for name in ("baseline", "beijing_reform")}
    wall = time.perf_counter() - t0
    rows = []
    for name, (ts, residents) in runs.items():
        years = by_period(ts, YEAR)
        for year, r in years.iterrows():
            rows.append({"year": year, "scenario": name, "response": r["response"], "resolution": r["resolution"],
                         "satisfaction": r["satisfaction"], "demands_per_resident": r["hotline_filed"] / residents,
                         "demands_filed": int(r["hotline_filed"]), "real_resolution_rate": r["resolution_rate"],
                         "escalations": int(r["escalations"]), "bounces": int(r["bounces"])})
    table = pd.DataFrame(rows).sort_values(["year", "scenario"])
    print(f"{args.preset} preset, {runs['baseline'][1]:,} residents, seed {args.seed}, {args.years} reported years "
          f"after the burn-in; {wall:.0f} s")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    figure(runs, Path(args.figure))
    print(f"figure: {args.figure}")


def figure(runs: dict, path: Path) -> None:
    from sim.report.figures import style

    with style("zh"):  # a font with the CJK glyphs of the title
        _draw(runs, path)


def _draw(runs: dict, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 3, sharey=True)
    for ax, rate in zip(axes, RATES, strict=True):
        for name, style in (("baseline", "--"), ("beijing_reform", "-")):
            months = by_period(runs[name][0], MONTH)
            ax.plot(months.index, months[rate], style, label=name)
        ax.set_title(f"12345 {rate} rate, monthly")
        ax.set_xlabel("reported month")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of the month's callbacks")
    axes[0].legend(fontsize=8)
    fig.suptitle("Beijing's reforms from the calibrated baseline (levers only, nothing fitted): the 三率 by month",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
