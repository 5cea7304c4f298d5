"""``cogov run``: one scenario, its KPIs printed, its results written (atomically)."""

from __future__ import annotations

import time
from pathlib import Path

from ..params import PRESETS, ScenarioError, load_scenario
from .cache import add_no_cache_option, honours_no_cache
from .common import fail, interrupted, progress, warn_preset_replaces, warn_unreached_schedule

WRITTEN = "timeseries.parquet, cases.parquet, districts.parquet, network.parquet, summary.json, scenario.toml, meta.json"


def add_parser(sub) -> None:
    run = sub.add_parser("run", help="run one scenario and write its results",
                         description="Run one scenario, print its KPIs and write timeseries.parquet, "
                                     "cases.parquet, districts.parquet, network.parquet, summary.json, scenario.toml and meta.json.")
    run.add_argument("scenario", nargs="?", default="baseline",
                     help="a scenario file or built-in name (default: baseline; see `cogov scenarios`)")
    run.add_argument("--seed", type=int, help="run seed (default: the scenario's)")
    run.add_argument("--days", type=int, help="days to simulate (default: the scenario's)")
    run.add_argument("--preset", choices=sorted(PRESETS), help="structure preset (default: the scenario's)")
    run.add_argument("--out", help="output folder (default: out/NAME_PRESET_seedN)")
    run.add_argument("--csv", action="store_true", help="also write the tables as CSV")
    add_no_cache_option(run)
    run.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    run.set_defaults(func=cmd_run)


@honours_no_cache
def cmd_run(args) -> int:
    from ..io import OutputError, check_replaceable, check_writable, write_run
    from ..memory import MemoryNeedError, check_memory
    from ..metrics import kpi_table
    from ..model import CoGovernanceModel

    try:
        scenario = load_scenario(args.scenario, seed=args.seed, days=args.days, preset=args.preset)
    except ScenarioError as exc:
        return fail(str(exc))
    if args.out is not None and not args.out.strip():
        return fail("--out must not be empty")
    out = Path(args.out) if args.out else Path("out") / f"{scenario.name}_{scenario.preset}_seed{scenario.seed}"
    warn_unreached_schedule(scenario)
    warn_preset_replaces(args.scenario, args.preset)
    try:
        check_writable(out)
        check_replaceable(out)
    except OutputError as exc:
        return fail(str(exc))
    t0 = time.perf_counter()
    try:
        check_memory(scenario, where=args.scenario)  # named by what the user gave: a file or a built-in name
        model = CoGovernanceModel(scenario)
    except MemoryNeedError as exc:
        return fail(str(exc))
    build = time.perf_counter() - t0
    bar, tick = progress(scenario.days, args.quiet, f"{scenario.name} ({scenario.preset})")
    try:
        model.run(scenario.days, progress=tick)
    except KeyboardInterrupt:
        return interrupted("interrupted; nothing was written")
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - t0
    try:
        write_run(out, model, {"wall_seconds": round(wall, 3), "build_seconds": round(build, 3)},
                  csv=args.csv)
    except OSError as exc:
        return fail(f"--out {out}: cannot write results: {exc}")
    if not args.quiet:
        print(f"{scenario.name}: {scenario.preset} preset, {model.population.n:,} residents, "
              f"{scenario.days} days after a burn-in of {scenario.burn_in} ({model.burn_in_source}), "
              f"seed {scenario.seed} ({wall:.1f} s)")
        print(kpi_table({scenario.name: model.summary()}))
        print(f"results in {out}/ ({WRITTEN})")
    return 0
