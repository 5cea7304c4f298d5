"""The ``cogov`` command. Thin: it parses, calls the package, prints.

Exit codes: 0 success; 2 bad input (scenario file, option, output folder); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .params import PRESETS, ScenarioError, load_scenario, scenarios_dir
from .registry import SWEEP_KPIS


def _fail(message: str) -> int:
    print(f"cogov: error: {message}", file=sys.stderr)
    return 2


def _progress(total: int, quiet: bool, label: str):
    """A progress bar on stderr (tqdm), or nothing when quiet."""
    if quiet:
        return None, None
    from tqdm import tqdm
    bar = tqdm(total=total, desc=label, unit="day", file=sys.stderr, leave=False,
               disable=None if sys.stderr.isatty() else True)
    return bar, (lambda _day: bar.update(1))


def _warn_unreached_schedule(scenario) -> None:
    for entry in scenario.schedule:
        if entry.day >= scenario.days:
            print(f"cogov: warning: {scenario.name}: schedule entry for day {entry.day} is after the last simulated "
                  f"day ({scenario.days - 1}); it never takes effect", file=sys.stderr)


def cmd_run(args) -> int:
    from .io import OutputError, check_writable, write_run
    from .metrics import kpi_table
    from .model import CoGovernanceModel

    try:
        scenario = load_scenario(args.scenario, seed=args.seed, days=args.days, preset=args.preset)
    except ScenarioError as exc:
        return _fail(str(exc))
    if args.out is not None and not args.out.strip():
        return _fail("--out must not be empty")
    out = Path(args.out) if args.out else Path("out") / f"{scenario.name}_{scenario.preset}_seed{scenario.seed}"
    _warn_unreached_schedule(scenario)
    try:
        check_writable(out)
    except OutputError as exc:
        return _fail(str(exc))
    t0 = time.perf_counter()
    model = CoGovernanceModel(scenario)
    build = time.perf_counter() - t0
    bar, tick = _progress(scenario.days, args.quiet, f"{scenario.name} ({scenario.preset})")
    try:
        model.run(scenario.days, progress=tick)
    except KeyboardInterrupt:
        print("cogov: interrupted; nothing was written", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    try:
        write_run(out, model, {"wall_seconds": round(wall, 3), "build_seconds": round(build, 3)}, csv=args.csv)
    except OSError as exc:
        return _fail(f"--out {out}: cannot write results: {exc}")
    if not args.quiet:
        print(f"{scenario.name}: {scenario.preset} preset, {model.population.n:,} residents, "
              f"{scenario.days} days, seed {scenario.seed} ({wall:.1f} s)")
        print(kpi_table({scenario.name: model.summary()}))
        print(f"results in {out}/ (timeseries.parquet, cases.parquet, summary.json, scenario.toml, meta.json)")
    return 0


def cmd_validate(args) -> int:
    bad = 0
    for f in args.files:
        try:
            sc = load_scenario(Path(f))
        except ScenarioError as exc:
            print(f"cogov: error: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(f"ok: {f} (name {sc.name!r}, preset {sc.preset}, {sc.days} days, {len(sc.schedule)} scheduled change{'s' * (len(sc.schedule) != 1)})")
    return 2 if bad else 0


def cmd_scenarios(args) -> int:
    for f in sorted(scenarios_dir().glob("*.toml")):
        try:
            sc = load_scenario(f)
            print(f"{f.stem:<22} {sc.description}")
        except ScenarioError as exc:
            print(f"{f.stem:<22} INVALID: {exc}")
    return 0


def _aligned(rows: list[list[str]]) -> str:
    """Rows of cells as a table with aligned columns (CJK characters take two columns)."""
    from .report.i18n import display_width

    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _print_json(entries: list[dict]) -> None:
    import json
    print(json.dumps(entries, ensure_ascii=False, indent=2))


def cmd_levers(args) -> int:
    from .registry import LEVERS, records, unit_label
    from .report.i18n import t

    if args.json:
        _print_json(records(LEVERS))
        return 0
    L = args.lang
    head = ["lever", "label", "range", "unit", "mechanisms", "cost", "cost_params"]
    rows = [[t("registry.lever", L)] + [t(f"registry.{h}", L) for h in head[1:]]]
    for lv in LEVERS.values():
        rows.append([lv.name, lv.label(L), f"{lv.low:g}–{lv.high:g}", unit_label(lv.unit, L), ", ".join(lv.mechanisms),
                     lv.cost(L), ", ".join(lv.cost_params) or "—"])
    print(_aligned(rows))
    return 0


def cmd_kpis(args) -> int:
    from .registry import KPIS, records, unit_label
    from .report.i18n import t

    if args.json:
        _print_json(records(KPIS))
        return 0
    L = args.lang
    better = {1: "↑ " + t("table.higher", L), -1: "↓ " + t("table.lower", L), 0: t("table.neither", L)}
    yes_no = {True: t("registry.yes", L), False: t("registry.no", L)}
    head = ["kpi", "label", "unit", "better", "kind", "format", "scales", "source"]
    rows = [[t(f"registry.{h}", L) for h in head]]
    for k in KPIS.values():
        rows.append([k.name, k.label(L), unit_label(k.unit, L), better[k.better], k.kind, k.fmt,
                     yes_no[k.scales_with_population], t("registry.daily" if k.daily else "registry.summary", L)])
    print(_aligned(rows))
    return 0


def _start_sweep(args, sampler: str | None = None):
    """Load the spec, check the output folder, run or resume the sweep. Returns (spec, out, report) or an exit code."""
    from .experiments.spec import SpecError, load_spec
    from .experiments.sweep import run_sweep
    from .io import OutputError, check_writable

    if args.workers is not None and args.workers < 1:
        return _fail("--workers must be at least 1")
    if args.scheduler and args.executor != "dask":
        return _fail("--scheduler needs --executor dask")
    try:
        spec, base = load_spec(args.spec, sampler=sampler)
    except SpecError as exc:
        return _fail(str(exc))
    out = Path(args.out) if args.out else Path("out") / "sweeps" / spec.name
    try:
        check_writable(out)
    except OutputError as exc:
        return _fail(str(exc))
    try:
        report = run_sweep(spec, base, out, args.executor, args.workers, args.scheduler,
                           progress=not args.quiet, spec_path=str(args.spec))
    except FileExistsError as exc:
        return _fail(str(exc))
    if not args.quiet or report.interrupted or report.failed:
        print(f"{spec.name}: {report.total} runs ({report.skipped} already on disk, {report.done} done now, "
              f"{report.failed} failed) in {report.seconds:.1f} s -> {out}/")
    if report.interrupted:
        print("cogov: interrupted; finished runs are on disk: rerun the same command to resume", file=sys.stderr)
        return 130
    if report.failed:
        print(f"cogov: {report.failed} run(s) failed; tracebacks in {out}/failures/ (rerun to retry them)",
              file=sys.stderr)
        return 1
    return spec, out, report


def cmd_sweep(args) -> int:
    started = _start_sweep(args)
    if isinstance(started, int):
        return started
    _, out, _ = started
    if not args.quiet:
        print(f"tables: cogov results {out}")
    return 0


def cmd_results(args) -> int:
    from .experiments.analysis import point_means
    from .experiments.store import SweepStore

    store = SweepStore(Path(args.dir))
    if not store.exists():
        return _fail(f"{args.dir}: no sweep here (manifest.json not found)")
    manifest = store.manifest()
    params = list(manifest["spec"]["parameters"])
    summaries = store.summaries()
    if summaries.empty:
        return _fail(f"{args.dir}: no finished run yet")
    table = point_means(summaries, params)
    base = Path(args.out) if args.out else store.root / "results"
    base = base.with_suffix("") if base.suffix in (".csv", ".parquet") else base
    try:
        table.to_csv(base.with_suffix(".csv"), index=False)
        table.to_parquet(base.with_suffix(".parquet"), index=False)
    except OSError as exc:
        return _fail(f"--out {base}: cannot write: {exc}")
    n_points = summaries["point"].nunique()
    expected = len({t["point"] for t in manifest["tasks"]})
    print(f"{len(summaries)} runs, {n_points} of {expected} points; mean [95% CI] across replicates:")
    show = table[table["kpi"].isin(SWEEP_KPIS)]
    wide = show.assign(cell=show.apply(lambda r: f"{r['mean']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}]"
                                       if r["n"] > 1 else f"{r['mean']:.3g}", axis=1))
    print(wide.pivot(index=["point", *params], columns="kpi", values="cell").to_string())
    print(f"tables: {base.with_suffix('.csv')} and {base.with_suffix('.parquet')}")
    return 0


def cmd_sensitivity(args) -> int:
    from .experiments.analysis import kpi_columns, sensitivity_figure, sensitivity_table
    from .experiments.spec import problem, sample_points
    from .experiments.store import SweepStore

    started = _start_sweep(args, sampler=args.method)
    if isinstance(started, int):
        return started
    spec, out, _ = started
    summaries = SweepStore(out).summaries()
    X = sample_points(spec)
    prob = problem(spec)
    kpis = kpi_columns(summaries, list(spec.parameters))
    table = sensitivity_table(args.method, prob, X, summaries, kpis, seed=spec.seed)
    table.to_csv(out / "sensitivity.csv", index=False)
    table.to_parquet(out / "sensitivity.parquet", index=False)
    fig = sensitivity_figure(table, args.method, list(SWEEP_KPIS))
    fig.savefig(out / "sensitivity.png", dpi=120)
    cols = ["kpi", "parameter", *(["S1", "S1_conf", "ST", "ST_conf"] if args.method == "sobol"
                                  else ["mu_star", "mu_star_conf", "sigma"])]
    print(table[table["kpi"].isin(SWEEP_KPIS)][cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"tables: {out}/sensitivity.csv, .parquet; figure: {out}/sensitivity.png")
    return 0


def cmd_compare(args) -> int:
    from .experiments.sweep import fingerprint
    from .io import OutputError, check_writable
    from .experiments.compare import DEFAULT_SCENARIOS, analyse, compare_tasks, load_scenarios, run_comparison

    if args.reps < 1:
        return _fail(f"--reps must be at least 1 (got {args.reps})")
    if args.workers is not None and args.workers < 1:
        return _fail("--workers must be at least 1")
    if args.days is not None and not 1 <= args.days <= 36500:
        return _fail(f"--days must be between 1 and 36500 (got {args.days})")
    sources = args.scenarios or list(DEFAULT_SCENARIOS)
    try:
        scenarios = load_scenarios(sources, args.days, args.preset)
    except ScenarioError as exc:
        return _fail(str(exc))
    if args.out is not None and not args.out.strip():
        return _fail("--out must not be empty")
    for sc in scenarios:
        _warn_unreached_schedule(sc)
    spec = {"kind": "compare", "scenarios": [s.name for s in scenarios], "reps": args.reps, "seed": args.seed}
    out = Path(args.out) if args.out else Path("out") / "compare" / fingerprint(
        spec, compare_tasks(scenarios, args.reps, args.seed))[:10]
    try:
        check_writable(out)
        from .report.i18n import cjk_font
        if args.lang == "zh":
            cjk_font()  # fail now, not after the runs, if no font can draw Chinese
    except (OutputError, RuntimeError) as exc:
        return _fail(str(exc))
    t0 = time.perf_counter()
    try:
        report = run_comparison(scenarios, args.reps, out, args.seed, args.executor, args.workers, args.scheduler,
                                progress=not args.quiet)
    except FileExistsError as exc:
        return _fail(str(exc))
    if report.interrupted:
        print("cogov: interrupted; finished runs are on disk: rerun the same command to resume", file=sys.stderr)
        return 130
    if report.failed:
        print(f"cogov: {report.failed} run(s) failed; tracebacks in {out}/failures/", file=sys.stderr)
        return 1
    from .model import CoGovernanceModel
    from .report.report import kpi_table_text, write_report
    from .streams import replicate_seeds

    comp = analyse(out)
    first = scenarios[0].model_copy(update={"seed": replicate_seeds(args.seed, args.reps)[0]})
    network_model = CoGovernanceModel(first).run()  # one run (the first scenario, replicate 0) for the network
    try:
        written = write_report(comp, out, args.lang, network_model)
    except OSError as exc:
        return _fail(f"--out {out}: cannot write the report: {exc}")
    if not args.quiet:
        print(kpi_table_text(comp, args.lang))
        print(f"{len(scenarios)} scenarios x {args.reps} replicates in {time.perf_counter() - t0:.0f} s "
              f"({report.skipped} runs reused)")
        for path in written:
            if path.suffix in (".html", ".md"):
                print(f"report: {path}")
    return 0


def _sweep_options(p) -> None:
    from .experiments.sweep import EXECUTORS
    p.add_argument("spec", help="sweep spec (TOML; see scenarios/sweeps/)")
    p.add_argument("--executor", choices=EXECUTORS, default="serial", help="where runs execute (default: serial)")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler (with --executor dask)")
    p.add_argument("--out", help="sweep folder (default: out/sweeps/NAME); rerun with the same folder to resume")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cogov",
        description="Simulate multi-actor co-governance of disputes in a Chinese city (市域社会治理).")
    from . import __version__
    p.add_argument("--version", action="version", version=f"cogov {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run one scenario and write its results",
                         description="Run one scenario, print its KPIs and write timeseries.parquet, "
                                     "cases.parquet, summary.json, scenario.toml and meta.json.")
    run.add_argument("scenario", nargs="?", default="baseline",
                     help="a scenario file or built-in name (default: baseline; see `cogov scenarios`)")
    run.add_argument("--seed", type=int, help="run seed (default: the scenario's)")
    run.add_argument("--days", type=int, help="days to simulate (default: the scenario's)")
    run.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: the scenario's)")
    run.add_argument("--out", help="output folder (default: out/NAME_PRESET_seedN)")
    run.add_argument("--csv", action="store_true", help="also write the tables as CSV")
    run.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("files", nargs="+", metavar="FILE", help="scenario TOML files to check")
    val.set_defaults(func=cmd_validate)

    lst = sub.add_parser("scenarios", help="list the built-in scenarios")
    lst.set_defaults(func=cmd_scenarios)

    for name, func, what in (("levers", cmd_levers, "reform levers: label, range, unit, where each acts, its cost"),
                             ("kpis", cmd_kpis, "KPIs: label, unit, direction of better, format, kind, scaling")):
        reg = sub.add_parser(name, help=f"list the {what}",
                             description=f"Print the {name} registry (sim/registry.py) as a table: {what}.")
        reg.add_argument("--lang", choices=("en", "zh"), default="en", help="language of labels (default en)")
        reg.add_argument("--json", action="store_true", help="print a JSON list of objects instead (every field)")
        reg.set_defaults(func=func)

    sw = sub.add_parser("sweep", help="run (or resume) a parameter sweep",
                        description="Run every point x replicate of a sweep spec; each finished run is saved "
                                    "at once, so rerunning the same command resumes an interrupted sweep.")
    _sweep_options(sw)
    sw.set_defaults(func=cmd_sweep)

    res = sub.add_parser("results", help="per-point means and 95%% CIs of a sweep's KPIs")
    res.add_argument("dir", help="a sweep folder")
    res.add_argument("--out", help="table path without extension (default: DIR/results); .csv and .parquet are written")
    res.set_defaults(func=cmd_results)

    sens = sub.add_parser("sensitivity", help="Sobol or Morris sensitivity analysis of a sweep spec's ranges")
    _sweep_options(sens)
    sens.add_argument("--method", choices=("sobol", "morris"), required=True)
    sens.set_defaults(func=cmd_sensitivity)

    cmp_ = sub.add_parser("compare", help="compare reform scenarios: KPI table, figures, report (zh/en)",
                          description="Run scenarios side by side on common random numbers (replicate r has the "
                                      "same seed in every scenario) and write report.html and report.md. With no "
                                      "scenario, compares the built-in reform set at the city preset.")
    cmp_.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                      help="scenario files or built-in names; the first is the reference (default: the reform set)")
    cmp_.add_argument("--reps", type=int, default=8, help="replicates per scenario (default 8)")
    cmp_.add_argument("--days", type=int, help="days per run (default: each scenario's)")
    cmp_.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: each scenario's)")
    cmp_.add_argument("--lang", choices=("en", "zh"), default="en", help="report language (default en)")
    cmp_.add_argument("--seed", type=int, default=1, help="root seed of the replicates (default 1)")
    cmp_.add_argument("--out", help="report folder (default: out/compare/<id of this comparison>)")
    cmp_.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    cmp_.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes")
    cmp_.add_argument("--scheduler", help="address of a running Dask scheduler (with --executor dask)")
    cmp_.add_argument("-q", "--quiet", action="store_true")
    cmp_.set_defaults(func=cmd_compare)

    # these commands are handed whole to their own module's main() (see main); listed here for --help
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=f"{text} (see `cogov {name} --help`)", add_help=False)
    return p


#: Commands with their own parser: name -> (module, help line).
DELEGATED = {
    "app": ("sim.app", "interactive teaching app in the browser (Mesa SolaraViz, zh/en)"),
    "calibrate": ("sim.calibrate", "fit the baseline's uncertain parameters to the published targets"),
    "reproduce": ("sim.reproduce", "test the sources' seven claims (MODEL §10) and write docs/FINDINGS.md"),
    "bench": ("sim.bench", "scale benchmark: classroom, city and full-scale tianjin"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in DELEGATED:
        import importlib
        return importlib.import_module(DELEGATED[argv[0]][0]).main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "days", None) is not None and not 1 <= args.days <= 36500:
        return _fail(f"--days must be between 1 and 36500 (got {args.days})")
    if getattr(args, "seed", None) is not None and args.seed < 0:
        return _fail("--seed must be 0 or more")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
