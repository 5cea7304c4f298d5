"""``cogov compare``: reform scenarios side by side on common random numbers, and their report."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from ..params import PRESETS, ScenarioError
from .cache import add_no_cache_option, honours_no_cache
from .common import (
    add_executor_options,
    check_days,
    fail,
    failed_runs,
    interrupted,
    print_written,
    runs_at_once,
    warn_unreached_schedule,
)


def add_parser(sub) -> None:
    cmp_ = sub.add_parser("compare", help="compare reform scenarios: KPI table, figures, report (zh/en)",
                          description="Run scenarios side by side on common random numbers (replicate r has the "
                                      "same seed in every scenario) and write report.<lang>.html and report.<lang>.md "
                                      "(figures in figures/<lang>/) with the KPI table as kpis.<lang>.csv (and .xlsx "
                                      "where openpyxl is installed), beside the report in the other language if "
                                      "there is one. With no scenario, compares the built-in reform set at the "
                                      "city preset.")
    cmp_.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                      help="scenario files or built-in names; the first is the reference (default: the reform set)")
    cmp_.add_argument("--reps", type=int, default=8, help="replicates per scenario (default 8)")
    cmp_.add_argument("--days", type=int, help="days per run (default: each scenario's)")
    cmp_.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: each scenario's)")
    cmp_.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default en)")
    cmp_.add_argument("--seed", type=int, default=1, help="root seed of the replicates (default 1)")
    cmp_.add_argument("--out", help="report folder (default: out/compare/<id of this comparison>)")
    add_executor_options(cmp_)
    add_no_cache_option(cmp_)
    cmp_.add_argument("--max-tasks", type=int, metavar="N",
                      help="allow more than 20,000 runs (scenarios x replicates), which is refused by default")
    cmp_.add_argument("-q", "--quiet", action="store_true", help="no progress bar or table; print only the paths")
    cmp_.set_defaults(func=cmd_compare)


@honours_no_cache
def cmd_compare(args) -> int:
    from ..experiments.compare import DEFAULT_SCENARIOS, compare_tasks, load_scenarios
    from ..experiments.spec import MAX_TASKS
    from ..experiments.sweep import fingerprint
    from ..io import OutputError, check_writable, folder_lock
    from ..memory import MemoryNeedError, check_memory

    if args.reps < 1:
        return fail(f"--reps must be at least 1 (got {args.reps})")
    if args.workers is not None and args.workers < 1:
        return fail("--workers must be at least 1")
    if (bad := check_days(args.days)) is not None:
        return bad
    sources = args.scenarios or list(DEFAULT_SCENARIOS)
    try:
        scenarios = load_scenarios(sources, args.days, args.preset)
    except ScenarioError as exc:
        return fail(str(exc))
    if args.out is not None and not args.out.strip():
        return fail("--out must not be empty")
    runs, allowed = len(scenarios) * args.reps, args.max_tasks or MAX_TASKS
    if runs > allowed:  # a typo in --reps should not start a study of months
        return fail(f"--reps {args.reps}: {len(scenarios)} scenarios x {args.reps} replicates are {runs:,} runs, more "
                    f"than the {allowed:,} allowed; pass --max-tasks {runs} if you mean it")
    for sc in scenarios:
        warn_unreached_schedule(sc)
    spec = {"kind": "compare", "scenarios": [s.name for s in scenarios], "reps": args.reps, "seed": args.seed}
    out = Path(args.out) if args.out else Path("out") / "compare" / fingerprint(
        spec, compare_tasks(scenarios, args.reps, args.seed))[:10]
    try:
        at_once = runs_at_once(args.executor, args.workers, args.scheduler)
        for source, sc in zip(sources, scenarios, strict=True):
            check_memory(sc, at_once, source)
        check_writable(out)
        from ..report.i18n import cjk_font
        if args.lang == "zh":
            cjk_font()  # fail now, not after the runs, if no font can draw Chinese
    except (OutputError, MemoryNeedError, RuntimeError) as exc:
        return fail(str(exc))
    try:
        with folder_lock(out, "compare"):  # one command at a time in the folder: its runs and its report
            return _run_and_report(args, scenarios, out)
    except OutputError as exc:  # FolderBusy: another process holds the folder
        return fail(str(exc))


def command_line(args, out: Path) -> str:
    """The ``cogov compare`` command that makes this comparison's report again: its scenarios and every
    option that changes a number or the report (not how the runs execute), defaults included."""
    words = ["cogov", "compare", *args.scenarios, "--reps", str(args.reps), "--seed", str(args.seed)]
    for option in ("days", "preset"):
        if getattr(args, option) is not None:
            words += [f"--{option}", str(getattr(args, option))]
    return shlex.join([*words, "--lang", args.lang, "--out", str(out)])


def _run_and_report(args, scenarios, out: Path) -> int:
    """Run (or resume) the comparison in ``out`` and write its report in ``args.lang``; the exit code."""
    from ..experiments.compare import analyse, run_comparison
    from ..metrics import network_snapshot
    from ..model import CoGovernanceModel
    from ..report.report import kpi_table_text, write_report
    from ..streams import replicate_seeds

    t0 = time.perf_counter()
    try:
        report = run_comparison(scenarios, args.reps, out, args.seed, args.executor, args.workers, args.scheduler,
                                progress=not args.quiet)
    except FileExistsError as exc:
        return fail(str(exc))
    if report.interrupted:
        return interrupted()
    if report.failed:
        return failed_runs(report.failed, out)
    comp = analyse(out)
    first = scenarios[0].model_copy(update={"seed": replicate_seeds(args.seed, args.reps)[0]})
    network = network_snapshot(CoGovernanceModel(first).run())  # one run (the first scenario, replicate 0)
    try:
        written = write_report(comp, out, args.lang, network, command_line(args, out))
    except OSError as exc:
        return fail(f"--out {out}: cannot write the report: {exc}")
    if not args.quiet:
        print(kpi_table_text(comp, args.lang))
        print(f"{len(scenarios)} scenarios x {args.reps} replicates in {time.perf_counter() - t0:.0f} s "
              f"({report.skipped} runs reused)")
        print_written("report", written, (".html", ".md"))
        print_written("table", written, (".csv", ".xlsx"))
    return 0
