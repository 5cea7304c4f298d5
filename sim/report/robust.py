"""What ``cogov robust`` prints and writes: the robustness and discovery tables (text and CSV),
the futures, and one figure (each option's KPIs across the futures, and its regret)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..io import atomic_write_bytes
from ..registry import KPIS
from .figures import figure_function, new_figure, save, scenario_styles


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    atomic_write_bytes(path, table.to_csv(index=False).encode("utf-8"))
    return path


def write_robust(result, out: Path) -> list[Path]:
    """robust.csv (option x KPI), futures.csv (each future's conditions and each option's KPIs),
    discovery.csv (PRIM boxes) and robust.png."""
    wide = result.values.pivot(index="future", columns="option", values=result.spec.kpis)
    wide.columns = [f"{option}:{kpi}" for kpi, option in wide.columns]
    futures = result.futures.merge(wide.reset_index(), on="future")
    paths = [write_csv(result.table, out / "robust.csv"), write_csv(futures, out / "futures.csv"),
             write_csv(result.discovery, out / "discovery.csv")]
    paths.append(save(robust_figure(result), out / "robust.png", "en"))
    return paths


def value_text(kpi: str, v: float) -> str:
    if not np.isfinite(v):
        return ""
    kind = KPIS[kpi].kind
    if kind == "rate":
        return f"{100 * v:.1f}%"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def tables_text(result) -> str:
    """The robustness table (per KPI: options as rows) and the discovery table, as printed."""
    lines = [f"{len(result.futures)} futures x {result.reps} replicates, {result.preset} preset, {result.days} days; "
             "regret = shortfall from the best option in the same future"]
    for kpi in [*result.spec.kpis, "all"]:
        part = result.table[result.table["kpi"] == kpi]
        if part.empty:
            continue
        th = part["threshold"].iloc[0]
        lines.append("")
        if kpi == "all":
            stated = ", ".join(f"{k} {t.text()}" for k, t in result.spec.thresholds.items())
            lines.append(f"every threshold at once ({stated})")
            for _, r in part.iterrows():
                lines.append(f"  {r.option:<24} met in {r.satisficing:.0%} of futures")
            continue
        better = "higher is better" if KPIS[kpi].better > 0 else "lower is better"
        lines.append(f"{kpi} ({better}{'; threshold ' + th if th else ''})")
        lines.append(f"  {'option':<24} {'mean':>10} {'worst 10%':>10} {'mean regret':>12} {'max regret':>11}"
                     + (f" {'met':>6}" if th else ""))
        for _, r in part.iterrows():
            lines.append(f"  {r.option:<24} {value_text(kpi, r['mean']):>10} {value_text(kpi, r.worst_decile):>10} "
                         f"{value_text(kpi, r.mean_regret):>12} {value_text(kpi, r.max_regret):>11}"
                         + (f" {r.satisficing:>6.0%}" if th else ""))
    if len(result.discovery):
        lines += ["", "when each option fails a threshold (PRIM box: coverage = share of its failures inside, "
                      "density = share of the futures inside that fail, mass = share of all futures inside)"]
        for _, r in result.discovery.iterrows():
            stats = (f" (coverage {r.coverage:.0%}, density {r.density:.0%}, mass {r.mass:.0%})"
                     if np.isfinite(r.coverage) else "")
            lines.append(f"  {r.option:<24} fails in {r.failures} of {r.futures}: {r.box}{stats}")
    return "\n".join(lines)


@figure_function
def robust_figure(result, lang: str = "en") -> Figure:
    """Top row: each KPI across the futures, one column of dots per option (a line joins the same
    future, so that common random numbers show), the threshold dashed; bottom row: mean and
    maximum regret."""
    kpis = result.spec.kpis
    options = result.options
    styles = scenario_styles(options)
    colors = {o: st.color for o, st in styles.items()}
    fig = new_figure((4.4 * len(kpis), 8.0))
    axes = fig.subplots(2, len(kpis), squeeze=False)
    x = np.arange(len(options))
    for j, kpi in enumerate(kpis):
        ax = axes[0, j]
        wide = result.values.pivot(index="future", columns="option", values=kpi)[options]
        scale = 100.0 if KPIS[kpi].kind == "rate" else 1.0
        for _, row in wide.iterrows():
            ax.plot(x, row.to_numpy(float) * scale, color="#bbbbbb", lw=0.5, zorder=1)
        for i, o in enumerate(options):
            ax.scatter(np.full(len(wide), i), wide[o] * scale, s=14, color=colors[o], marker=styles[o].marker, zorder=2)
        th = result.spec.thresholds.get(kpi)
        if th is not None:
            ax.axhline((th.at_least if th.at_least is not None else th.at_most) * scale, ls="--", color="black", lw=1)
        ax.set_title(textwrap.fill(KPIS[kpi].label(lang) + (" (%)" if scale == 100 else ""), 22))
        ax.set_xticks(x, options, rotation=30, ha="right")
        part = result.table[result.table["kpi"] == kpi].set_index("option").loc[options]
        ax2 = axes[1, j]
        ax2.bar(x - 0.2, part["mean_regret"] * scale, 0.4, color=[colors[o] for o in options], label="mean")
        ax2.bar(x + 0.2, part["max_regret"] * scale, 0.4, color=[colors[o] for o in options], alpha=0.45,
                hatch="//", label="max")
        ax2.set_xticks(x, options, rotation=30, ha="right")
        ax2.set_title("regret")
    axes[1, 0].legend()
    fig.suptitle(f"Options across {len(result.futures)} futures")
    return fig
