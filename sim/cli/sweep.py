"""``cogov sweep``, ``cogov results`` and ``cogov sensitivity``: run (or resume) a sweep spec, read
its per-point means back, screen or decompose its parameters' influence."""

from __future__ import annotations

import datetime as _dt
import shlex
from pathlib import Path

from .. import __version__
from ..registry import EFFECT_KPIS, SWEEP_KPIS
from .cache import add_no_cache_option, honours_no_cache
from .common import add_executor_options, fail, failed_runs, interrupted, runs_at_once, warn


def _sweep_options(p) -> None:
    p.add_argument("spec", help="sweep spec (TOML; see scenarios/sweeps/)")
    add_executor_options(p, default="serial")
    p.add_argument("--out", help="sweep folder (default: out/sweeps/NAME); rerun with the same folder to resume")
    p.add_argument("--max-tasks", type=int, metavar="N",
                   help="refuse a spec of more than N runs (default: 20,000, a guard against a typo in samples)")
    add_no_cache_option(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def add_parser(sub) -> None:
    sw = sub.add_parser("sweep", help="run (or resume) a parameter sweep",
                        description="Run every point x replicate of a sweep spec; each finished run is saved "
                                    "at once, so rerunning the same command resumes an interrupted sweep.")
    _sweep_options(sw)
    sw.set_defaults(func=cmd_sweep)


def add_results_parser(sub) -> None:
    res = sub.add_parser("results", help="per-point means and 95%% CIs of a sweep's KPIs")
    res.add_argument("dir", help="a sweep folder")
    res.add_argument("--out", help="table path without extension (default: DIR/results); .csv and .parquet are written")
    res.set_defaults(func=cmd_results)


def add_sensitivity_parser(sub) -> None:
    sens = sub.add_parser("sensitivity", help="Sobol or Morris sensitivity analysis of a sweep spec's ranges")
    _sweep_options(sens)
    sens.add_argument("--method", choices=("sobol", "morris"), required=True)
    sens.add_argument("--findings", metavar="FILE",
                      help="for a spec with effects and --method sobol: also write the section on what the reforms' "
                           "effects depend on into FILE (e.g. docs/FINDINGS.md; its other sections are kept, and "
                           "cogov reproduce keeps this one) and its figure beside it as STEM_sensitivity.png")
    sens.set_defaults(func=cmd_sensitivity)


def _start_sweep(args, sampler: str | None = None):
    """Load the spec, check the output folder, run or resume the sweep. Returns (spec, out, report) or an exit code."""
    from ..experiments.spec import MAX_TASKS, SpecError, load_spec
    from ..experiments.sweep import run_sweep
    from ..io import OutputError, check_writable, folder_lock
    from ..memory import MemoryNeedError, check_memory

    if args.workers is not None and args.workers < 1:
        return fail("--workers must be at least 1")
    if args.scheduler and args.executor != "dask":
        return fail("--scheduler needs --executor dask")
    if args.max_tasks is not None and args.max_tasks < 1:
        return fail("--max-tasks must be at least 1")
    try:
        spec, base = load_spec(args.spec, max_tasks=args.max_tasks or MAX_TASKS, sampler=sampler)
    except (SpecError, MemoryNeedError) as exc:
        return fail(str(exc))
    out = Path(args.out) if args.out else Path("out") / "sweeps" / spec.name
    try:
        check_memory(base, runs_at_once(args.executor, args.workers, args.scheduler), f"{args.spec}: key 'base'")
        check_writable(out)
        with folder_lock(out, "sweep"):
            report = run_sweep(spec, base, out, args.executor, args.workers, args.scheduler,
                               progress=not args.quiet, spec_path=str(args.spec))
    except (FileExistsError, OutputError, MemoryNeedError) as exc:
        return fail(str(exc))
    if not args.quiet or report.interrupted or report.failed:
        print(f"{spec.name}: {report.total} runs ({report.skipped} already on disk, {report.done} done now, "
              f"{report.failed} failed) in {report.seconds:.1f} s -> {out}/")
    if report.interrupted:
        return interrupted()
    if report.failed:
        return failed_runs(report.failed, out, "rerun to retry them")
    return spec, out, report


@honours_no_cache
def cmd_sweep(args) -> int:
    started = _start_sweep(args)
    if isinstance(started, int):
        return started
    _, out, _ = started
    if not args.quiet:
        print(f"tables: cogov results {out}")
    return 0


def cmd_results(args) -> int:
    from ..experiments.analysis import point_means
    from ..experiments.store import StoreError, SweepStore

    store = SweepStore(Path(args.dir))
    if not store.exists():
        return fail(f"{args.dir}: no sweep here (manifest.json not found)")
    try:
        manifest = store.manifest()
        summaries = store.summaries()
    except StoreError as exc:
        return fail(str(exc))
    params = manifest["spec"].get("parameters")
    if not isinstance(params, dict):
        return fail(f"{store.manifest_path}: key 'spec.parameters' missing: not a sweep folder "
                    f"(written by cogov {manifest.get('name', '?')}?); cogov results reads the folders of cogov sweep")
    params = list(params)
    for path in store.rejected:
        warn(f"{path}: incomplete or altered run file (checksum does not match); skipped "
             "(rerun the sweep to redo it)")
    if summaries.empty:
        return fail(f"{args.dir}: no finished run yet")
    if missing := [name for name in params if name not in summaries]:
        return fail(f"{store.manifest_path}: key 'tasks': the values name no parameter {', '.join(missing)} "
                    "of 'spec.parameters' (a damaged manifest: start the sweep in a new --out)")
    table = point_means(summaries, params + (["arm"] if "arm" in summaries else []))  # arm: a sweep with effects
    base = Path(args.out) if args.out else store.root / "results"
    base = base.with_suffix("") if base.suffix in (".csv", ".parquet") else base
    try:
        table.to_csv(base.with_suffix(".csv"), index=False)
        table.to_parquet(base.with_suffix(".parquet"), index=False)
    except OSError as exc:
        return fail(f"--out {base}: cannot write: {exc}")
    n_points = summaries["point"].nunique()
    expected = len({t["point"] for t in manifest["tasks"]})
    print(f"{len(summaries)} runs, {n_points} of {expected} points; mean [95% CI] across replicates:")
    show = table[table["kpi"].isin(SWEEP_KPIS)]
    wide = show.assign(cell=show.apply(lambda r: f"{r['mean']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
                                       if r["n"] > 1 else f"{r['mean']:.3g}", axis=1))
    index = ["point", *(["arm"] if "arm" in table else []), *params]
    print(wide.pivot(index=index, columns="kpi", values="cell").to_string())
    print(f"tables: {base.with_suffix('.csv')} and {base.with_suffix('.parquet')}")
    return 0


@honours_no_cache
def cmd_sensitivity(args) -> int:
    from ..experiments.analysis import effect_sensitivity_table, kpi_columns, sensitivity_table
    from ..experiments.claims import arm_text, record_timing
    from ..experiments.spec import SpecError, load_spec, problem, sample_points
    from ..experiments.store import SweepStore
    from ..io import git_state
    from ..report.sensitivity import sensitivity_figure

    if args.findings is not None and (args.method != "sobol" or Path(args.findings).is_dir()):
        return fail(f"--findings {args.findings}: needs --method sobol and a file path such as docs/FINDINGS.md")
    if args.findings is not None:
        try:
            spec, _ = load_spec(args.spec, sampler=args.method)
        except SpecError as exc:
            return fail(str(exc))
        if not spec.effects:
            return fail(f"--findings: {args.spec} has no effects (key 'effects'): there is no reform effect to "
                        "write up")
    commit, _ = git_state()
    started = _start_sweep(args, sampler=args.method)
    if isinstance(started, int):
        return started
    spec, out, report = started
    summaries = SweepStore(out).summaries()
    X = sample_points(spec)
    prob = problem(spec)
    kpis = kpi_columns(summaries, list(spec.parameters))
    cols = ["kpi", "parameter", *(["S1", "S1_conf", "ST", "ST_conf"] if args.method == "sobol"
                                  else ["mu_star", "mu_star_conf", "sigma"])]
    if spec.effects:  # the indices of the reforms' effects (arm - point), not of the levels
        table = effect_sensitivity_table(args.method, prob, X, summaries, [k for k in EFFECT_KPIS if k in kpis],
                                         spec.effects, seed=spec.seed)
        shown = table.assign(kpi=table["effect"] + ": " + table["kpi"]) if len(table) else table
        panels = [f"{e}: {k}" for e in spec.effects for k in EFFECT_KPIS]
        cols = ["effect", *cols, "effect_mean"]
        printed = table
    else:
        table = sensitivity_table(args.method, prob, X, summaries, kpis, seed=spec.seed)
        shown, panels = table, list(SWEEP_KPIS)
        printed = table[table["kpi"].isin(SWEEP_KPIS)] if len(table) else table
    table.to_csv(out / "sensitivity.csv", index=False)
    table.to_parquet(out / "sensitivity.parquet", index=False)
    fig = sensitivity_figure(shown, args.method, panels)
    fig.savefig(out / "sensitivity.png", dpi=120)
    if len(printed):
        print(printed[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    else:
        print("no index could be computed: every KPI is undefined at some point or the same everywhere")
    print(f"tables: {out}/sensitivity.csv, .parquet; figure: {out}/sensitivity.png")
    timing = record_timing(out, report.seconds, report.done)  # what the runs cost, over resumed invocations
    if args.findings is not None and not len(table):
        warn(f"--findings {args.findings}: no index of an effect could be computed, so nothing was written")
    elif args.findings is not None:
        meta = {"command": shlex.join(["cogov", "sensitivity", str(args.spec), "--method", "sobol",
                                       *(["--executor", args.executor] if args.executor != "serial" else []),
                                       "--findings", str(args.findings)]),
                "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"), "version": __version__,
                "commit": commit, "spec": args.spec, "points": len(X), "samples": spec.samples,
                "preset": spec.preset, "days": spec.days, "replicates": spec.replicates,
                "table": "sensitivity.csv",
                "timing": f"{report.total} runs, {timing['run_seconds']:.0f} s of wall time computing them over "
                          f"{timing['invocations']} invocation{'s' if timing['invocations'] != 1 else ''}"}
        written = write_findings_section(table, meta, Path(args.findings), list(EFFECT_KPIS),
                                         {e: arm_text(e) for e in spec.effects})
        print(f"findings: {', '.join(map(str, written))}")
    return 0


def write_findings_section(table, meta: dict, findings: Path, kpis: list[str], arm_texts: dict[str, str]) -> list[Path]:
    """Write (or replace) the sensitivity section of ``findings`` and its figure beside it."""
    from ..io import atomic_write_bytes
    from ..report.figures import save
    from ..report.sensitivity import effects_heatmap, effects_markdown, with_section

    findings.parent.mkdir(parents=True, exist_ok=True)
    figure = findings.with_name(f"{findings.stem}_sensitivity.png")
    save(effects_heatmap(table, kpis), figure, "en")
    old = findings.read_text(encoding="utf-8") if findings.is_file() else ""
    text = with_section(old, effects_markdown(table, meta, figure.name, kpis, arm_texts))
    atomic_write_bytes(findings, text.encode("utf-8"))
    return [findings, figure]
