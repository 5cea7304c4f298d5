"""``cogov robust``: reform options across futures (ensemble members × deep uncertainties):
regret, satisficing and the conditions under which each option fails (PRIM)."""

from __future__ import annotations

import time
from pathlib import Path

from ..params import PRESETS, ScenarioError
from .cache import add_no_cache_option, honours_no_cache
from .common import (
    add_executor_options,
    check_days,
    check_extra,
    fail,
    failed_runs,
    interrupted,
    print_written,
    runs_at_once,
    warn,
)

DEFAULT_OPTIONS = ("baseline", "empowerment", "incentives", "info_sharing")


def add_parser(sub) -> None:
    from ..experiments.robust import FUTURES, REPS

    p = sub.add_parser("robust", help="reform options across futures: regret, satisficing, when each fails (PRIM)",
                       description="Evaluate reform options (scenarios that change levers) in many futures: each "
                                   "future is a parameter set of the calibrated ensemble under one draw of the deep "
                                   "uncertainties of a futures file (growing needs, a staff budget cut, a platform "
                                   "that works worse than planned...). Every option runs in every future on common "
                                   "random numbers. Prints, per option and KPI, the mean, the worst decile, the regret "
                                   "(shortfall from the best option in the same future: mean and maximum) and the "
                                   "share of futures meeting the file's thresholds; and, per option, the conditions "
                                   "under which it fails them (scenario discovery by PRIM, with coverage, density "
                                   "and mass). Writes robust.csv, futures.csv, discovery.csv and robust.png into "
                                   "--out.")
    p.add_argument("options", nargs="*", metavar="OPTION",
                   help=f"scenario files or built-in names (default: {' '.join(DEFAULT_OPTIONS)})")
    p.add_argument("--futures", type=int, default=FUTURES, metavar="N", help=f"how many futures (default {FUTURES})")
    p.add_argument("--spec", help="futures file: deep uncertainties, KPIs, thresholds (default: the built-in "
                                  "scenarios/robust/futures.toml)")
    p.add_argument("--posterior", help="calibrated ensemble to draw members from (default: the committed "
                                       "scenarios/calibration/posterior.parquet; without one, the fitted point)")
    p.add_argument("--reps", type=int, default=REPS, help=f"replicates per option and future (default {REPS})")
    p.add_argument("--days", type=int, help="days per run (default: each option's)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: each option's)")
    p.add_argument("--seed", type=int, default=1, help="root seed: futures and replicates (default 1)")
    p.add_argument("--out", help="folder (default: out/robust/<id of this study>)")
    add_executor_options(p)
    add_no_cache_option(p)
    p.add_argument("--max-tasks", type=int, metavar="N", help="allow more than 20,000 runs")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress or tables; print only the paths")
    p.set_defaults(func=cmd_robust)


@honours_no_cache
def cmd_robust(args) -> int:
    from ..experiments.compare import load_scenarios
    from ..experiments.ensemble import default_posterior_path, load_posterior
    from ..experiments.robust import build_futures, load_futures, study_spec
    from ..experiments.spec import MAX_TASKS
    from ..experiments.sweep import fingerprint
    from ..io import OutputError, check_writable, folder_lock
    from ..memory import MemoryNeedError, check_memory

    if (bad := check_extra(("ema_workbench",), "decide")) is not None:
        return bad
    for opt, least in (("futures", 1), ("reps", 1)):
        if getattr(args, opt) < least:
            return fail(f"--{opt} must be at least {least} (got {getattr(args, opt)})")
    if args.workers is not None and args.workers < 1:
        return fail("--workers must be at least 1")
    if (bad := check_days(args.days)) is not None:
        return bad
    if args.out is not None and not args.out.strip():
        return fail("--out must not be empty")
    sources = args.options or list(DEFAULT_OPTIONS)
    if len(sources) < 2:
        return fail("give at least two options to compare (regret is against the best of them)")
    try:
        options = load_scenarios(sources, args.days, args.preset)
        spec = load_futures(args.spec)
        posterior = None
        if args.posterior or default_posterior_path().is_file():
            posterior = load_posterior(args.posterior)
        else:
            warn("no calibrated ensemble is committed (scenarios/calibration/posterior.parquet): the futures vary "
                 "only the deep uncertainties, at the fitted point")
        runs, futures = build_futures(options, spec, args.futures, args.seed, posterior)
    except ScenarioError as exc:
        return fail(str(exc))
    total, allowed = args.futures * len(options) * args.reps, args.max_tasks or MAX_TASKS
    if total > allowed:
        return fail(f"--futures {args.futures}: {len(options)} options x {args.futures} futures x {args.reps} "
                    f"replicates are {total:,} runs, more than the {allowed:,} allowed; pass --max-tasks {total} "
                    "if you mean it")
    from ..experiments.compare import compare_tasks
    study = study_spec(options, futures, spec, args.reps, args.seed)
    out = Path(args.out) if args.out else Path("out") / "robust" / fingerprint(
        study, compare_tasks([s for row in runs for s in row], args.reps, args.seed))[:10]
    try:
        check_memory(options[0], runs_at_once(args.executor, args.workers, args.scheduler), sources[0])
        check_writable(out)
        with folder_lock(out, "robust"):
            return _run_and_report(args, runs, futures, spec, out)
    except (OutputError, MemoryNeedError) as exc:
        return fail(str(exc))


def _run_and_report(args, runs, futures, spec, out: Path) -> int:
    from ..experiments.robust import analyse, run_robust
    from ..report.robust import tables_text, write_robust

    t0 = time.perf_counter()
    if not args.quiet:
        print(f"robust: {len(runs[0])} options x {len(runs)} futures x {args.reps} replicates at the "
              f"{runs[0][0].preset} preset, {runs[0][0].days} days -> {out}/")
    try:
        report = run_robust(runs, futures, spec, args.reps, out, args.seed, args.executor, args.workers,
                            args.scheduler, progress=not args.quiet)
    except FileExistsError as exc:
        return fail(str(exc))
    if report.interrupted:
        return interrupted()
    if report.failed:
        return failed_runs(report.failed, out)
    result = analyse(out)
    written = write_robust(result, out)
    if not args.quiet:
        print(tables_text(result))
        print(f"{report.total} runs in {time.perf_counter() - t0:.0f} s ({report.skipped} reused)")
    print_written("written", written, one_line=True)
    return 0
