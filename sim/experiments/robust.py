"""Robustness of reform options across futures (``cogov robust``): regret, satisficing and
scenario discovery, as EMA Workbench does it for policy analysis (Kwakkel 2017), on this model.

A *future* is one parameter set of the calibrated ensemble (``sim.experiments.ensemble``) under
one draw of the *deep uncertainties* a futures file declares (``scenarios/robust/futures.toml``):
conditions nobody can calibrate, such as growing demand or a cut in the staff budget, each a
factor on one or more non-lever parameters over a stated range, sampled by Latin hypercube from
the named stream ``futures``. Futures shape the city from its burn-in on (the burn-in runs the
future's parameters under the baseline's levers, MODEL §12.1): an option is judged in a city
that has lived in that future, and every option of a future starts from the same city.

Every option (a scenario that changes levers only) runs in every future with the same replicate
seeds (common random numbers). Per option and KPI, over the futures (each the mean of its
replicates):

- ``mean`` and ``worst_decile`` (the 10th percentile on the KPI's bad side: the 10th for a KPI
  where more is better, the 90th where less is better);
- ``regret``: in each future, how far the option falls short of the best option *in that
  future* (Savage 1951), in the KPI's units; its mean and maximum over the futures;
- ``satisficing``: the share of futures in which the option meets the file's threshold on that
  KPI, and (row ``all``) every threshold at once (Simon 1955; Lempert et al. 2006).

Scenario discovery (Bryant & Lempert 2010): for each option, the futures in which it fails a
threshold are explained by PRIM (``ema_workbench.analysis.prim``, Friedman & Fisher 1999) over the
futures' uncertainties and parameter values: a box of conditions with its coverage (the share of
the failures inside it) and density (the share of the futures inside it that fail).

Runs go through the sweep engine (resumable store in ``OUT/runs``, processes or Dask); everything
after the runs works on the stored tables (``analyse``). The command is ``sim.cli.robust``; the
figure is ``sim.report.robust``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..params import NAME_PATTERN, Scenario, ScenarioError, format_error, load_scenario, read_toml, scenarios_dir
from ..registry import KPIS
from ..streams import Streams
from .compare import compare_tasks
from .spec import apply_parameters, parameter_names, path_of
from .store import SweepStore
from .sweep import SweepReport, fingerprint, run_tasks

#: Defaults of the command.
FUTURES = 32
REPS = 2
#: PRIM: the box chosen on the peeling trajectory is the densest with at least this coverage.
MIN_COVERAGE = 0.5


class FuturesError(ScenarioError):
    """A futures file cannot be used (the message names the file, the key and what is allowed)."""


class Uncertainty(BaseModel):
    """A deep uncertainty: a factor on the calibrated values of ``parameters``, uniform over [low, high]."""
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(..., pattern=NAME_PATTERN, max_length=40, description="short name (a column of the tables)")
    label: str = Field("", description="what it means, in English")
    label_zh: str = Field("", description="what it means, in Chinese")
    parameters: list[str] = Field(..., min_length=1, description="section.field of mechanism parameters it scales "
                                                                 "(not levers: those are the options' to set)")
    low: float = Field(..., gt=0, description="smallest factor")
    high: float = Field(..., gt=0, description="largest factor")
    source: str = Field("", description="why this range")

    @model_validator(mode="after")
    def _check(self):
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        allowed = [n for n in parameter_names() if "." in n]
        for p in self.parameters:
            if p not in allowed:
                raise ValueError(f"unknown parameter {p!r}: give section.field of a mechanism parameter "
                                 "(levers are what the options set; see docs/ODD.md)")
        return self


class Threshold(BaseModel):
    """What an option must achieve on one KPI in a future."""
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self

    def met(self, values: np.ndarray) -> np.ndarray:
        return values >= self.at_least if self.at_least is not None else values <= self.at_most

    def text(self) -> str:
        return f">= {self.at_least:g}" if self.at_least is not None else f"<= {self.at_most:g}"


class FuturesSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("futures", pattern=NAME_PATTERN, max_length=80)
    description: str = ""
    kpis: list[str] = Field(default_factory=lambda: ["resolution_rate", "hotline_satisfaction_rate",
                                                     "cost_per_resolved", "closed_superficially", "bounces"],
                            min_length=1, description="KPIs judged (each must have a better direction)")
    uncertainty: list[Uncertainty] = Field(default_factory=list, description="the deep uncertainties")
    thresholds: dict[str, Threshold] = Field(default_factory=dict, description="KPI -> at_least / at_most")

    @model_validator(mode="after")
    def _check(self):
        for k in self.kpis:
            if k not in KPIS:
                raise ValueError(f"kpis: unknown KPI {k!r} (see cogov kpis)")
            if KPIS[k].better == 0:
                raise ValueError(f"kpis: {k!r} has no better direction, so no regret (see cogov kpis)")
        for k in self.thresholds:
            if k not in self.kpis:
                raise ValueError(f"thresholds: {k!r} is not one of kpis ({', '.join(self.kpis)})")
        names = [u.name for u in self.uncertainty]
        if len(set(names)) != len(names):
            raise ValueError("uncertainty: a name is given twice")
        return self


def default_futures_path() -> Path:
    return scenarios_dir() / "robust" / "futures.toml"


def load_futures(path: str | Path | None = None) -> FuturesSpec:
    path = Path(path) if path is not None else default_futures_path()
    if not path.is_file():
        raise FuturesError(f"futures file not found: {path}")
    try:
        return FuturesSpec.model_validate(read_toml(path, FuturesError))
    except ValidationError as exc:
        raise FuturesError(format_error(path, exc, FuturesSpec)) from None


# ------------------------------------------------------------------------------------------------
# Futures and the runs
# ------------------------------------------------------------------------------------------------


def draw_futures(spec: FuturesSpec, n: int, seed: int, posterior: pd.DataFrame | None) -> pd.DataFrame:
    """``n`` futures: one row each, with the ensemble member (its row in ``posterior``, drawn by
    systematic resampling; -1 without an ensemble), its parameter values, and a factor per
    uncertainty (a Latin hypercube from the stream ``futures``)."""
    from scipy.stats import qmc

    table = pd.DataFrame({"future": range(n)})
    if posterior is not None:
        from .ensemble import draw_members, parameter_columns

        rows = draw_members(posterior, n, seed)
        table["member"] = rows
        names = parameter_columns(posterior)
        table = pd.concat([table, posterior.loc[rows, names].reset_index(drop=True)], axis=1)
    else:
        table["member"] = -1
    if spec.uncertainty:
        unit = qmc.LatinHypercube(d=len(spec.uncertainty), seed=Streams(seed).get("futures")).random(n)
        for j, u in enumerate(spec.uncertainty):
            table[u.name] = [float(f"{v:.4g}") for v in u.low + unit[:, j] * (u.high - u.low)]
    return table


def future_scenario(option: Scenario, future: pd.Series, spec: FuturesSpec, parameters: list[str]) -> Scenario:
    """``option`` in ``future``: the member's parameter values, then each uncertainty's factor on its
    parameters (the option's levers untouched)."""
    values = {n: float(future[n]) for n in parameters}
    sc = apply_parameters(option, values) if values else option
    scaled = {}
    for u in spec.uncertainty:
        for p in u.parameters:
            section, field = path_of(p)
            now = scaled.get(p, getattr(getattr(sc, section), field))
            scaled[p] = now * float(future[u.name])
    if not scaled:
        return sc
    data = sc.model_dump()
    for p, v in scaled.items():
        section, field = path_of(p)
        data[section][field] = round(v, 6) if isinstance(data[section][field], float) else max(1, round(v))
    return load_scenario(data)


def build_futures(options: list[Scenario], spec: FuturesSpec, n: int, seed: int,
                  posterior: pd.DataFrame | None) -> tuple[list[list[Scenario]], pd.DataFrame]:
    """Every option in every future (future-major) and the futures table."""
    futures = draw_futures(spec, n, seed, posterior)
    drawn = {"future", "member", *(u.name for u in spec.uncertainty)}
    names = [c for c in futures.columns if c not in drawn]
    return [[future_scenario(o, row, spec, names) for o in options] for _, row in futures.iterrows()], futures


def study_spec(options: list[Scenario], futures: pd.DataFrame, spec: FuturesSpec, reps: int, seed: int) -> dict:
    return {"kind": "robust", "options": [o.name for o in options], "reps": reps, "seed": seed,
            "preset": options[0].preset, "days": options[0].days, "futures": futures.to_dict(orient="records"),
            "futures_spec": spec.model_dump(mode="json")}


def run_robust(runs: list[list[Scenario]], futures: pd.DataFrame, spec: FuturesSpec, reps: int, out: Path,
               seed: int = 1, executor: str = "processes", workers: int | None = None,
               scheduler: str | None = None, progress: bool = True) -> SweepReport:
    """Run (or resume) every future × option × replicate into the store at ``out`` (future f's
    option o is point f × options + o; replicate r has the same seed everywhere)."""
    tasks = compare_tasks([s for row in runs for s in row], reps, seed)
    study = study_spec(runs[0], futures, spec, reps, seed)
    manifest = {"name": "robust", "spec": study, "root_seed": seed, "fingerprint": fingerprint(study, tasks),
                "scenarios": [s.model_dump(mode="json") for s in runs[0]]}
    return run_tasks(tasks, out, manifest, executor, workers, scheduler, progress, "robust")


# ------------------------------------------------------------------------------------------------
# The analysis
# ------------------------------------------------------------------------------------------------


@dataclass
class Robustness:
    """Everything the figure and the printed tables need."""

    options: list[str]
    spec: FuturesSpec
    futures: pd.DataFrame   # one row per future: member, parameter values, uncertainty factors
    values: pd.DataFrame    # one row per future x option: the KPIs (replicate means)
    table: pd.DataFrame     # option x kpi: mean, worst_decile, mean_regret, max_regret, satisficing
    discovery: pd.DataFrame  # option: failures, box, coverage, density, mass
    reps: int
    preset: str
    days: int


def future_values(summaries: pd.DataFrame, options: list[str], kpis: list[str]) -> pd.DataFrame:
    """One row per future × option: each KPI's mean over the replicates."""
    s = summaries.assign(future=summaries["point"] // len(options),
                         option=[options[p % len(options)] for p in summaries["point"]])
    v = s.groupby(["future", "option"], sort=False)[kpis].mean().reset_index()
    v["option"] = pd.Categorical(v["option"], categories=options, ordered=True)
    return v.sort_values(["future", "option"]).reset_index(drop=True)


def regret(values: pd.DataFrame, kpi: str) -> pd.Series:
    """Per row (future × option): how far the option falls short of the best option in the same
    future on ``kpi`` (0 for the best), in the KPI's units."""
    b = KPIS[kpi].better
    signed = values[kpi].astype(float) * b
    return values.groupby("future", observed=True)[kpi].transform(lambda s: (s * b).max()) - signed


def worst_decile(v: np.ndarray, better: int) -> float:
    """The 10th percentile on the bad side: q10 where more is better, q90 where less is."""
    return float(np.quantile(v, 0.1 if better > 0 else 0.9)) if len(v) else math.nan


def robustness_table(values: pd.DataFrame, spec: FuturesSpec) -> pd.DataFrame:
    """Per option × KPI (and per option the row ``all``: every threshold at once)."""
    rows = []
    for option, part in values.groupby("option", observed=True, sort=False):
        all_met = np.ones(len(part), dtype=bool)
        for kpi in spec.kpis:
            v = part[kpi].to_numpy(float)
            r = regret(values, kpi)[part.index].to_numpy(float)
            th = spec.thresholds.get(kpi)
            met = th.met(v) if th is not None else None
            if met is not None:
                all_met &= met
            rows.append({"option": option, "kpi": kpi, "mean": float(v.mean()),
                         "worst_decile": worst_decile(v, KPIS[kpi].better),
                         "mean_regret": float(r.mean()), "max_regret": float(r.max()),
                         "threshold": th.text() if th else "", "satisficing": float(met.mean()) if met is not None
                         else math.nan})
        if spec.thresholds:
            rows.append({"option": option, "kpi": "all", "mean": math.nan, "worst_decile": math.nan,
                         "mean_regret": math.nan, "max_regret": math.nan, "threshold": "every threshold",
                         "satisficing": float(all_met.mean())})
    return pd.DataFrame(rows)


def failures(values: pd.DataFrame, spec: FuturesSpec, option: str) -> np.ndarray:
    """Per future, whether ``option`` fails at least one threshold there."""
    part = values[values["option"] == option]
    failed = np.zeros(len(part), dtype=bool)
    for kpi, th in spec.thresholds.items():
        failed |= ~th.met(part[kpi].to_numpy(float))
    return failed


def discovery_inputs(futures: pd.DataFrame) -> pd.DataFrame:
    """What PRIM may restrict: every column of the futures that varies (uncertainties, parameters)."""
    x = futures.drop(columns=["future", "member"]).astype(float)
    return x.loc[:, x.nunique() > 1]


def prim_box(x: pd.DataFrame, failed: np.ndarray, min_coverage: float = MIN_COVERAGE) -> dict:
    """The conditions under which an option fails (PRIM, ema_workbench): the densest box on the
    peeling trajectory that covers at least ``min_coverage`` of the failures; its limits on the
    restricted dimensions as text, its coverage, density and mass (the share of all futures inside it:
    a box that holds most futures says little, however dense)."""
    n_fail = int(failed.sum())
    out = {"futures": len(failed), "failures": n_fail, "box": "", "coverage": math.nan, "density": math.nan,
           "mass": math.nan}
    if n_fail == 0 or n_fail == len(failed) or x.shape[1] == 0:
        out["box"] = "never fails" if n_fail == 0 else "fails in every future" if n_fail == len(failed) else ""
        return out
    import logging

    logging.getLogger("EMA").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema_workbench warns about optional back ends and pandas deprecations
        from ema_workbench.analysis import prim

        # cases of interest: y >= threshold, i.e. the failures; the box is kept if its density reaches it too
        p = prim.Prim(x.reset_index(drop=True), failed.astype(int), threshold=0.5, peel_alpha=0.1)
        box = p.find_box()
    traj = box.peeling_trajectory.reset_index(drop=True)
    ok = traj[traj["coverage"] >= min_coverage]
    i = int(ok.sort_values(["density", "coverage"], ascending=False, kind="stable").index[0]) if len(ok) else 0
    lims = box.box_lims[i]
    init = p.box_init
    parts = []
    for col in x.columns:
        lo, hi = float(lims.loc[0, col]), float(lims.loc[1, col])
        if lo > float(init.loc[0, col]):
            parts.append(f"{col} >= {lo:.3g}")
        if hi < float(init.loc[1, col]):
            parts.append(f"{col} <= {hi:.3g}")
    out.update(box="; ".join(parts) or "(no restriction)", coverage=float(traj.loc[i, "coverage"]),
               density=float(traj.loc[i, "density"]), mass=float(traj.loc[i, "mass"]))
    return out


def discovery_table(values: pd.DataFrame, futures: pd.DataFrame, spec: FuturesSpec, options: list[str]) -> pd.DataFrame:
    if not spec.thresholds:
        return pd.DataFrame(columns=["option", "futures", "failures", "box", "coverage", "density", "mass"])
    x = discovery_inputs(futures)
    return pd.DataFrame([{"option": o, **prim_box(x, failures(values, spec, o))} for o in options])


def analyse(out: Path) -> Robustness:
    """The robustness tables of a finished study folder (from its store only)."""
    store = SweepStore(out)
    study = store.manifest()["spec"]
    spec = FuturesSpec.model_validate(study["futures_spec"])
    options = study["options"]
    futures = pd.DataFrame(study["futures"])
    values = future_values(store.summaries(), options, spec.kpis)
    return Robustness(options=options, spec=spec, futures=futures, values=values,
                      table=robustness_table(values, spec), discovery=discovery_table(values, futures, spec, options),
                      reps=study["reps"], preset=study["preset"], days=study["days"])
