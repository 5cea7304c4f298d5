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
    for ax, kpi in zip(axes.flat, kpis):
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
