"""``cogov calibrate``: fit the baseline's uncertain parameters to the published targets
(``sim.experiments.calibration``); writes fitted.toml, the tables and the figure.

Exit codes 0 ok, 2 bad option or failed runs, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ..params import PRESETS, ScenarioError, load_scenario
from .common import check_days, fail, interrupted, print_written, runs_at_once

COMMAND = "calibrate"


def build_parser() -> argparse.ArgumentParser:
    from ..experiments.sweep import EXECUTORS

    p = argparse.ArgumentParser(
        prog="cogov calibrate",
        description="Fit the uncertain parameters (declared with a fit range in the scenario schema) so that the "
                    "baseline reproduces the published targets (CALIBRATION.md), by sequential ABC-style rejection "
                    "sampling on common random numbers. Writes fitted.toml, targets.csv, parameters.csv, "
                    "history.csv and calibration.png into --out. To adopt the result as the baseline's defaults, "
                    "copy fitted.toml to scenarios/calibration/fitted.toml (docs/CALIBRATION.md). The targets "
                    "are rates of a city over a year: at the classroom preset or in short runs many are undefined "
                    "or too noisy to fit, which is fine for trying the command, not for a calibration.")
    p.add_argument("--targets", help="targets TOML (default: the built-in scenarios/calibration/targets.toml)")
    p.add_argument("--budget", type=int, default=120, help="parameter points evaluated in all (default 120)")
    p.add_argument("--rounds", type=int, default=3, help="sampling rounds the budget is split over (default 3)")
    p.add_argument("--reps", type=int, default=2, help="replicates per point while searching (default 2)")
    p.add_argument("--final-reps", type=int, default=5, help="replicates of the best point for the report (default 5)")
    p.add_argument("--parameters", help="comma-separated subset of the uncertain parameters (default: all)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: the scenario's)")
    p.add_argument("--days", type=int, help="days per run (default: the scenario's)")
    p.add_argument("--seed", type=int, default=1, help="root seed of replicates and sampling (default 1)")
    p.add_argument("--out", default="out/calibrate", help="output folder (default out/calibrate); rerun to resume")
    p.add_argument("--executor", choices=EXECUTORS, default="processes", help="where runs execute (default processes)")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table")
    return p


def main(argv: list[str] | None = None) -> int:
    from ..experiments.calibration import calibrate, fit_ranges, load_targets
    from ..io import OutputError, check_writable, folder_lock
    from ..memory import MemoryNeedError, check_memory
    from ..report.calibration import target_table_text

    args = build_parser().parse_args(argv)
    for opt, v, least in (("--budget", args.budget, 2), ("--rounds", args.rounds, 1), ("--reps", args.reps, 1),
                          ("--final-reps", args.final_reps, 1), ("--workers", args.workers, 1),
                          ("--seed", args.seed, 0)):
        if v is not None and v < least:
            return fail(f"{opt} must be at least {least} (got {v})", COMMAND)
    if args.budget < 2 * args.rounds:
        return fail(f"--budget ({args.budget}) must give each of the {args.rounds} rounds at least 2 points", COMMAND)
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
            result = calibrate(scenario, targets, names, out, args.budget, args.rounds, args.reps,
                               args.final_reps, args.seed, args.executor, args.workers, progress=not args.quiet)
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
        print(result["parameters"].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"\n{in_band_text(result['targets'])}; {len(result['history'])} points x "
              f"{args.reps} replicates searched, best point x {args.final_reps} replicates; {seconds:.0f} s")
        print_written("written", written, one_line=True)
    return 0


def in_band_text(targets) -> str:
    """"7 of 8 fitted targets in band, 2 of 2 held-back patterns"."""
    parts = []
    for role, what in (("fit", "fitted targets"), ("check", "held-back patterns")):
        rows = targets[targets["role"] == role]
        if len(rows):
            parts.append(f"{int(rows['in_band'].sum())} of {len(rows)} {what} in band")
    return ", ".join(parts)


def write_outputs(result: dict, out: Path, args, argv, scenario, seconds: float) -> list[Path]:
    """fitted.toml (with a header saying how it was made), targets.csv, parameters.csv, history.csv
    and calibration.png in ``out``, each written atomically."""
    from .. import __version__
    from ..experiments.calibration import fitted_toml
    from ..io import atomic_write_bytes
    from ..report.calibration import calibration_figure
    from ..report.figures import save

    command = "cogov calibrate " + " ".join(argv if argv is not None else sys.argv[1:])
    header = [f"generated by: {command.strip()}",
              f"cogov {__version__}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, preset {scenario.preset}, "
              f"{scenario.days} days, seed {args.seed}, {len(result['history'])} points x {args.reps} replicates",
              f"{in_band_text(result['targets'])} with {args.final_reps} replicates "
              f"(targets.csv); {seconds:.0f} s"]
    paths = {"fitted.toml": fitted_toml(result["values"], header).encode(),
             "targets.csv": result["targets"].to_csv(index=False).encode(),
             "parameters.csv": result["parameters"].to_csv(index=False).encode(),
             "history.csv": result["history"].to_csv(index=False).encode()}
    written = []
    for name, data in paths.items():
        atomic_write_bytes(out / name, data)
        written.append(out / name)
    tmp = save(calibration_figure(result["targets"], result["history"]), out / ".calibration.png", "en", dpi=120)
    tmp.replace(out / "calibration.png")
    written.append(out / "calibration.png")
    return written
