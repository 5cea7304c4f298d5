"""Comparing reform scenarios (``cogov compare``): replicates paired on common random numbers.

Replicate r runs with the same seed in every scenario, so each scenario's difference from the
first is measured on the same cities, residents and stream of candidate disputes: paired
differences with a paired-t 95% confidence interval. Runs go through the sweep engine
(resumable store in DIR/runs, processes or Dask), and everything after the runs works on the
stored tables (``analyse``): the report (``sim.report.report``) renders the ``Comparison``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..params import Scenario, load_scenario
from ..registry import REPORT_KPIS, REPORT_SERIES
from ..streams import replicate_seeds
from .analysis import group_stats, paired_differences, timeseries_bands
from .spec import run_key
from .store import SweepStore
from .sweep import SweepReport, fingerprint, run_tasks

DEFAULT_SCENARIOS = ("baseline", "empowerment_only", "empowerment", "whistle", "incentives", "info_sharing",
                     "fengqiao", "social_mobilisation", "wuzhi")


@dataclass
class Comparison:
    """Everything the report needs, as tables."""

    names: list[str]          # scenario names, the first is the reference
    summaries: pd.DataFrame   # one row per run: scenario, replicate, KPIs
    stats: pd.DataFrame       # scenario x kpi: n, mean, sd, ci_low, ci_high
    diffs: pd.DataFrame       # scenario x kpi: paired difference from the first scenario
    bands: pd.DataFrame       # scenario x column x day: mean, low, high
    gap_stats: pd.DataFrame   # per scenario, reported closure rate - real resolution rate: n, mean, CI (as stats)
    gap_diffs: pd.DataFrame   # per scenario, that gap's paired difference from the first scenario (as diffs)
    reps: int
    days: int
    preset: str
    seed: int


def load_scenarios(sources: list[str], days: int | None, preset: str | None) -> list[Scenario]:
    scenarios = [load_scenario(s, days=days, preset=preset) for s in sources]
    names = [s.name for s in scenarios]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:  # the same scenario twice is allowed (its difference is exactly zero) but gets a suffix
        seen: dict[str, int] = {}
        for i, s in enumerate(scenarios):
            if s.name in dupes:
                seen[s.name] = seen.get(s.name, 0) + 1
                scenarios[i] = s.model_copy(update={"name": f"{s.name}#{seen[s.name]}"})
    return scenarios


def compare_tasks(scenarios: list[Scenario], reps: int, root_seed: int, thin: int = 7) -> list[dict]:
    seeds = replicate_seeds(root_seed, reps)
    tasks = []
    for i, sc in enumerate(scenarios):
        for r, seed in enumerate(seeds):
            s = sc.model_copy(update={"seed": seed})
            tasks.append({"key": run_key(s, seed), "point": i, "replicate": r, "seed": seed,
                          "values": {}, "scenario": s.model_dump(mode="json"), "thin": thin})
    return tasks


def run_comparison(scenarios: list[Scenario], reps: int, out: Path, root_seed: int = 1, executor: str = "processes",
                   workers: int | None = None, scheduler: str | None = None, progress: bool = True) -> SweepReport:
    tasks = compare_tasks(scenarios, reps, root_seed)
    spec = {"kind": "compare", "scenarios": [s.name for s in scenarios], "reps": reps, "seed": root_seed}
    manifest = {"name": "compare", "spec": spec, "root_seed": root_seed, "fingerprint": fingerprint(spec, tasks),
                "scenarios": [s.model_dump(mode="json") for s in scenarios]}
    return run_tasks(tasks, out, manifest, executor, workers, scheduler, progress, "compare")


def reported_gap(summaries: pd.DataFrame, reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gap between the closure rate an agency would report and the real resolution rate, run
    by run: its mean and t interval per scenario, and its paired difference from ``reference``
    (two empty tables when the summaries lack either rate)."""
    if not {"closure_rate_reported", "resolution_rate"} <= set(summaries.columns) or summaries.empty:
        return pd.DataFrame(), pd.DataFrame()
    g = summaries[["scenario", "replicate"]].copy()
    g["gap"] = summaries["closure_rate_reported"] - summaries["resolution_rate"]
    return group_stats(g, "scenario", ["gap"]), paired_differences(g, "scenario", reference, ["gap"])


def analyse(out: Path) -> Comparison:
    """The comparison's tables, from the stored runs."""
    store = SweepStore(out)
    manifest = store.manifest()
    names = manifest["spec"]["scenarios"]
    summaries = store.summaries()
    summaries["scenario"] = [names[p] for p in summaries["point"]]
    ts = store.timeseries()
    ts["scenario"] = [names[p] for p in ts["point"]]
    kpis = [k for k in REPORT_KPIS if k in summaries.columns]
    first = manifest["scenarios"][0]
    gap_stats, gap_diffs = reported_gap(summaries, names[0])
    return Comparison(
        names=names, summaries=summaries,
        stats=group_stats(summaries, "scenario", kpis),
        diffs=paired_differences(summaries, "scenario", names[0], kpis),
        bands=timeseries_bands(ts, "scenario", [c for c in REPORT_SERIES if c in ts.columns]),
        gap_stats=gap_stats, gap_diffs=gap_diffs,
        reps=manifest["spec"]["reps"], days=first["days"], preset=first["preset"], seed=manifest["root_seed"])
