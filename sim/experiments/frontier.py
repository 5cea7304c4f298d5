"""Reform packages on a Pareto front (``cogov frontier``): a multi-objective search over lever
values by NSGA-II (Deb et al. 2002; Optuna's ``NSGAIISampler``), every package evaluated on common
random numbers at the calibrated baseline.

A *package* is a value for each searched lever (on a grid of 0.05, inside the lever's bounds), the
other levers at the baseline's. Each generation's packages are asked of the sampler all at once,
run through the sweep engine (a verified, resumable store per generation, ``OUT/gen1``, ...;
processes or Dask) and then told, so the search is the same on any executor and an interrupted
one resumes: the sampler is seeded from the named stream ``frontier`` and asked in a fixed order,
so a re-run asks for the same packages and finds their runs on disk. The baseline's own package
is the first of generation 1, so the front can be read against today. Levers act only from day 0
and the burn-in runs the baseline's levers (MODEL §12.1), so every package starts from the same
cities: one burn-in per replicate seed for the whole search.

Objectives are KPIs with their registry direction (``better``); a KPI in yuan without one (the
money added to the baseline's budget) is minimised. ``budget`` caps the added money per resident
and year: packages above it are infeasible (Optuna's constrained domination, Deb 2002), never
on the reported front. The front is summarised by the packages a team would look at first: the
best on each objective among the feasible non-dominated ones, and the knee (nearest the ideal
point after scaling each objective to [0, 1] over the front).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..params import LEVER_NAMES, Scenario, ScenarioError, load_scenario
from ..registry import KPIS
from ..streams import Streams
from .compare import compare_tasks
from .store import SweepStore
from .sweep import fingerprint, run_tasks

#: The mission's levers: empowerment with resources, evaluation reform, information sharing, and
#: the grassroots' burden and purchased services.
LEVERS = ("authority_devolution", "resources_follow", "whistle_power", "burden_reduction", "w_process",
          "w_satisfaction", "w_local", "info_sharing", "automation", "social_org_funding")
OBJECTIVES = ("resolution_rate", "hotline_satisfaction_rate", "added_budget_per_resident", "closed_superficially")
COST = "added_budget_per_resident"
STEP = 0.05
POPULATION = 16
GENERATIONS = 6
REPS = 2


class FrontierError(ScenarioError):
    """A frontier option cannot be used (the message says which and what is allowed)."""


class RunsFailed(RuntimeError):
    """Some runs of a generation failed; their tracebacks are in ``folder``/failures/."""

    def __init__(self, failed: int, folder: Path):
        super().__init__(f"{failed} run(s) failed; tracebacks in {folder}/failures/")
        self.failed, self.folder = failed, folder


def direction(kpi: str) -> int:
    """+1 to maximise, -1 to minimise: the registry's ``better``; money without one is minimised."""
    if kpi not in KPIS:
        raise FrontierError(f"--objectives: unknown KPI {kpi!r} (see cogov kpis)")
    k = KPIS[kpi]
    if k.better:
        return k.better
    if k.kind == "yuan":
        return -1
    raise FrontierError(f"--objectives: {kpi!r} has no better direction (see cogov kpis); choose a KPI that has one")


def check_levers(levers: list[str]) -> list[str]:
    for lever in levers:
        if lever not in LEVER_NAMES:
            raise FrontierError(f"--levers: unknown lever {lever!r}; allowed: {', '.join(LEVER_NAMES)}")
    if len(set(levers)) != len(levers) or not levers:
        raise FrontierError("--levers: give at least one lever, each once")
    return levers


def lever_bounds(lever: str) -> tuple[float, float]:
    from ..registry import LEVERS as REGISTRY

    return REGISTRY[lever].low, REGISTRY[lever].high


def _sampler(population: int, seed: int):
    import optuna

    optuna.logging.set_verbosity(logging.WARNING)
    return optuna.samplers.NSGAIISampler(population_size=population, seed=Streams(seed).integer("frontier") % 2**32)


def package_scenario(base: Scenario, package: dict[str, float], name: str) -> Scenario:
    data = base.model_dump()
    data["levers"].update(package)
    data["name"], data["description_zh"] = name, ""
    data["description"] = ", ".join(f"{k} {v:g}" for k, v in package.items())
    return load_scenario(data)


@dataclass
class Frontier:
    trials: pd.DataFrame   # every package: generation, lever values, objectives, feasible, on_front
    front: pd.DataFrame    # the feasible non-dominated packages
    picks: pd.DataFrame    # best per objective and the knee
    levers: list[str]
    objectives: list[str]
    budget: float | None
    reps: int
    preset: str
    days: int


def search(base: Scenario, levers: list[str], objectives: list[str], out: Path, budget: float | None = None,
           population: int = POPULATION, generations: int = GENERATIONS, reps: int = REPS, seed: int = 1,
           executor: str = "processes", workers: int | None = None, scheduler: str | None = None,
           progress: bool = True) -> Frontier | None:
    """Run (or resume) the search into ``out``; None if interrupted; ``RunsFailed`` if runs failed."""
    import optuna
    from optuna.distributions import FloatDistribution

    out = Path(out)
    dirs = [direction(k) for k in objectives]
    kpis = list(dict.fromkeys([*objectives, COST]))
    study = optuna.create_study(directions=["maximize" if d > 0 else "minimize" for d in dirs],
                                sampler=_sampler(population, seed))
    space = {lv: FloatDistribution(*lever_bounds(lv), step=STEP) for lv in levers}
    study.enqueue_trial({lv: float(getattr(base.levers, lv)) for lv in levers})
    rows = []
    for g in range(1, generations + 1):
        trials = [study.ask(space) for _ in range(population)]
        packages = [{lv: round(float(t.params[lv]), 4) for lv in levers} for t in trials]
        scenarios = [package_scenario(base, p, f"package{g}_{i}") for i, p in enumerate(packages)]
        tasks = compare_tasks(scenarios, reps, seed)
        spec = {"kind": "frontier", "generation": g, "packages": packages, "reps": reps, "seed": seed,
                "preset": base.preset, "days": base.days}
        manifest = {"name": f"frontier generation {g}", "spec": spec, "root_seed": seed,
                    "fingerprint": fingerprint(spec, tasks)}
        report = run_tasks(tasks, out / f"gen{g}", manifest, executor, workers, scheduler, progress,
                           f"frontier generation {g}")
        if report.interrupted:
            return None
        if report.failed:
            raise RunsFailed(report.failed, out / f"gen{g}")
        means = SweepStore(out / f"gen{g}").summaries().groupby("point")[kpis].mean()
        for i, (trial, package) in enumerate(zip(trials, packages, strict=True)):
            m = means.loc[i]
            cost = float(m[COST])
            trial.set_constraint("budget", cost - budget if budget is not None else 0.0)  # > 0: infeasible
            study.tell(trial, [float(m[k]) for k in objectives])
            is_base = g == 1 and i == 0 and all(package[lv] == getattr(base.levers, lv) for lv in levers)
            rows.append({"generation": g, "package": i, **package, **{k: float(m[k]) for k in kpis},
                         "feasible": budget is None or cost <= budget, "baseline": is_base})
    table = pd.DataFrame(rows)
    table["on_front"] = pareto_mask(table, objectives, dirs)
    # a package the sampler proposed twice ran on the same seeds: one point of the front, listed once
    front = table[table["on_front"]].drop_duplicates(subset=levers).reset_index(drop=True)
    return Frontier(trials=table, front=front, picks=picks(front, objectives, dirs), levers=levers,
                    objectives=objectives, budget=budget, reps=reps, preset=base.preset, days=base.days)


def pareto_mask(table: pd.DataFrame, objectives: list[str], dirs: list[int]) -> np.ndarray:
    """Feasible packages no other feasible package dominates (at least as good on every objective,
    better on one); duplicates of a package on the front are all kept."""
    f = table["feasible"].to_numpy(bool)
    y = table[objectives].to_numpy(float) * np.array(dirs, dtype=float)  # larger is better in every column
    mask = np.zeros(len(table), dtype=bool)
    for i in np.flatnonzero(f):
        others = y[f]
        dominated = np.any(np.all(others >= y[i], axis=1) & np.any(others > y[i], axis=1))
        mask[i] = not dominated and np.all(np.isfinite(y[i]))
    return mask


def picks(front: pd.DataFrame, objectives: list[str], dirs: list[int]) -> pd.DataFrame:
    """The packages to look at first: the best on each objective, and the knee (nearest the ideal
    point, each objective scaled to [0, 1] over the front, 1 the best)."""
    if front.empty:
        return pd.DataFrame(columns=["pick", *front.columns])
    y = front[objectives].to_numpy(float) * np.array(dirs, dtype=float)
    span = y.max(axis=0) - y.min(axis=0)
    scaled = np.where(span > 0, (y - y.min(axis=0)) / np.where(span > 0, span, 1.0), 1.0)
    rows = [{"pick": f"best {k}", **front.iloc[int(np.argmax(y[:, j]))].to_dict()} for j, k in enumerate(objectives)]
    knee = int(np.argmin(np.sqrt(((1.0 - scaled) ** 2).sum(axis=1))))
    rows.append({"pick": "knee", **front.iloc[knee].to_dict()})
    return pd.DataFrame(rows)
