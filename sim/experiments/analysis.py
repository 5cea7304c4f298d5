"""Analysis of sweep results. Functions take tables (the store's), never a model, so a study can
be re-analysed without re-running it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

#: Columns of a summaries table that are not KPIs.
ID_COLUMNS = ("key", "point", "replicate", "seed", "scenario", "preset", "arm")


def t_half_width(sd, n, confidence: float = 0.95):
    """Half-width of the Student-t confidence interval of a mean: t(1/2 + confidence/2, n - 1) · sd / √n.

    The one t-interval of cogov: sweep points, scenarios of a comparison, paired differences and
    contrasts (pass the standard deviation of the differences), time-series bands. ``sd`` and ``n``
    are numbers, or aligned Series or arrays; where n < 2 there is no interval and the half-width
    is NaN.
    """
    if np.ndim(n) == 0:
        return float(float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / np.sqrt(n)) if n > 1 else float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return half.where(n > 1) if isinstance(half, pd.Series) else np.where(np.asarray(n) > 1, half, np.nan)


def paired_ci(values, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """Mean of paired differences (or contrasts), its paired-t confidence interval (NaN with fewer
    than two finite values) and n."""
    d = np.asarray(values, dtype=float)
    d = d[np.isfinite(d)]
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan"), n
    half = t_half_width(float(d.std(ddof=1)), n, confidence)
    return mean, mean - half, mean + half, n


def verdict(ci_low: float, ci_high: float, better: int, claimed: int, mid: float = 0.0) -> str:
    """The verdict of one test in one parameter set, from its confidence interval.

    Args:
        ci_low, ci_high: the effect's confidence interval, in the KPI's units.
        better: +1 if a higher KPI is better, -1 if lower is better.
        claimed: +1 if the claim says the effect is better, -1 if it says worse.
        mid: the KPI's minimum important difference, in its units (``registry.Mid.of``).

    Returns:
        "supported" if the interval lies entirely beyond the MID on the claimed side, "reversed" if
        entirely beyond it on the other side, "not supported" if it lies within ±MID (an effect too
        small to matter, established), "inconclusive" otherwise (it crosses an edge of the MID, or
        is undefined).
    """
    if better not in (1, -1) or claimed not in (1, -1):
        raise ValueError(f"better and claimed must be +1 or -1 (got {better}, {claimed})")
    try:
        lo, hi, m = float(ci_low), float(ci_high), abs(float(mid))
    except (TypeError, ValueError):
        return "inconclusive"
    if not (math.isfinite(lo) and math.isfinite(hi) and math.isfinite(m)):
        return "inconclusive"
    expected = better * claimed  # the sign the effect must have, in the KPI's units
    a, b = sorted((lo * expected, hi * expected))
    if a > m:
        return "supported"
    if b < -m:
        return "reversed"
    if a >= -m and b <= m:
        return "not supported"
    return "inconclusive"


def kpi_columns(summaries: pd.DataFrame, parameters: list[str]) -> list[str]:
    skip = set(ID_COLUMNS) | set(parameters)
    return [c for c in summaries.columns if c not in skip and pd.api.types.is_numeric_dtype(summaries[c])]


def point_means(summaries: pd.DataFrame, parameters: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Per point and KPI: replicates n, mean, standard deviation and a t confidence interval.

    A tidy table: one row per (point, kpi), with the point's parameter values as columns.
    With one replicate the interval is undefined (NaN).
    """
    kpis = kpi_columns(summaries, parameters)
    long = summaries.melt(id_vars=["point", *parameters], value_vars=kpis, var_name="kpi").dropna(subset=["value"])
    g = long.groupby(["point", *parameters, "kpi"], sort=True)["value"]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    half = t_half_width(out["sd"], out["n"], confidence)
    low, high = kpi_ranges(out["kpi"])
    out["ci_low"] = np.maximum(out["mean"] - half, low)   # a rate's interval stays inside [0, 1]
    out["ci_high"] = np.minimum(out["mean"] + half, high)
    return out


def kpi_ranges(kpis: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The values each KPI can take (``registry.KPIS``; unbounded for a name it does not know)."""
    from ..registry import KPIS
    bounds = [KPIS[k].range if k in KPIS else (-np.inf, np.inf) for k in kpis]
    return np.array([b[0] for b in bounds], dtype=float), np.array([b[1] for b in bounds], dtype=float)


def replicate_mean_matrix(summaries: pd.DataFrame, n_points: int, kpi: str) -> np.ndarray:
    """The KPI's mean over replicates for points 0..n_points-1 (the sampler's row order)."""
    means = summaries.groupby("point")[kpi].mean()
    return means.reindex(range(n_points)).to_numpy(dtype=float)


def sobol_indices(problem: dict, Y: np.ndarray, seed: int = 1) -> pd.DataFrame:
    """First- and total-order Sobol indices with 95% confidence intervals (SALib)."""
    from SALib.analyze import sobol
    res = sobol.analyze(problem, Y, calc_second_order=False, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": res["S1"], "S1_conf": res["S1_conf"],
                         "ST": res["ST"], "ST_conf": res["ST_conf"]})


def morris_indices(problem: dict, X: np.ndarray, Y: np.ndarray, seed: int = 1) -> pd.DataFrame:
    """Morris elementary effects: mu*, its 95% confidence interval, sigma (SALib)."""
    from SALib.analyze import morris
    res = morris.analyze(problem, X, Y, num_levels=4, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu_star": res["mu_star"],
                         "mu_star_conf": res["mu_star_conf"], "mu": res["mu"], "sigma": res["sigma"]})


def _indices(method: str, problem: dict, X: np.ndarray, Y: np.ndarray, seed: int) -> pd.DataFrame | None:
    """Indices of one output over the sample, or None when it is undefined at some point or constant."""
    if not np.isfinite(Y).all() or np.ptp(Y) == 0:
        return None
    return sobol_indices(problem, Y, seed) if method == "sobol" else morris_indices(problem, X, Y, seed)


def sensitivity_table(method: str, problem: dict, X: np.ndarray, summaries: pd.DataFrame, kpis: list[str],
                      seed: int = 1) -> pd.DataFrame:
    """Indices of every KPI (tidy: one row per kpi and parameter). KPIs that are undefined at some
    point, or constant everywhere, are left out (no index can be computed)."""
    frames = []
    for kpi in kpis:
        df = _indices(method, problem, X, replicate_mean_matrix(summaries, len(X), kpi), seed)
        if df is not None:
            df.insert(0, "kpi", kpi)
            frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def effect_matrix(summaries: pd.DataFrame, n_points: int, kpi: str, arm: int) -> np.ndarray:
    """Per point of a sweep with effects, the mean over replicates of arm ``arm`` minus the point
    itself (arm 0), paired by replicate (common random numbers)."""
    sub = summaries[summaries["arm"].isin([0, arm])]
    wide = sub.pivot_table(index=["point", "replicate"], columns="arm", values=kpi, dropna=False)
    if 0 not in wide or arm not in wide:
        return np.full(n_points, np.nan)
    d = (wide[arm] - wide[0]).groupby(level="point").mean()
    return d.reindex(range(n_points)).to_numpy(dtype=float)


def effect_sensitivity_table(method: str, problem: dict, X: np.ndarray, summaries: pd.DataFrame, kpis: list[str],
                             effects: list[str], seed: int = 1) -> pd.DataFrame:
    """Indices of each reform's effect on each KPI (one row per effect, kpi and parameter), with the
    effect's mean and range over the sample and the shares of points where it is better or worse than
    the point's baseline by more than the KPI's minimum important difference (``share_better``,
    ``share_worse``; NaN for a KPI with no direction); effects undefined at some point or constant are
    left out."""
    from ..registry import KPIS

    base = summaries[summaries["arm"] == 0]
    frames = []
    for arm, name in enumerate(effects, start=1):
        for kpi in kpis:
            Y = effect_matrix(summaries, len(X), kpi, arm)
            df = _indices(method, problem, X, Y, seed)
            if df is not None:
                df.insert(0, "kpi", kpi)
                df.insert(0, "effect", name)
                df["effect_mean"], df["effect_min"], df["effect_max"] = float(Y.mean()), float(Y.min()), float(Y.max())
                better = KPIS[kpi].better if kpi in KPIS else 0
                if better:
                    mid = np.array([KPIS[kpi].mid.of(v) for v in replicate_mean_matrix(base, len(X), kpi)])
                    df["share_better"] = float(np.mean(better * Y > mid))
                    df["share_worse"] = float(np.mean(better * Y < -mid))
                else:
                    df["share_better"] = df["share_worse"] = float("nan")
                frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def group_stats(summaries: pd.DataFrame, by: str, kpis: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Per group (e.g. scenario) and KPI: n, mean, sd and a t confidence interval of the mean."""
    long = summaries.melt(id_vars=[by], value_vars=kpis, var_name="kpi").dropna(subset=["value"])
    out = long.groupby([by, "kpi"], sort=False)["value"].agg(n="count", mean="mean", sd="std").reset_index()
    half = t_half_width(out["sd"], out["n"], confidence)
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out


def paired_differences(summaries: pd.DataFrame, by: str, reference, kpis: list[str],
                       confidence: float = 0.95) -> pd.DataFrame:
    """Each group's difference from ``reference``, paired by replicate (common random numbers):
    mean difference, paired-t confidence interval and whether it contains zero (``within_noise``);
    judged against the minimum important difference by ``compare.judge``."""
    rows = []
    ref = summaries[summaries[by] == reference].set_index("replicate")
    for name, grp in summaries.groupby(by, sort=False):
        g = grp.set_index("replicate")
        common = g.index.intersection(ref.index)
        for kpi in kpis:
            d = (g.loc[common, kpi] - ref.loc[common, kpi]).dropna().to_numpy(dtype=float)
            n = len(d)
            mean = float(d.mean()) if n else float("nan")
            half = t_half_width(float(d.std(ddof=1)), n, confidence) if n > 1 else float("nan")
            rows.append({by: name, "kpi": kpi, "n": n, "diff": mean, "ci_low": mean - half, "ci_high": mean + half,
                         "within_noise": bool(n > 1 and (mean - half) <= 0 <= (mean + half))})
    return pd.DataFrame(rows)


def timeseries_bands(timeseries: pd.DataFrame, by: str, columns: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Per group, day and column: mean across replicates and a t confidence band."""
    long = timeseries.melt(id_vars=[by, "day"], value_vars=columns, var_name="column").dropna(subset=["value"])
    out = long.groupby([by, "column", "day"], sort=False)["value"].agg(n="count", mean="mean", sd="std").reset_index()
    half = t_half_width(out["sd"], out["n"], confidence).fillna(0.0)  # one replicate: a band of width 0
    out["low"] = out["mean"] - half
    out["high"] = out["mean"] + half
    return out


#: MODEL §12.1: each reported year within this share of the multi-year mean.
STATIONARY_TOLERANCE = 0.10


def yearly_table(timeseries: pd.DataFrame, years: int, year_days: int = 365) -> pd.DataFrame:
    """Per reported year (1, 2, ...) of one run's time series: resolution rate (resolved / judged
    outcomes), eruptions, open cases and mean trust at the year's end."""
    ts = timeseries.assign(year=timeseries["day"].to_numpy() // year_days)
    g = ts[ts["year"] < years].groupby("year")
    out = pd.DataFrame({"resolution": g["outcomes_resolved"].sum() / g["outcomes"].sum(),
                        "eruptions": g["erupted"].sum(), "open_end": g["open"].last(),
                        "trust_end": g["trust_mean"].last()})
    out.index = out.index + 1
    return out


def stationarity_deviation(table: pd.DataFrame) -> pd.Series:
    """Largest relative distance of a year from the mean of all years, per measure (MODEL §12.1)."""
    mean = table.mean()
    return ((table - mean).abs() / mean.abs()).max()
