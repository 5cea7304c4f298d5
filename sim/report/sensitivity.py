"""The figure of ``cogov sensitivity``: the table of indices (``sim.experiments.analysis.sensitivity_table``)
as bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def sensitivity_figure(table: pd.DataFrame, method: str, kpis: list[str]) -> Figure:
    """Bar charts of the indices, one panel per KPI, with confidence intervals."""
    present = table["kpi"].unique().tolist() if "kpi" in table else []
    kpis = [k for k in kpis if k in present]
    n = max(len(kpis), 1)
    cols = min(3, n)
    rows = int(np.ceil(n / cols))
    fig = Figure(figsize=(5 * cols, 3.2 * rows))  # no pyplot: no global state, a notebook's backend is left alone
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, kpi in zip(axes.flat, kpis, strict=False):
        t = table[table["kpi"] == kpi]
        y = np.arange(len(t))
        if method == "sobol":
            ax.barh(y - 0.2, t["S1"], 0.4, xerr=t["S1_conf"], label="first order S1")
            ax.barh(y + 0.2, t["ST"], 0.4, xerr=t["ST_conf"], label="total order ST")
        else:
            ax.barh(y, t["mu_star"], 0.6, xerr=t["mu_star_conf"], label="mu*")
        ax.set_yticks(y, t["parameter"])
        ax.set_title(kpi)
        ax.axvline(0, color="grey", lw=0.5)
    for ax in list(axes.flat)[len(kpis):]:
        ax.axis("off")
    axes.flat[0].legend(loc="best", fontsize=8)
    fig.suptitle(f"{'Sobol' if method == 'sobol' else 'Morris'} sensitivity (bars: 95% CI)")
    fig.tight_layout()
    return fig


#: A parameter is named among those a reform's effect depends on when its total-order Sobol index
#: reaches this share of the effect's variance over the sample (a tenth: Saltelli et al. 2008 call a
#: factor whose total index is below some such share non-influential, and the choice is stated beside
#: every list it makes).
DEPENDS_ST = 0.10
#: Markers of the section of docs/FINDINGS.md that ``cogov sensitivity --findings`` writes and
#: ``cogov reproduce`` keeps as it is when it regenerates the rest.
SECTION_BEGIN = "<!-- cogov sensitivity: begin (written by cogov sensitivity --findings; kept by cogov reproduce) -->"
SECTION_END = "<!-- cogov sensitivity: end -->"


def effects_heatmap(table: pd.DataFrame, kpis: list[str]) -> Figure:
    """Total-order Sobol indices of the reforms' effects as a grid: one panel per reform, a column per
    KPI, a row per uncertain parameter, the index written in each cell (0 white to 1 dark)."""
    from .figures import new_figure, style

    effects = list(dict.fromkeys(table["effect"]))
    params = list(dict.fromkeys(table["parameter"]))
    with style("en", 12.0):
        fig = new_figure((4.2 * len(effects) + 3.5, 0.42 * len(params) + 3.2))
        axes = fig.subplots(1, len(effects), sharey=True, squeeze=False)[0]
        for ax, effect in zip(axes, effects, strict=True):
            t = table[table["effect"] == effect]
            cols = [k for k in kpis if k in set(t["kpi"])]
            grid = t.pivot(index="parameter", columns="kpi", values="ST").reindex(index=params, columns=cols)
            values = grid.to_numpy(dtype=float)  # the estimate, written as it is (above 1: estimator noise)
            image = ax.imshow(values.clip(0, 1), cmap="Blues", vmin=0, vmax=1, aspect="auto")
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=9,
                            color="white" if v > 0.6 else "black", fontweight="bold" if v > 1 else "normal")
            ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right")
            ax.set_yticks(range(len(params)), params)
            ax.set_title(effect)
            ax.grid(False)
        fig.colorbar(image, ax=list(axes), shrink=0.8, label="total-order Sobol index ST")
        fig.suptitle("What the reforms' effects depend on: total-order Sobol indices (one replicate per point; "
                     "bold above 1: estimator noise)")
        fig.canvas.draw()
    return fig


def depends_on(rows: pd.DataFrame, limit: int = 3) -> list[str]:
    """The parameters an effect on one KPI depends on: total index at least ``DEPENDS_ST``, largest
    first, at most ``limit``, each as "name (ST 0.42 ± 0.20)"."""
    top = rows[rows["ST"] >= DEPENDS_ST].sort_values("ST", ascending=False).head(limit)
    return [f"`{r.parameter}` (ST {r.ST:.2f} ± {r.ST_conf:.2f})" for r in top.itertuples()]


def _share(v: float) -> str:
    return f"{v:.0%}" if np.isfinite(v) else "-"


def effects_markdown(table: pd.DataFrame, meta: dict, figure: str | None, kpis: list[str],
                     arm_texts: dict[str, str]) -> str:
    """The section of docs/FINDINGS.md on the global sensitivity of the reforms' effects: how it was
    made, a paragraph per reform naming what its effects depend on, the table and the figure."""
    effects = list(dict.fromkeys(table["effect"]))
    params = list(dict.fromkeys(table["parameter"]))
    lines = [SECTION_BEGIN, "## What the reforms' effects depend on: global sensitivity", "",
             f"Generated by `{meta['command']}` on {meta['date']} with cogov {meta['version']}"
             + (f" (git {meta['commit'][:10]})" if meta.get("commit") else "") + f"; {meta['timing']}.", "",
             f"- Sweep `{meta['spec']}`: {meta['points']} points of a Saltelli sample ({meta['samples']} base "
             f"samples × ({len(params)} parameters + 2)), each run at the `{meta['preset']}` preset for "
             f"{meta['days']} days with {meta['replicates']} replicate{'s' if meta['replicates'] > 1 else ''}, "
             "and each reform arm run on top of every point on the same seed (common random numbers): an effect "
             "is arm − point, computed point by point.",
             f"- Uncertain parameters ({len(params)}): " + ", ".join(f"`{p}`" for p in params) + " (their ranges "
             "in the spec: the fitted ones over the calibrated ensemble's 90% intervals, the assumed v2 "
             "coefficients over half to one and a half times their default).",
             f"- A parameter is named when its total-order index ST is at least {DEPENDS_ST:.2f} (it, alone or "
             "with others, accounts for that share of the effect's variance over the sample); ± is SALib's "
             "bootstrap 95% interval. Simulation noise inflates every total index (with one replicate a point, "
             "more so): read the names as leads, not as a ranking.",
             *([f"- **Too few samples for a ranking**: at {meta['samples']} base samples the bootstrap intervals "
                "are often wider than the indices and indices above 1 occur (estimator noise); only what is near "
                "zero with a narrow interval (a parameter the effect does not depend on) can be read. A ranking "
                "needs some 64 base samples or more (eight times these runs)."] if meta["samples"] < 64 else []),
             "- \"better/worse\": the share of points at which the reform moves the KPI beyond its minimum "
             "important difference (`cogov kpis`) in that direction.", ""]
    for effect in effects:
        t = table[table["effect"] == effect]
        counts: dict[str, int] = {}
        bullets = []
        for kpi in [k for k in kpis if k in set(t["kpi"])]:
            rows = t[t["kpi"] == kpi]
            r = rows.iloc[0]
            names = depends_on(rows)
            for n in rows[rows["ST"] >= DEPENDS_ST]["parameter"]:
                counts[n] = counts.get(n, 0) + 1
            bullets.append(f"  - `{kpi}`: mean effect {r['effect_mean']:+.4g} (range {r['effect_min']:+.4g} to "
                           f"{r['effect_max']:+.4g}); better at {_share(r['share_better'])} of points, worse at "
                           f"{_share(r['share_worse'])}; depends on "
                           + (", ".join(names) if names else f"no parameter with ST ≥ {DEPENDS_ST:.2f}") + ".")
        lead = sorted(counts, key=lambda n: -counts[n])
        summary = (", ".join(f"`{n}` ({counts[n]} of {len(bullets)} KPIs)" for n in lead[:4])
                   if lead else "none of the parameters")
        upper = (t["ST"] + t["ST_conf"]).groupby(t["parameter"]).max()
        none_ = [f"`{n}`" for n in params if upper.get(n, np.inf) < DEPENDS_ST]
        lines += [f"**{arm_texts.get(effect, effect)}.** Its effects depend chiefly on {summary}; "
                  + (f"on no KPI do they depend on {', '.join(none_)} (ST and its interval below {DEPENDS_ST:.2f})."
                     if none_ else "no parameter can be ruled out."), "", *bullets, ""]
    lines += [f"(Every index, with S1, is in `{meta['table']}` of the sweep folder.)", ""]
    if figure:
        lines += [f"![Total-order Sobol indices of the three reforms' effects]({figure})", ""]
    lines.append(SECTION_END)
    return "\n".join(lines)


def kept_section(text: str) -> str:
    """The sensitivity section of a FINDINGS.md (markers included), or "" if it has none."""
    start, end = text.find(SECTION_BEGIN), text.find(SECTION_END)
    return text[start:end + len(SECTION_END)] if 0 <= start < end else ""


def with_section(text: str, section: str) -> str:
    """``text`` with its sensitivity section replaced by ``section``, or ``section`` appended."""
    old = kept_section(text)
    if old:
        return text.replace(old, section)
    return text.rstrip("\n") + "\n\n" + section + "\n"
