"""Calibration (``cogov calibrate``): fit the baseline's uncertain parameters to published targets (MODEL §9).

The uncertain parameters are those declared with a ``fit`` range in the scenario schema
(``sim/params.py``); the targets are read from a TOML file (default: the built-in
``scenarios/calibration/targets.toml``, from CALIBRATION.md). The method, documented in
docs/CALIBRATION.md, is sequential rejection sampling in the spirit of approximate Bayesian
computation (ABC):

1. round 1 draws ``budget / rounds`` points by Latin hypercube over the fit ranges;
2. every point runs ``reps`` replicates on common random numbers (the same seeds at every
   point), and its distance is the sum over targets of ((replicate mean - value) / half-band)²,
   the half-band being the distance from the value to the band's edge on the model's side;
3. the best quarter of all points so far is accepted; the next round samples the box around
   the accepted points (widened by a tenth of its width on each side, inside the fit ranges);
4. the best point is re-run with ``final-reps`` replicates and reported against every target.

Targets are fitted (``role = "fit"``) or held back (``role = "check"``, CALIBRATION.md v2: pattern-oriented
modelling): the distance counts only the fitted ones, and the report gives both tables, so a held-back
pattern the fit reproduces is evidence, not a tuned result.

Each round is a resumable store (``DIR/round1`` ...) written by the sweep engine, so an
interrupted calibration resumes where it stopped and the same command gives the same result.
The command is ``sim.cli.calibrate``; the figure and the printed table are ``sim.report.calibration``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..params import Scenario, ScenarioError, format_error, read_toml, scenarios_dir
from ..streams import replicate_seeds
from .spec import apply_parameters, path_of, run_key
from .store import SweepStore
from .sweep import fingerprint, run_tasks

ACCEPT_SHARE = 0.25   # share of points accepted after each round
WIDEN = 0.1           # the next round's box is widened by this share of its width on each side


class CalibrationError(ScenarioError):
    """A targets file or calibration option cannot be used (the message says which and why)."""


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(..., description="row of CALIBRATION.md (C1, C8a...)")
    kpi: str = Field(..., description="KPI of summary() the model reports for it")
    label: str = Field("", description="what it measures")
    value: float = Field(..., description="published value")
    low: float = Field(..., description="lower edge of the band")
    high: float = Field(..., description="upper edge of the band")
    band: str = Field("", description="where the band comes from")
    role: Literal["fit", "check"] = Field("fit", description="fit: the search minimises its distance; check: held "
                                                            "back, a pattern the fit must reproduce unaided")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.value < self.high:
            raise ValueError(f"target {self.id}: need low < value < high (got {self.low}, {self.value}, {self.high})")
        return self

    def term(self, model_value: float) -> float:
        """((model - value) / half-band)²: at most 1 exactly when the model is inside the band."""
        if not math.isfinite(model_value):
            return float("inf")
        half = (self.high - self.value) if model_value > self.value else (self.value - self.low)
        return ((model_value - self.value) / half) ** 2


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str = Field("baseline", description="scenario whose parameters are fitted")
    target: list[Target] = Field(..., min_length=1)

    def distance(self, means: dict) -> float:
        """The search's distance: over the fitted targets only (held-back ones are checked, not fitted)."""
        return float(sum(t.term(float(means.get(t.kpi, float("nan")))) for t in self.target if t.role == "fit"))


def default_targets_path() -> Path:
    return scenarios_dir() / "calibration" / "targets.toml"


def load_targets(path: str | Path | None = None) -> Targets:
    path = Path(path) if path is not None else default_targets_path()
    if not path.is_file():
        raise CalibrationError(f"targets file not found: {path}")
    try:
        targets = Targets.model_validate(read_toml(path, CalibrationError))
    except ValidationError as exc:
        raise CalibrationError(format_error(path, exc, Targets)) from None
    known = summary_keys()
    for i, t in enumerate(targets.target):
        if t.kpi not in known:
            raise CalibrationError(f"{path}: key 'target.{i}.kpi': unknown KPI {t.kpi!r}; allowed: {', '.join(known)}")
    return targets


def summary_keys() -> list[str]:
    """The KPIs a run reports (from a one-day classroom run)."""
    from ..model import CoGovernanceModel
    return list(CoGovernanceModel(preset="classroom", days=1).run().summary())


def fit_ranges() -> dict[str, tuple[float, float]]:
    """Every parameter declared uncertain in the schema (``section.field`` -> search range)."""
    out = {}
    for section, field in Scenario.model_fields.items():
        ann = field.annotation
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            continue
        for name, f in ann.model_fields.items():
            extra = f.json_schema_extra or {}
            if "fit" in extra:
                out[f"{section}.{name}"] = tuple(float(v) for v in extra["fit"])
    return out


def _round4(x: np.ndarray) -> np.ndarray:
    """Four significant digits, so the values written are exactly the values run."""
    return np.array([float(f"{v:.4g}") for v in x])


def _point_tasks(scenario: Scenario, names: list[str], points: np.ndarray, seeds: list[int]) -> list[dict]:
    tasks = []
    for i, row in enumerate(points):
        values = dict(zip(names, (float(v) for v in row), strict=False))
        point = apply_parameters(scenario, values)
        for r, seed in enumerate(seeds):
            sc = point.model_copy(update={"seed": seed})
            tasks.append({"key": run_key(sc, seed), "point": i, "replicate": r, "seed": seed, "values": values,
                          "scenario": sc.model_dump(mode="json"), "thin": max(sc.days, 1)})
    return tasks


def _run_stage(label: str, tasks: list[dict], out: Path, spec: dict, executor: str, workers: int | None,
               progress: bool) -> pd.DataFrame:
    manifest = {"name": label, "spec": spec, "root_seed": spec["seed"], "fingerprint": fingerprint(spec, tasks)}
    report = run_tasks(tasks, out, manifest, executor, workers, None, progress, label)
    if report.interrupted:
        raise KeyboardInterrupt
    if report.failed:
        raise RuntimeError(f"{report.failed} run(s) failed; tracebacks in {out}/failures/")
    return SweepStore(out).summaries()


def target_table(summaries: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Each target against the model: replicate mean, sd, min and max, and whether the mean is in band."""
    rows = []
    for t in targets.target:
        v = (summaries[t.kpi].astype(float) if t.kpi in summaries else pd.Series(dtype=float)).dropna()
        mean = float(v.mean()) if len(v) else float("nan")  # pandas' std/min/max of nothing are NaN too
        rows.append({"id": t.id, "role": t.role, "kpi": t.kpi, "label": t.label, "target": t.value, "low": t.low, "high": t.high,
                     "replicates": f"{len(v)} of {len(summaries)}", "model": mean, "sd": float(v.std()),
                     "min": float(v.min()), "max": float(v.max()),
                     "in_band": bool(t.low <= mean <= t.high), "term": t.term(mean)})
    return pd.DataFrame(rows)


def calibrate(scenario: Scenario, targets: Targets, names: list[str], out: Path, budget: int = 120, rounds: int = 3,
              reps: int = 2, final_reps: int = 5, seed: int = 1, executor: str = "processes",
              workers: int | None = None, progress: bool = True) -> dict:
    """Fit ``names`` (``section.field``) of ``scenario`` to ``targets``; returns the result tables."""
    ranges = fit_ranges()
    lo0 = np.array([ranges[n][0] for n in names])
    hi0 = np.array([ranges[n][1] for n in names])
    lo, hi = lo0.copy(), hi0.copy()
    seeds = replicate_seeds(seed, reps)
    kpis = sorted({t.kpi for t in targets.target})
    from scipy.stats import qmc

    history = []
    sizes = [budget // rounds + (1 if r < budget % rounds else 0) for r in range(rounds)]
    for r, n in enumerate(sizes):
        unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng([seed, r])).random(n)
        points = np.array([_round4(lo + u * (hi - lo)) for u in unit])
        spec = {"kind": "calibrate", "round": r + 1, "seed": seed, "parameters": names, "reps": reps}
        summaries = _run_stage(f"round {r + 1}/{rounds}", _point_tasks(scenario, names, points, seeds),
                               out / f"round{r + 1}", spec, executor, workers, progress)
        means = summaries.groupby("point")[kpis].mean()
        for i, row in enumerate(points):
            m = means.loc[i].to_dict() if i in means.index else {}
            history.append({"round": r + 1, "point": i, **dict(zip(names, row, strict=False)), **m,
                            "distance": targets.distance(m) if m else float("inf")})
        hist = pd.DataFrame(history)
        accepted = hist.nsmallest(max(2, math.ceil(ACCEPT_SHARE * len(hist))), "distance")
        a_lo, a_hi = accepted[names].min().to_numpy(), accepted[names].max().to_numpy()
        pad = WIDEN * np.maximum(a_hi - a_lo, 1e-3 * (hi0 - lo0))
        lo, hi = np.maximum(lo0, a_lo - pad), np.minimum(hi0, a_hi + pad)

    best = hist.loc[hist["distance"].idxmin()]  # hist and accepted: all rounds, as left by the last one
    values = {n: float(best[n]) for n in names}
    spec = {"kind": "calibrate-final", "seed": seed, "values": values, "reps": final_reps}
    final = _run_stage("best point", _point_tasks(scenario, names, np.array([[values[n] for n in names]]),
                                                  replicate_seeds(seed, final_reps)),
                       out / "final", spec, executor, workers, progress)
    params = pd.DataFrame([{"parameter": n, "fitted": values[n], "search_low": ranges[n][0],
                            "search_high": ranges[n][1], "accepted_low": float(accepted[n].min()),
                            "accepted_high": float(accepted[n].max()),
                            "default": _schema_default(n)} for n in names])
    return {"values": values, "parameters": params, "targets": target_table(final, targets), "history": hist,
            "final": final}


def _schema_default(name: str) -> float:
    section, field = path_of(name)
    return float(Scenario.model_fields[section].annotation.model_fields[field].default)


def fitted_toml(values: dict[str, float], header: list[str]) -> str:
    """The fitted values as a scenario file that ``baseline.toml`` extends."""
    import tomli_w

    data: dict = {"name": "calibrated", "description": "fitted by cogov calibrate (docs/CALIBRATION.md)"}
    for name, v in values.items():
        section, field = path_of(name)
        data.setdefault(section, {})[field] = v
    return "".join(f"# {line}\n" for line in header) + "\n" + tomli_w.dumps(data)
