"""Calibration (``cogov calibrate``): an ensemble of parameter sets that reproduce the published
targets (MODEL §9, CALIBRATION.md v2), by approximate Bayesian computation.

The uncertain parameters are those declared with a ``fit`` range in the scenario schema
(``sim/params.py``); their prior is uniform over those ranges. The targets are read from a TOML
file (default: the built-in ``scenarios/calibration/targets.toml``). The method is the adaptive
population Monte Carlo ABC of Lenormand, Jabot & Deffuant (2013, *Computational Statistics* 28:
2777-2796; the ``APMC`` of the R package EasyABC), an ABC-SMC designed for costly individual-based
models, with generations of a fixed size so that every proposal is drawn before any run:

1. generation 1 draws ``population`` points from the prior (Latin hypercube); each point runs
   ``reps`` replicates on common random numbers, and its distance is the sum over *fitted* targets
   of ((replicate mean - value) / half-band)², the half-band being the distance from the value to
   the band's edge on the model's side (a target is in band exactly when its term is at most 1);
   the ``alpha`` share of points nearest the targets is kept, the tolerance being the largest kept
   distance;
2. each later generation draws the ``population - kept`` new points from the kept ones (by weight)
   moved by a normal kernel with twice their weighted covariance (Beaumont et al. 2009), redrawn
   until inside the prior;
3. the kept and the new points are pooled and the ``alpha`` share nearest is kept again; every
   pooled point is weighed by the prior over the mixture of all the generations' proposals
   (``_mixture_weights``, multiple importance sampling), not by its own generation's kernel alone
   as APMC does, whose weights collapse onto a few points in eleven dimensions;
4. it stops when the share of new points within the previous tolerance falls to ``p_acc_min``
   (the algorithm's own convergence rule) or after ``generations``.

Each root seed runs its own chain with its own common random numbers, so the ensemble (the kept
points of every chain, weights divided by the number of chains) carries simulation noise as well as
parameter uncertainty, and chains that disagree show it. The best point (the smallest distance of
all) is re-run with ``final_reps`` replicates for the targets table, next to the ensemble's
share of members in band per target.

Targets are fitted (``role = "fit"``) or held back (``role = "check"``, pattern-oriented modelling,
Grimm et al. 2005): the distance counts only the fitted ones, so a held-back pattern the ensemble
reproduces is evidence, not a tuned result.

Why not pyabc: its parallel samplers accept whichever simulations finish first, and it draws from
numpy's global state, so results depend on the executor and the machine's timing (its docs: only
``SingleCoreSampler`` is deterministic; ICB-DCM/pyABC#400); here proposals come from the named
stream ``calibration`` before any run, and the runs go through the sweep engine's verified,
resumable store (``DIR/seed1/gen1``, ..., ``DIR/final/ID``), so the same command gives the same ensemble on any
executor, and an interrupted calibration resumes where it stopped.

The command is ``sim.cli.calibrate``; the figures and the printed tables are ``sim.report.calibration``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..params import Scenario, ScenarioError, format_error, read_toml, scenarios_dir
from ..streams import Streams, replicate_seeds
from .spec import apply_parameters, path_of, run_key
from .store import SweepStore
from .sweep import fingerprint, run_tasks

#: Defaults of the method (Lenormand et al. 2013 recommend alpha 0.5 and p_acc_min 0.01-0.05).
POPULATION = 60      # points per generation
ALPHA = 0.5          # share of the pooled points kept after each generation
P_ACC_MIN = 0.05     # stop when this share or fewer of a generation's new points beat the last tolerance
GENERATIONS = 10     # at most this many generations per chain (the adopted ensemble: ten, docs/CALIBRATION.md)
#: Replicates per point: one, as each chain has its own common random numbers, so two chains of one
#: replicate carry the simulation noise at the cost of one chain of two.
REPS = 1
ROOT_SEEDS = (1, 2)  # one chain per root seed


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


class Pattern(BaseModel):
    """A held-back pattern of shape (pattern-oriented modelling): KPIs that must come in an order,
    e.g. fewer escalations at each level up (the escalation ladder narrows). Never fitted."""
    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., description="a short id (L1...)")
    label: str = Field("", description="what it says")
    kpis: list[str] = Field(..., min_length=2, description="KPIs of summary(), in the order the pattern states")
    order: Literal["decreasing", "increasing"] = Field("decreasing", description="how they must come")
    source: str = Field("", description="where the pattern comes from")

    def holds(self, means: dict) -> bool:
        """Whether the KPIs' values come strictly in the stated order (False if any is undefined)."""
        v = [float(means.get(k, float("nan"))) for k in self.kpis]
        if not all(math.isfinite(x) for x in v):
            return False
        pairs = zip(v, v[1:])
        return all(a > b for a, b in pairs) if self.order == "decreasing" else all(a < b for a, b in pairs)


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario: str = Field("baseline", description="scenario whose parameters are fitted")
    target: list[Target] = Field(..., min_length=1)
    pattern: list[Pattern] = Field(default_factory=list, description="held-back patterns of shape")

    def distance(self, means: dict) -> float:
        """The search's distance: over the fitted targets only (held-back ones are checked, not fitted)."""
        return float(sum(t.term(float(means.get(t.kpi, float("nan")))) for t in self.target if t.role == "fit"))

    def kpis(self) -> list[str]:
        """Every KPI the targets and patterns read."""
        return sorted({t.kpi for t in self.target} | {k for p in self.pattern for k in p.kpis})


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
    for i, pat in enumerate(targets.pattern):
        for j, k in enumerate(pat.kpis):
            if k not in known:
                raise CalibrationError(f"{path}: key 'pattern.{i}.kpis.{j}': unknown KPI {k!r}; allowed: "
                                       f"{', '.join(known)}")
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


def kept_count(population: int, alpha: float) -> int:
    """Points kept per generation: the ``alpha`` share of ``population``, at least 2 and fewer than all."""
    return min(population - 1, max(2, math.ceil(alpha * population)))


def _generation_rng(seed: int, generation: int) -> np.random.Generator:
    return Streams(seed).day("calibration", generation)


def _kernel(points: np.ndarray, weights: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Twice the weighted covariance of ``points`` (Beaumont et al. 2009), its diagonal at least a
    millionth of each range², so the kernel never collapses onto one value."""
    cov = 2.0 * np.atleast_2d(np.cov(points, rowvar=False, aweights=weights))
    floor = 1e-6 * (hi - lo) ** 2
    return cov + np.diag(np.maximum(floor - np.diag(cov), 0.0))


def _propose(rng: np.random.Generator, kept: np.ndarray, weights: np.ndarray, cov: np.ndarray, n: int,
             lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``n`` points: a kept point drawn by weight, moved by the normal kernel, redrawn until it lies
    inside the prior's box (rounded to four significant digits, like every value run)."""
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(len(lo)))
    out: list[np.ndarray] = []
    for _ in range(1000):
        parents = rng.choice(len(kept), size=4 * n, p=weights / weights.sum())
        moved = _round4_rows(kept[parents] + rng.standard_normal((4 * n, len(lo))) @ chol.T)
        out.extend(moved[np.all((moved >= lo) & (moved <= hi), axis=1)])
        if len(out) >= n:
            return np.array(out[:n])
    raise RuntimeError("calibration: the kernel keeps proposing points outside the search ranges")


def _kernel_density(points: np.ndarray, kept: np.ndarray, weights: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Σ_j w_j K(point | kept_j): the density of one generation's proposal (weights summing to 1)."""
    from scipy.stats import multivariate_normal

    density = np.zeros(len(points))
    for j in range(len(kept)):
        density += weights[j] * multivariate_normal(mean=kept[j], cov=cov, allow_singular=True).pdf(points)
    return density


def _mixture_weights(points: np.ndarray, proposals: list, first: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Importance weights of points drawn by all the generations so far: the prior (uniform over the
    box [lo, hi]) over the mixture of every generation's proposal, each counted by the points it drew
    (the prior for the ``first`` of generation 1; ``proposals``: (kept, weights, cov, drawn) of each
    later one). This is the balance heuristic of multiple importance sampling (Veach & Guibas 1995;
    AMIS, Cornuet et al. 2012): the pool mixes points of every generation, so each point is weighed
    against every proposal that could have drawn it, not only its own. Generation 1 alone: all 1."""
    prior = 1.0 / float(np.prod(hi - lo))
    total = first + sum(n for *_, n in proposals)
    density = np.full(len(points), first * prior)
    for kept, weights, cov, n in proposals:
        density += n * _kernel_density(points, kept, weights, cov)
    return prior / np.maximum(density / total, 1e-300)


def _round4_rows(x: np.ndarray) -> np.ndarray:
    return np.array([_round4(row) for row in np.atleast_2d(x)])


def _evaluate(scenario: Scenario, targets: Targets, names: list[str], points: np.ndarray, seeds: list[int],
              out: Path, spec: dict, label: str, executor: str, workers: int | None, progress: bool) -> pd.DataFrame:
    """Run every point × replicate; one row per point: its values, replicate means of the targets' KPIs,
    and its distance."""
    kpis = targets.kpis()
    summaries = _run_stage(label, _point_tasks(scenario, names, points, seeds), out, spec, executor, workers, progress)
    means = summaries.groupby("point")[kpis].mean()
    rows = []
    for i, row in enumerate(points):
        m = means.loc[i].to_dict() if i in means.index else {}
        rows.append({**dict(zip(names, (float(v) for v in row), strict=True)), **m,
                     "distance": targets.distance(m) if m else float("inf")})
    return pd.DataFrame(rows)


def run_chain(scenario: Scenario, targets: Targets, names: list[str], out: Path, seed: int,
              population: int = POPULATION, alpha: float = ALPHA, p_acc_min: float = P_ACC_MIN,
              generations: int = GENERATIONS, reps: int = REPS, executor: str = "processes",
              workers: int | None = None, progress: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One APMC chain (root ``seed``) into ``out``. Returns (every point run, with its generation and
    whether it was kept at the end; the kept points with their weights)."""
    ranges = fit_ranges()
    lo = np.array([ranges[n][0] for n in names])
    hi = np.array([ranges[n][1] for n in names])
    seeds = replicate_seeds(seed, reps)
    keep = kept_count(population, alpha)
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=len(names), seed=_generation_rng(seed, 1)).random(population)
    points = _round4_rows(lo + unit * (hi - lo))
    history, pool, tolerance, proposals = [], None, math.inf, []
    for g in range(1, generations + 1):
        if g > 1:
            kept = pool[names].to_numpy(float)
            weights = pool["weight"].to_numpy(float)
            cov = _kernel(kept, weights, lo, hi)
            points = _propose(_generation_rng(seed, g), kept, weights, cov, population - keep, lo, hi)
            proposals.append((kept, weights / weights.sum(), cov, len(points)))
        spec = {"kind": "calibrate", "method": "apmc", "seed": seed, "generation": g, "parameters": names,
                "reps": reps, "population": population, "alpha": alpha}
        new = _evaluate(scenario, targets, names, points, seeds, out / f"seed{seed}" / f"gen{g}", spec,
                        f"seed {seed} generation {g}", executor, workers, progress)
        new.insert(0, "generation", g)
        new.insert(0, "root_seed", seed)
        accepted_share = float((new["distance"] < tolerance).mean()) if g > 1 else 1.0
        new["point"] = range(len(new))
        both = new if pool is None else pd.concat([pool, new], ignore_index=True)
        both["weight"] = _mixture_weights(both[names].to_numpy(float), proposals, population, lo, hi)
        new["weight"] = both["weight"].to_numpy()[len(both) - len(new):]  # as weighed in this generation
        history.append(new)
        pool = both.sort_values(["distance", "generation", "point"], kind="stable").head(keep).reset_index(drop=True)
        tolerance = float(pool["distance"].max())
        if g > 1 and accepted_share <= p_acc_min:
            break
    hist = pd.concat(history, ignore_index=True)
    hist["kept"] = False
    kept_ids = set(zip(pool["generation"], pool["point"], strict=True))
    hist.loc[[(g, p) in kept_ids for g, p in zip(hist["generation"], hist["point"], strict=True)], "kept"] = True
    pool["weight"] = pool["weight"] / pool["weight"].sum()
    pool["tolerance"] = tolerance
    return hist, pool


def calibrate(scenario: Scenario, targets: Targets, names: list[str], out: Path, seeds=ROOT_SEEDS,
              population: int = POPULATION, alpha: float = ALPHA, p_acc_min: float = P_ACC_MIN,
              generations: int = GENERATIONS, reps: int = REPS, final_reps: int = 5, executor: str = "processes",
              workers: int | None = None, progress: bool = True) -> dict:
    """Fit ``names`` (``section.field``) of ``scenario`` to ``targets``: one chain per root seed in
    ``seeds``; returns the ensemble, the history and the result tables."""
    histories, ensembles = [], []
    for seed in seeds:
        hist, pool = run_chain(scenario, targets, names, out, seed, population, alpha, p_acc_min, generations,
                               reps, executor, workers, progress)
        histories.append(hist)
        pool["weight"] = pool["weight"] / len(seeds)
        ensembles.append(pool)
    hist = pd.concat(histories, ignore_index=True)
    ensemble = pd.concat(ensembles, ignore_index=True)
    ensemble.insert(0, "member", range(len(ensemble)))
    best = ensemble.loc[ensemble["distance"].idxmin()]
    values = {n: float(best[n]) for n in names}
    spec = {"kind": "calibrate-final", "seed": int(seeds[0]), "values": values, "reps": final_reps}
    tasks = _point_tasks(scenario, names, np.array([[values[n] for n in names]]),
                         replicate_seeds(int(seeds[0]), final_reps))
    # one folder per best point: a calibration resumed with more generations may find another best
    # point, and the runs of the earlier one stay valid where they are
    final = _run_stage("best point", tasks, out / "final" / fingerprint(spec, tasks)[:10], spec, executor, workers,
                       progress)
    table = target_table(final, targets).merge(ensemble_targets(ensemble, targets), on="id")
    return {"values": values, "ensemble": ensemble, "history": hist, "final": final, "targets": table,
            "patterns": pattern_table(final, ensemble, targets),
            "parameters": identifiability(ensemble, hist, names, targets, values)}


def pattern_table(final: pd.DataFrame, ensemble: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Each held-back pattern: the best set's replicate means of its KPIs, whether they come in the
    stated order, and the share of the ensemble's members (by weight) in which they do."""
    w = ensemble["weight"].to_numpy(float) if len(ensemble) else np.zeros(0)
    rows = []
    for pat in targets.pattern:
        best = {k: float(final[k].astype(float).mean()) if k in final else float("nan") for k in pat.kpis}
        held = np.array([pat.holds(r) for r in ensemble[[k for k in pat.kpis if k in ensemble]].to_dict("records")],
                        dtype=bool) if len(ensemble) else np.zeros(0, dtype=bool)
        sign = " > " if pat.order == "decreasing" else " < "
        rows.append({"id": pat.id, "label": pat.label, "pattern": sign.join(pat.kpis),
                     "best": sign.join(f"{best[k]:,.4g}" for k in pat.kpis), "holds": pat.holds(best),
                     "share_holding": float(w[held].sum() / w.sum()) if w.sum() > 0 else float("nan")})
    return pd.DataFrame(rows, columns=["id", "label", "pattern", "best", "holds", "share_holding"])


def effective_size(weights) -> float:
    """Kish's effective sample size of weighted members, (Σw)² / Σw²: how many equally weighted sets
    they are worth (importance weights of ABC-SMC degenerate when it is far below their number)."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w ** 2).sum()) if len(w) else 0.0


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, cum, v))


def ensemble_targets(ensemble: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Per target, across the ensemble's members (their replicate means, by weight): mean, 5th and 95th
    percentiles, and the share of members in band."""
    w = ensemble["weight"].to_numpy(float)
    rows = []
    for t in targets.target:
        v = ensemble[t.kpi].to_numpy(float) if t.kpi in ensemble else np.full(len(ensemble), np.nan)
        ok = np.isfinite(v)
        inside = ok & (v >= t.low) & (v <= t.high)
        rows.append({"id": t.id, "ensemble_mean": float(np.average(v[ok], weights=w[ok])) if ok.any() else np.nan,
                     "ensemble_q05": _weighted_quantile(v[ok], w[ok], 0.05) if ok.any() else np.nan,
                     "ensemble_q95": _weighted_quantile(v[ok], w[ok], 0.95) if ok.any() else np.nan,
                     "share_in_band": float(w[inside].sum() / w.sum())})
    return pd.DataFrame(rows)


#: A parameter is "pinned" when its ensemble's 90% interval is at most this share of the prior's
#: (a uniform prior's 90% interval is 0.9 of its range), "partly pinned" up to the second.
PINNED, PARTLY = 0.5, 0.8
#: A target "informs" a parameter when their rank correlation over the first generation (a sample
#: of the prior) is at least this in size, and beyond chance at the 1% level (|z| > 2.58 for
#: Spearman's rho over n points, whose standard error is about 1 / sqrt(n - 1)).
INFORMS = 0.3
INFORMS_Z = 2.58


def identifiability(ensemble: pd.DataFrame, history: pd.DataFrame, names: list[str], targets: Targets,
                    best: dict) -> pd.DataFrame:
    """What the targets pin down: per parameter, the prior range, the best value, the ensemble's
    weighted median and 90% interval, that interval as a share of the prior's, a verdict (pinned,
    partly pinned, not pinned), the fitted targets that inform it (rank correlation over the prior
    sample), its strongest correlation with another parameter in the ensemble (a trade-off the
    targets cannot separate), and each chain's median (chains that disagree are not converged)."""
    ranges = fit_ranges()
    w = ensemble["weight"].to_numpy(float)
    prior = history[history["generation"] == 1]
    least = max(INFORMS, INFORMS_Z / math.sqrt(max(len(prior) - 1, 1)))
    corr = ensemble[names].corr(method="spearman") if len(names) > 1 else None
    rows = []
    for n in names:
        lo, hi = ranges[n]
        v = ensemble[n].to_numpy(float)
        q05, q50, q95 = (_weighted_quantile(v, w, q) for q in (0.05, 0.5, 0.95))
        share = (q95 - q05) / (0.9 * (hi - lo))
        informs = []
        for t in targets.target:
            if t.role == "fit" and t.kpi in prior and prior[t.kpi].nunique() > 1 and prior[n].nunique() > 1:
                rho = float(prior[n].corr(prior[t.kpi], method="spearman"))
                if abs(rho) >= least:
                    informs.append((abs(rho), f"{t.id} ({rho:+.2f})"))
        partner = ""
        if corr is not None:
            others = corr[n].drop(n).dropna()
            if len(others):
                other = others.abs().idxmax()
                partner = f"{other} ({others[other]:+.2f})"
        chains = "; ".join(f"seed {s}: {np.median(g[n]):.4g}" for s, g in ensemble.groupby("root_seed"))
        rows.append({"parameter": n, "prior_low": lo, "prior_high": hi, "best": best[n], "median": q50,
                     "q05": q05, "q95": q95, "interval_share": share,
                     "verdict": "pinned" if share <= PINNED else "partly pinned" if share <= PARTLY else "not pinned",
                     "informed_by": ", ".join(t for _, t in sorted(informs, reverse=True)) or "none",
                     "most_correlated": partner, "chain_medians": chains, "default": _schema_default(n)})
    return pd.DataFrame(rows)


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
