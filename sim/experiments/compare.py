"""Comparing reform scenarios (``cogov compare``): replicates paired on common random numbers.

Replicate r runs with the same seed in every scenario, so each scenario's difference from the
first is measured on the same cities, residents and stream of candidate disputes: paired
differences with a paired-t 95% confidence interval. Runs go through the sweep engine
(resumable store in DIR/runs, processes or Dask), and everything after the runs works on the
stored tables (``analyse``): the report (``sim.report.report``) renders the ``Comparison``.

The judgement is made here, not in the report. A difference is *better* or *worse* only when its
interval lies wholly beyond the KPI's minimum important difference (``registry.Kpi.mid``) on that
side, *same* (no important difference) when it lies within it, *uncertain* otherwise (``change``).
KPIs of one family (``registry.GROUPS``) measure one fact, so an option is judged once per family
(``family_verdicts``) and ranked on the families (``rank_options``). ``scenario_changes`` says what
each option changes against the reference, ``caveats`` what limits the study.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import git_state
from ..params import PRESETS, Scenario, load_scenario
from ..registry import DISTRICT_KPIS, DISTRICT_REPORT, KINDS, KPIS, REPORT_KPIS, REPORT_SERIES, families
from ..streams import replicate_seeds
from .analysis import group_stats, paired_differences, timeseries_bands, verdict
from .spec import run_key
from .store import SweepStore
from .sweep import SweepReport, fingerprint, run_tasks

DEFAULT_SCENARIOS = ("baseline", "empowerment_only", "empowerment", "whistle", "incentives", "info_sharing",
                     "fengqiao", "social_mobilisation", "wuzhi")


#: A study with fewer replicates gets a caveat: at 3 the paired interval is t(0.975, 2) = 4.3 standard
#: errors wide each side, and most differences cannot be told from their minimum important difference.
MIN_REPS = 5
#: Runs shorter than a year get a caveat: moral education matures over a year (``emergence.moral_ramp_days``),
#: units learn from their evaluations period by period, and turnover is a yearly rate.
MIN_DAYS = 365
#: A preset with fewer residents gets a caveat: few cases, one district.
MIN_RESIDENTS = 100_000


@dataclass
class Comparison:
    """Everything the report needs, as tables."""

    names: list[str]          # scenario names, the first is the reference
    scenarios: list[dict]     # each scenario as run (its fields, as the manifest holds them), in ``names`` order
    summaries: pd.DataFrame   # one row per run: scenario, replicate, KPIs
    stats: pd.DataFrame       # scenario x kpi: n, mean, sd, ci_low, ci_high
    diffs: pd.DataFrame       # scenario x kpi: paired difference from the first scenario, with mid and verdict
    families: pd.DataFrame    # option x family of KPIs: verdict and the KPIs that show it (``family_verdicts``)
    ranking: pd.DataFrame     # per option: families better, worse, mixed, same, uncertain; rank (``rank_options``)
    changes: pd.DataFrame     # per option: levers and settings that differ from the reference (``scenario_changes``)
    caveats: list[tuple[str, dict]]  # what limits the study: (key, values) (``caveats``)
    bands: pd.DataFrame       # scenario x column x day: mean, low, high
    gap_stats: pd.DataFrame   # per scenario, reported closure rate - real resolution rate: n, mean, CI (as stats)
    gap_diffs: pd.DataFrame   # per scenario, that gap's paired difference from the first scenario (as diffs)
    districts: pd.DataFrame   # per option, district and KPI: paired difference, verdict, city-wide verdict
    reps: int
    days: int
    preset: str
    seed: int
    code: dict                # the code the runs began with: cogov version, git_commit, git_dirty


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
    commit, dirty = git_state()
    manifest = {"name": "compare", "spec": spec, "root_seed": root_seed, "fingerprint": fingerprint(spec, tasks),
                "scenarios": [s.model_dump(mode="json") for s in scenarios], "git_commit": commit, "git_dirty": dirty}
    return run_tasks(tasks, out, manifest, executor, workers, scheduler, progress, "compare")


# ------------------------------------------------------------------------------------------------
# judging the differences
# ------------------------------------------------------------------------------------------------

def change(n, ci_low, ci_high, better: int, mid: float) -> str:
    """How a paired difference reads against the minimum important difference ``mid`` (in the KPI's
    units): "better" or "worse" when its interval lies wholly beyond ``mid`` on that side (``better``
    +1 or -1: the KPI's direction), "same" when it lies within ±``mid`` (no important difference),
    "uncertain" when it crosses an edge (or ``mid`` is unknown); for a KPI with no direction
    (``better`` 0) "up" or "down" instead of better or worse; "unknown" with no interval (fewer than
    two replicates)."""
    if not (n >= 2 and np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "unknown"
    word = {"supported": "better" if better else "up", "reversed": "worse" if better else "down",
            "not supported": "same", "inconclusive": "uncertain"}
    return word[verdict(ci_low, ci_high, better or 1, 1, mid)]


def judge(diffs: pd.DataFrame, mids: dict[str, float], betters: dict[str, int]) -> pd.DataFrame:
    """``diffs`` (``analysis.paired_differences``) with each row's minimum important difference
    (``mid``, from ``mids`` by KPI) and its verdict (``change``, direction from ``betters``)."""
    out = diffs.copy()
    out["mid"] = [mids.get(k, float("nan")) for k in out["kpi"]]
    out["verdict"] = [change(r.n, r.ci_low, r.ci_high, betters.get(r.kpi, 0), r.mid) for r in out.itertuples()]
    return out


def kpi_mids(stats: pd.DataFrame, reference: str) -> dict[str, float]:
    """Each KPI's minimum important difference in its units: relative MIDs of the reference's mean."""
    ref = stats[stats["scenario"] == reference].set_index("kpi")["mean"]
    return {k: KPIS[k].mid.of(float(ref.get(k, float("nan")))) for k in stats["kpi"].unique() if k in KPIS}


def _weight(row) -> float:
    """How many minimum important differences a difference lies from zero (infinitely many for any
    difference where the MID is 0; -1 where the difference is undefined)."""
    size = abs(row["diff"])
    if not np.isfinite(size):
        return -1.0
    return size / row["mid"] if row["mid"] > 0 else np.inf if size > 0 else 0.0


def family_verdict(verdicts: set[str]) -> str:
    """A family's verdict from its members' (``change``, members with a direction): "mixed" if one is
    better and one worse, else "better" or "worse" if one is, "same" if every member that can be judged
    is, "unknown" if none can be judged, else "uncertain"."""
    judged = verdicts - {"unknown"}
    if not judged:
        return "unknown"
    if {"better", "worse"} <= judged:
        return "mixed"
    return next((v for v in ("better", "worse") if v in judged), "same" if judged == {"same"} else "uncertain")


def family_verdicts(diffs: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per option (``names`` but the first) and family (``registry.families``): the family's verdict
    (``family_verdict``); ``kpi``: the member that shows it (of the members with that verdict, or with
    the better side of a mixed one, the one whose difference is the most MIDs from zero); ``against``:
    of a mixed family, the worse member that shows it."""
    rows = []
    for name in names[1:]:
        mine = diffs[diffs["scenario"] == name].set_index("kpi")
        mine["weight"] = mine.apply(_weight, axis=1)
        for family, members in families(mine.index).items():
            d = mine.loc[[k for k in members if KPIS[k].better]]
            v = family_verdict(set(d["verdict"]))
            rows.append({"scenario": name, "family": family, "verdict": v,
                         "kpi": _strongest(d, "better" if v == "mixed" else v),
                         "against": _strongest(d, "worse") if v == "mixed" else ""})
    return pd.DataFrame(rows, columns=["scenario", "family", "verdict", "kpi", "against"])


def _strongest(d: pd.DataFrame, verdict_: str) -> str:
    """The KPI of ``d`` (a family's judged differences) with verdict ``verdict_`` (of all, if none has
    it) whose difference is the most minimum important differences from zero."""
    part = d[d["verdict"] == verdict_]
    return str((part if len(part) else d)["weight"].idxmax())


VERDICT_COUNTS = ("better", "worse", "mixed", "same", "uncertain", "unknown")


def rank_options(family_table: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The options (``names`` but the first) ranked by the families they are clearly better on minus those
    they are clearly worse on, then by the families better: one row per option with the count of each
    verdict and its rank (equal options share a rank), best first."""
    counts = (family_table.groupby(["scenario", "verdict"]).size().unstack(fill_value=0)
              .reindex(index=names[1:], columns=list(VERDICT_COUNTS), fill_value=0))
    key = list(zip(counts["better"] - counts["worse"], counts["better"], strict=True))
    counts["rank"] = [1 + sum(other > mine for other in key) for mine in key]
    counts.index.name, counts.columns.name = "scenario", None
    return counts.reset_index().sort_values("rank", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# what the options change, and what limits the study
# ------------------------------------------------------------------------------------------------

#: Fields of a scenario that say what it is, not what it sets.
IDENTITY = ("name", "description", "description_zh", "seed", "levers", "schedule")


def _flat(d: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def scenario_changes(scenarios: list[dict]) -> pd.DataFrame:
    """What each option (every scenario but the first) changes against the reference (the first): one
    row per lever whose value differs from day 0 (``day`` 0), per lever of a schedule entry that the
    reference's schedule does not have (``day`` its day; ``before``: the option's value until then), and
    per other setting that differs (``kind`` "setting", dotted name, ``day`` -1)."""
    ref = scenarios[0]
    ref_schedule = {(e["day"], k): v for e in ref["schedule"] for k, v in e["levers"].items()}
    ref_settings = _flat({k: v for k, v in ref.items() if k not in IDENTITY})
    rows = []
    for sc in scenarios[1:]:
        name = sc["name"]
        rows += [{"scenario": name, "kind": "lever", "name": k, "day": 0, "before": ref["levers"][k], "after": v}
                 for k, v in sc["levers"].items() if v != ref["levers"][k]]
        now = dict(sc["levers"])
        for entry in sorted(sc["schedule"], key=lambda e: e["day"]):
            for k, v in entry["levers"].items():
                if ref_schedule.get((entry["day"], k)) != v:
                    rows.append({"scenario": name, "kind": "lever", "name": k, "day": entry["day"], "before": now[k],
                                 "after": v})
                now[k] = v
        mine = _flat({k: v for k, v in sc.items() if k not in IDENTITY})
        rows += [{"scenario": name, "kind": "setting", "name": k, "day": -1, "before": ref_settings.get(k), "after": v}
                 for k, v in mine.items() if ref_settings.get(k) != v]
    return pd.DataFrame(rows, columns=["scenario", "kind", "name", "day", "before", "after"])


def caveats(reps: int, scenarios: list[dict]) -> list[tuple[str, dict]]:
    """What limits the study, as (key, values): one replicate or fewer than ``MIN_REPS``; a preset with
    fewer than ``MIN_RESIDENTS`` residents; runs shorter than ``MIN_DAYS``; and always that every run
    is at one parameter set (the scenario files' values), not across the calibrated ensemble."""
    out = []
    if reps < 2:
        out.append(("one_rep", {}))
    elif reps < MIN_REPS:
        out.append(("few_reps", {"reps": reps, "min": MIN_REPS}))
    for preset in dict.fromkeys(sc["preset"] for sc in scenarios):
        if PRESETS[preset]["population"] < MIN_RESIDENTS:
            out.append(("small_city", {"preset": preset, **PRESETS[preset]}))
    days = min(sc["days"] for sc in scenarios)
    if days < MIN_DAYS:
        out.append(("short_run", {"days": days, "min": MIN_DAYS}))
    out.append(("one_parameter_set", {}))
    return out


# ------------------------------------------------------------------------------------------------
# the comparison's tables, from the stored runs
# ------------------------------------------------------------------------------------------------

#: The reported-versus-real gap is judged as a rate (its MID is the rate's) for which narrower is better.
GAP_MID = KINDS["rate"].mid.value


def reported_gap(summaries: pd.DataFrame, reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The gap between the closure rate an agency would report and the real resolution rate, run
    by run: its mean and t interval per scenario, and its paired difference from ``reference``
    judged against ``GAP_MID`` (two empty tables when the summaries lack either rate)."""
    if not {"closure_rate_reported", "resolution_rate"} <= set(summaries.columns) or summaries.empty:
        return pd.DataFrame(), pd.DataFrame()
    g = summaries[["scenario", "replicate"]].copy()
    g["gap"] = summaries["closure_rate_reported"] - summaries["resolution_rate"]
    diffs = judge(paired_differences(g, "scenario", reference, ["gap"]), {"gap": GAP_MID}, {"gap": -1})
    return group_stats(g, "scenario", ["gap"]), diffs


#: Columns of ``Comparison.districts``.
DISTRICT_COLUMNS = ("scenario", "district", "name", "name_zh", "type", "type_zh", "kpi", "n", "diff", "ci_low",
                    "ci_high", "mid", "verdict", "city_verdict", "differs")


def district_differences(districts: pd.DataFrame, names: list[str], city: pd.DataFrame) -> pd.DataFrame:
    """Per option (``names`` but the first), district and KPI of ``registry.DISTRICT_REPORT``: its paired
    difference from the reference in that district (the district's own cases, replicate by replicate),
    judged against the KPI's MID at the district's reference level, beside the option's city-wide verdict
    on the same KPI (``city``: the comparison's ``diffs``); ``differs`` where the two verdicts are not
    the same (and the city's is known). Empty with fewer than two districts (the city-wide result is
    the district's) or none stored (runs written before cogov kept district tables)."""
    if districts.empty or districts["district"].nunique() < 2:
        return pd.DataFrame(columns=list(DISTRICT_COLUMNS))
    kpis = [k for k in DISTRICT_REPORT if k in districts.columns]
    frames = []
    for _, grp in districts.groupby("district", sort=True):
        ref = grp[grp["scenario"] == names[0]]
        mids = {k: DISTRICT_KPIS[k].mid.of(float(ref[k].mean())) for k in kpis}
        d = judge(paired_differences(grp, "scenario", names[0], kpis), mids, {k: DISTRICT_KPIS[k].better for k in kpis})
        frames.append(d.assign(**{c: grp[c].iloc[0] for c in ("district", "name", "name_zh", "type", "type_zh")}))
    out = pd.concat(frames, ignore_index=True)
    out = out[out["scenario"] != names[0]]
    verdicts = city.set_index(["scenario", "kpi"])["verdict"]
    out["city_verdict"] = [verdicts.get((s, k), "unknown") for s, k in zip(out["scenario"], out["kpi"], strict=True)]
    out["differs"] = (out["verdict"] != out["city_verdict"]) & (out["city_verdict"] != "unknown")
    return out[list(DISTRICT_COLUMNS)].reset_index(drop=True)


def analyse(out: Path) -> Comparison:
    """The comparison's tables, from the stored runs."""
    store = SweepStore(out)
    manifest = store.manifest()
    names = manifest["spec"]["scenarios"]
    summaries = store.summaries()
    summaries["scenario"] = [names[p] for p in summaries["point"]]
    ts = store.timeseries()
    ts["scenario"] = [names[p] for p in ts["point"]]
    districts = store.districts()
    if not districts.empty:
        districts["scenario"] = [names[p] for p in districts["point"]]
    return comparison(summaries, ts, manifest, districts)


def comparison(summaries: pd.DataFrame, timeseries: pd.DataFrame, manifest: dict,
               districts: pd.DataFrame | None = None) -> Comparison:
    """The comparison's tables from the runs' summaries, (thinned) time series and district tables
    (``SweepStore.districts``; optional), each with its ``scenario``, and the study's manifest
    (``run_comparison``)."""
    names = manifest["spec"]["scenarios"]
    kpis = [k for k in REPORT_KPIS if k in summaries.columns]
    scenarios = manifest["scenarios"]
    reps = manifest["spec"]["reps"]
    stats = group_stats(summaries, "scenario", kpis)
    diffs = judge(paired_differences(summaries, "scenario", names[0], kpis), kpi_mids(stats, names[0]),
                  {k: KPIS[k].better for k in kpis})
    family_table = family_verdicts(diffs, names)
    gap_stats, gap_diffs = reported_gap(summaries, names[0])
    return Comparison(
        names=names, scenarios=scenarios, summaries=summaries, stats=stats, diffs=diffs, families=family_table,
        ranking=rank_options(family_table, names), changes=scenario_changes(scenarios),
        caveats=caveats(reps, scenarios),
        bands=timeseries_bands(timeseries, "scenario", [c for c in REPORT_SERIES if c in timeseries.columns]),
        gap_stats=gap_stats, gap_diffs=gap_diffs,
        districts=district_differences(districts if districts is not None else pd.DataFrame(), names, diffs),
        reps=reps, days=scenarios[0]["days"],
        preset=scenarios[0]["preset"], seed=manifest["root_seed"],
        code={"cogov": manifest.get("versions", {}).get("cogov"), "git_commit": manifest.get("git_commit"),
              "git_dirty": manifest.get("git_dirty")})
