"""Response curves of the mechanisms the model exists for (issue 12's "Done when"): resolved per
detected, hotline satisfaction and mean trust at the end, against

- ``incentive_strength`` {0, 1, 3} under closure-count evaluation (w_closures 1, other weights 0),
- ``info_sharing`` {0, 0.5, 1},
- ``authority_devolution`` {0.1, 0.5, 0.9} without resources (resources_follow 0) and with
  (resources_follow 0.8),

each on the baseline, city preset, 365 reported days, seeds 1-3 (the same burned-in city for a
seed: common random numbers). Prints mean +/- standard deviation over seeds.

    python benchmarks/response_curves.py                 # the table above
    python benchmarks/response_curves.py --seeds 1 --days 180 --preset classroom

A figure, not a test: reform outcomes are findings.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import CoGovernanceModel  # noqa: E402

CLOSURE_COUNTS = dict(w_process=0.0, w_closures=1.0, w_satisfaction=0.0, w_local=0.0)
CURVES = {
    "incentive_strength (closure counts)": [dict(CLOSURE_COUNTS, incentive_strength=v) for v in (0.0, 1.0, 3.0)],
    "info_sharing": [dict(info_sharing=v) for v in (0.0, 0.5, 1.0)],
    "authority_devolution, no resources": [dict(authority_devolution=v, resources_follow=0.0) for v in (0.1, 0.5, 0.9)],
    "authority_devolution, resources 0.8": [dict(authority_devolution=v, resources_follow=0.8)
                                            for v in (0.1, 0.5, 0.9)],
}
MEASURES = ("resolved_per_detected", "hotline_satisfaction_rate", "trust_mean_end", "closed_superficially")


def _run(preset: str, days: int, seed: int, levers: dict) -> list[float]:
    s = CoGovernanceModel("baseline", seed=seed, preset=preset, days=days, levers=levers).run().summary()
    return [s[k] for k in MEASURES]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="city")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="processes (default: all cores)")
    a = ap.parse_args(argv)
    print(f"baseline, {a.preset}, {a.days} reported days, seeds {a.seeds}: mean +/- sd over seeds")
    print(f"{'lever':<38}{'value':>6}  " + "  ".join(f"{m:>26}" for m in MEASURES))
    with ProcessPoolExecutor(a.workers) as pool:
        jobs = {(curve, i): [pool.submit(_run, a.preset, a.days, seed, levers) for seed in a.seeds]
                for curve, points in CURVES.items() for i, levers in enumerate(points)}
        for (curve, i), futures in jobs.items():
            levers = CURVES[curve][i]
            lever = curve.split(" ")[0].rstrip(",")
            x = np.array([f.result() for f in futures], dtype=float)
            sds = x.std(0, ddof=1) if len(x) > 1 else np.zeros(len(MEASURES))
            cells = "  ".join(f"{mu:>19.3f} ± {sd:.3f}" for mu, sd in zip(x.mean(0), sds))
            print(f"{curve:<38}{levers[lever]:>6.1f}  {cells}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
