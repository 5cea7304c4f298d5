"""The calibration rendered: the target table as printed, and the figure (each target's band against
the model, and the search's distances). Both take the tables of ``sim.experiments.calibration``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .figures import style


def calibration_figure(targets: pd.DataFrame, history: pd.DataFrame) -> Figure:
    """Left: every target on its own scale, band edges at 0 and 1, with the published value and the
    model's replicate mean and min-max. Right: the distance of every point searched, by round."""
    with style("en"):
        fig = Figure(figsize=(11, 0.45 * len(targets) + 2.2))
        FigureCanvasAgg(fig)
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        width = (targets["high"] - targets["low"]).to_numpy()
        scale = lambda v: (np.asarray(v, dtype=float) - targets["low"].to_numpy()) / width  # noqa: E731
        y = np.arange(len(targets))[::-1]
        ax.barh(y, 1.0, left=0.0, height=0.5, color="#dde8f3", label="band")
        ax.scatter(scale(targets["target"]), y, marker="|", s=300, color="#1f4e79", label="published value", zorder=3)
        mean, lo, hi = scale(targets["model"]), scale(targets["min"]), scale(targets["max"])
        colors = np.where(targets["in_band"], "#2e7d32", "#c62828")
        for i in range(len(y)):
            ax.errorbar(mean[i], y[i], xerr=[[mean[i] - lo[i]], [hi[i] - mean[i]]], fmt="none", ecolor=colors[i],
                        capsize=3, zorder=4)
        ax.scatter(mean, y, color=colors, s=36, zorder=5, label="model (replicate min-max)")
        check = targets["role"] == "check" if "role" in targets else np.zeros(len(targets), dtype=bool)
        ax.set_yticks(y, [f"{r.id} {r.kpi}" + (" (held back)" if c else "")
                          for r, c in zip(targets.itertuples(), check, strict=True)])
        ax.set_xlabel("position in the band (0 = low edge, 1 = high edge)")
        ax.axvline(0, color="#888", lw=0.8)
        ax.axvline(1, color="#888", lw=0.8)
        ax.set_title("Targets: model vs published band")
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.06), ncol=3, fontsize=8)
        for i, model in enumerate(targets["model"]):
            ax.annotate(f"{model:.3g}", (mean[i], y[i]), xytext=(0, 7), textcoords="offset points", ha="center",
                        fontsize=7)
        finite = history[np.isfinite(history["distance"])]
        for rnd, grp in finite.groupby("round"):
            ax2.scatter(np.full(len(grp), rnd) + (np.arange(len(grp)) / max(len(grp), 1) - 0.5) * 0.6,
                        grp["distance"], s=10, alpha=0.6, label=f"round {rnd}")
        best = finite.loc[finite["distance"].idxmin()] if len(finite) else None
        if best is not None:
            ax2.scatter([best["round"]], [best["distance"]], marker="*", s=160, color="k", label="best", zorder=5)
        ax2.axhline(len(targets), color="#888", lw=0.8, ls="--")
        ax2.set_yscale("log")
        ax2.set_xticks(sorted(history["round"].unique()))
        ax2.set_xlabel("round")
        ax2.set_ylabel("distance (sum of squared half-band units)")
        ax2.set_title("Search")
        if len(finite):
            ax2.legend(fontsize=8)
        fig.tight_layout()
    return fig


ROLE_TITLES = {"fit": "Fitted targets", "check": "Held-back patterns (not fitted; checked)"}


def target_table_text(table: pd.DataFrame) -> str:
    """The target tables as printed, fitted targets first, then held-back ones: target, band, model mean
    (replicate min-max), in band."""
    head = f"{'id':<5} {'kpi':<32} {'target':>8} {'band':>15} {'model':>8} {'replicates min-max':>20}  in band"
    blocks = []
    for role, title in ROLE_TITLES.items():
        rows = table[table["role"] == role] if "role" in table else (table if role == "fit" else table.iloc[:0])
        if not len(rows):
            continue
        inside = int(rows["in_band"].sum())
        lines = [f"{title}: {inside} of {len(rows)} in band", head]
        for r in rows.itertuples():
            n, total = r.replicates.split(" of ")
            missing = f"  (defined in {r.replicates} replicates)" if n != total else ""
            lines.append(f"{r.id:<5} {r.kpi:<32} {r.target:>8.3f} {f'{r.low:.3f}-{r.high:.3f}':>15} {r.model:>8.3f} "
                         f"{f'{r.min:.3f}-{r.max:.3f}':>20}  {'yes' if r.in_band else 'NO'}{missing}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
