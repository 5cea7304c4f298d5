"""``cogov frontier``: reform packages on a Pareto front (NSGA-II over lever values), and the
packages a team would look at first."""

from __future__ import annotations

import time
from pathlib import Path

from ..params import PRESETS, ScenarioError
from .cache import add_no_cache_option, honours_no_cache
from .common import add_executor_options, check_days, check_extra, fail, failed_runs, interrupted, print_written


def add_parser(sub) -> None:
    from ..experiments.frontier import GENERATIONS, LEVERS, OBJECTIVES, POPULATION, REPS

    p = sub.add_parser("frontier", help="reform packages on a Pareto front: resolution, satisfaction, cost, gaming",
                       description="Search lever packages (values of the levers in --levers, the others at the "
                                   "baseline's) for the best trade-offs between the --objectives, by NSGA-II "
                                   "(Optuna), every package on the same replicate seeds (common random numbers) at "
                                   "the calibrated baseline. Prints the feasible non-dominated packages and the "
                                   "three to look at first (best on each objective under the budget, and the "
                                   "knee); writes frontier.csv (every package), front.csv, picks.csv and "
                                   "frontier.png into --out. The baseline's package is evaluated first.")
    p.add_argument("--budget", type=float, metavar="YUAN",
                   help="most money a package may add to the baseline's budget, in yuan per resident and year "
                        "(KPI added_budget_per_resident; default: no cap)")
    p.add_argument("--objectives", default=",".join(OBJECTIVES),
                   help=f"comma-separated KPIs, each with its registry direction (default {','.join(OBJECTIVES)})")
    p.add_argument("--levers", default=",".join(LEVERS),
                   help=f"comma-separated levers searched (default {','.join(LEVERS)})")
    p.add_argument("--population", type=int, default=POPULATION, help=f"packages per generation (default {POPULATION})")
    p.add_argument("--generations", type=int, default=GENERATIONS, help=f"generations (default {GENERATIONS})")
    p.add_argument("--reps", type=int, default=REPS, help=f"replicates per package (default {REPS})")
    p.add_argument("--base", default="baseline",
                   help="scenario whose other levers the packages keep (default baseline)")
    p.add_argument("--days", type=int, help="days per run (default: the base's)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: the base's)")
    p.add_argument("--seed", type=int, default=1, help="root seed: the sampler and the replicates (default 1)")
    p.add_argument("--out", help="folder (default: out/frontier)")
    add_executor_options(p)
    add_no_cache_option(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or tables; print only the paths")
    p.set_defaults(func=cmd_frontier)


@honours_no_cache
def cmd_frontier(args) -> int:
    from ..experiments.frontier import RunsFailed, check_levers, direction, search
    from ..io import OutputError, check_writable, folder_lock
    from ..memory import MemoryNeedError, check_memory
    from ..params import load_scenario
    from ..report.frontier import tables_text, write_frontier
    from .common import runs_at_once

    if (bad := check_extra(("optuna",), "decide")) is not None:
        return bad
    for opt, least in (("population", 2), ("generations", 1), ("reps", 1)):
        if getattr(args, opt) < least:
            return fail(f"--{opt} must be at least {least} (got {getattr(args, opt)})")
    if args.workers is not None and args.workers < 1:
        return fail("--workers must be at least 1")
    if (bad := check_days(args.days)) is not None:
        return bad
    if args.out is not None and not args.out.strip():
        return fail("--out must not be empty")
    objectives = [k.strip() for k in args.objectives.split(",") if k.strip()]
    try:
        levers = check_levers([k.strip() for k in args.levers.split(",") if k.strip()])
        if len(objectives) < 2:
            return fail("--objectives: give at least two KPIs (one is an optimisation, not a front)")
        for k in objectives:
            direction(k)
        base = load_scenario(args.base, days=args.days, preset=args.preset)
    except ScenarioError as exc:
        return fail(str(exc))
    out = Path(args.out or Path("out") / "frontier")
    t0 = time.perf_counter()
    try:
        check_memory(base, runs_at_once(args.executor, args.workers, args.scheduler), args.base)
        check_writable(out)
        with folder_lock(out, "frontier"):
            if not args.quiet:
                print(f"frontier: {args.generations} generations x {args.population} packages x {args.reps} "
                      f"replicates of {len(levers)} levers at the {base.preset} preset, {base.days} days -> {out}/")
            try:
                result = search(base, levers, objectives, out, args.budget, args.population, args.generations,
                                args.reps, args.seed, args.executor, args.workers, args.scheduler,
                                progress=not args.quiet)
            except RunsFailed as exc:
                return failed_runs(exc.failed, exc.folder)
            if result is None:
                return interrupted()
            written = write_frontier(result, out)
    except (OutputError, MemoryNeedError) as exc:
        return fail(str(exc))
    if not args.quiet:
        print(tables_text(result))
        print(f"{len(result.trials)} packages in {time.perf_counter() - t0:.0f} s")
    print_written("written", written, one_line=True)
    return 0
