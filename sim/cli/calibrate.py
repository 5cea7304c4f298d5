"""``cogov calibrate``: an ensemble of the baseline's uncertain parameters that reproduces the
published targets (``sim.experiments.calibration``); writes posterior.parquet, fitted.toml (the
best set), the tables and the figures.

Exit codes 0 ok, 2 bad option or failed runs, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ..params import PRESETS, ScenarioError, load_scenario
from .common import add_executor_options, check_days, fail, interrupted, print_written, runs_at_once

COMMAND = "calibrate"


def build_parser() -> argparse.ArgumentParser:
    from ..experiments import calibration as cal

    p = argparse.ArgumentParser(
        prog="cogov calibrate",
        description="Calibrate the baseline as an ensemble: the uncertain parameters (declared with a fit range in the "
                    "scenario schema) are sampled by approximate Bayesian computation (adaptive population Monte "
                    "Carlo, Lenormand et al. 2013) until their runs reproduce the fitted targets of CALIBRATION.md; "
                    "held-back targets are only checked. One chain per root seed. Writes posterior.parquet (the "
                    "ensemble: parameter sets with weights), fitted.toml (the best set), targets.csv (best set and "
                    "ensemble), patterns.csv (held-back patterns of shape), parameters.csv (what the targets pin down), history.csv, calibration.png and "
                    "posterior.png into --out. To adopt the result, copy fitted.toml and posterior.parquet to "
                    "scenarios/calibration/ (docs/CALIBRATION.md). The targets are rates of a city over a year: at "
                    "the classroom preset or in short runs many are undefined or too noisy to fit, which is fine "
                    "for trying the command, not for a calibration.")
    p.add_argument("--targets", help="targets TOML (default: the built-in scenarios/calibration/targets.toml)")
    p.add_argument("--population", type=int, default=cal.POPULATION,
                   help=f"points per generation (default {cal.POPULATION}; the ensemble keeps --alpha of them per seed)")
    p.add_argument("--alpha", type=float, default=cal.ALPHA,
                   help=f"share of points kept after each generation (default {cal.ALPHA})")
    p.add_argument("--p-acc-min", type=float, default=cal.P_ACC_MIN,
                   help="stop a chain when this share or fewer of a generation's new points beat the last tolerance "
                        f"(default {cal.P_ACC_MIN})")
    p.add_argument("--generations", type=int, default=cal.GENERATIONS,
                   help=f"at most this many generations per chain (default {cal.GENERATIONS})")
    p.add_argument("--seeds", default=",".join(map(str, cal.ROOT_SEEDS)),
                   help="comma-separated root seeds, one chain each (default %(default)s)")
    p.add_argument("--reps", type=int, default=cal.REPS,
                   help=f"replicates per point (default {cal.REPS}: each chain has its own common random numbers)")
    p.add_argument("--final-reps", type=int, default=5, help="replicates of the best point for the report (default 5)")
    p.add_argument("--parameters", help="comma-separated subset of the uncertain parameters (default: all)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: the scenario's)")
    p.add_argument("--days", type=int, help="days per run (default: the scenario's)")
    p.add_argument("--out", default="out/calibrate", help="output folder (default out/calibrate); rerun to resume")
    add_executor_options(p, scheduler=False)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")
    return p


def parse_seeds(text: str) -> list[int] | None:
    """``"1,2"`` -> [1, 2]; None unless every item is a whole number of at least 0, and they differ."""
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        return None
    return seeds if seeds and min(seeds) >= 0 and len(set(seeds)) == len(seeds) else None


def main(argv: list[str] | None = None) -> int:
    from ..experiments.calibration import calibrate, fit_ranges, load_targets
    from ..io import OutputError, check_writable, folder_lock
    from ..memory import MemoryNeedError, check_memory
    from ..report.calibration import identifiability_text, pattern_table_text, target_table_text

    args = build_parser().parse_args(argv)
    for opt, v, least in (("--population", args.population, 3), ("--generations", args.generations, 1),
                          ("--reps", args.reps, 1), ("--final-reps", args.final_reps, 1),
                          ("--workers", args.workers, 1)):
        if v is not None and v < least:
            return fail(f"--{opt.lstrip('-')} must be at least {least} (got {v})", COMMAND)
    for opt, v in (("--alpha", args.alpha), ("--p-acc-min", args.p_acc_min)):
        if not 0 < v < 1:
            return fail(f"{opt} must be between 0 and 1, both excluded (got {v})", COMMAND)
    seeds = parse_seeds(args.seeds)
    if seeds is None:
        return fail(f"--seeds: need different whole numbers of at least 0, separated by commas (got {args.seeds!r})",
                    COMMAND)
    if (bad := check_days(args.days, COMMAND)) is not None:
        return bad
    ranges = fit_ranges()
    names = list(ranges)
    if args.parameters:
        names = [n.strip() for n in args.parameters.split(",") if n.strip()]
        unknown = [n for n in names if n not in ranges]
        if unknown or not names:
            return fail(f"--parameters: not an uncertain parameter: {', '.join(unknown) or '(none given)'}; "
                        f"allowed: {', '.join(ranges)}", COMMAND)
    try:
        targets = load_targets(args.targets)
        scenario = load_scenario(targets.scenario, preset=args.preset, days=args.days)
    except ScenarioError as exc:
        return fail(str(exc), COMMAND)
    out = Path(args.out)
    t0 = time.perf_counter()
    try:
        check_memory(scenario, runs_at_once(args.executor, args.workers), str(args.targets))
        check_writable(out)
        with folder_lock(out, COMMAND):
            result = calibrate(scenario, targets, names, out, seeds, args.population, args.alpha, args.p_acc_min,
                               args.generations, args.reps, args.final_reps, args.executor, args.workers,
                               progress=not args.quiet)
            seconds = time.perf_counter() - t0
            written = write_outputs(result, out, args, argv, scenario, seconds)
    except KeyboardInterrupt:
        return interrupted(command=COMMAND)
    except FileExistsError as exc:
        return fail(f"{exc} (it holds a calibration with other settings)", COMMAND)
    except (OutputError, MemoryNeedError, RuntimeError) as exc:
        return fail(str(exc), COMMAND)
    if not args.quiet:
        print(target_table_text(result["targets"]))
        print()
        if len(result["patterns"]):
            print(pattern_table_text(result["patterns"]))
            print()
        print(identifiability_text(result["parameters"]))
        print(f"\n{in_band_text(result['targets'])}; {summary_text(result, args)}; {seconds:.0f} s")
        print_written("written", written, one_line=True)
    return 0


def summary_text(result: dict, args) -> str:
    """"ensemble of 60 sets (effective size 41) from 2 chains (5 and 6 generations), 360 points x 2
    replicates run, ..."."""
    from ..experiments.calibration import effective_size

    hist, ens = result["history"], result["ensemble"]
    gens = " and ".join(str(g) for g in hist.groupby("root_seed")["generation"].max())
    return (f"ensemble of {len(ens)} sets (effective size {effective_size(ens['weight']):.0f}) from "
            f"{ens['root_seed'].nunique()} chains ({gens} generations), "
            f"{len(hist)} points x {args.reps} replicates run, best set x {args.final_reps} replicates")


def in_band_text(targets) -> str:
    """"7 of 8 fitted targets in band, 2 of 2 held-back patterns"."""
    parts = []
    for role, what in (("fit", "fitted targets"), ("check", "held-back patterns")):
        rows = targets[targets["role"] == role]
        if len(rows):
            parts.append(f"{int(rows['in_band'].sum())} of {len(rows)} {what} in band")
    return ", ".join(parts)


def write_outputs(result: dict, out: Path, args, argv, scenario, seconds: float) -> list[Path]:
    """posterior.parquet, fitted.toml (with a header saying how it was made), targets.csv,
    patterns.csv, parameters.csv, history.csv, calibration.png and posterior.png in ``out``, each
    written atomically."""
    import io

    from .. import __version__
    from ..experiments.calibration import fit_ranges, fitted_toml
    from ..io import atomic_write_bytes
    from ..report.calibration import calibration_figure, posterior_figure
    from ..report.figures import save

    command = "cogov calibrate " + " ".join(argv if argv is not None else sys.argv[1:])
    header = [f"generated by: {command.strip()}",
              f"cogov {__version__}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, preset {scenario.preset}, "
              f"{scenario.days} days, root seeds {args.seeds}",
              f"the best set of the ensemble (posterior.parquet); {summary_text(result, args)}",
              f"{in_band_text(result['targets'])} (targets.csv); {seconds:.0f} s"]
    posterior = io.BytesIO()
    result["ensemble"].to_parquet(posterior, index=False)
    paths = {"posterior.parquet": posterior.getvalue(),
             "fitted.toml": fitted_toml(result["values"], header).encode(),
             "targets.csv": result["targets"].to_csv(index=False).encode(),
             "patterns.csv": result["patterns"].to_csv(index=False).encode(),
             "parameters.csv": result["parameters"].to_csv(index=False).encode(),
             "history.csv": result["history"].to_csv(index=False).encode()}
    written = []
    for name, data in paths.items():
        atomic_write_bytes(out / name, data)
        written.append(out / name)
    ranges = {n: fit_ranges()[n] for n in result["values"]}
    for name, fig in (("calibration.png", calibration_figure(result["targets"], result["history"])),
                      ("posterior.png", posterior_figure(result["ensemble"], ranges))):
        tmp = save(fig, out / f".{name}", "en", dpi=120)
        tmp.replace(out / name)
        written.append(out / name)
    return written
