"""The calibration rendered: the target and identifiability tables as printed, and the figures (each
target's band against the best set and the ensemble, the search's distances by generation; the
ensemble's marginals and pairs). All take the tables of ``sim.experiments.calibration``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .figures import style


def calibration_figure(targets: pd.DataFrame, history: pd.DataFrame) -> Figure:
    """Left: every target on its own scale, band edges at 0 and 1, with the published value, the best
    set's replicate mean and min-max, and the ensemble's 5-95% range (grey). Right: the distance of
    every point run, by generation and chain; the kept ones filled."""
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
        if "ensemble_q05" in targets:
            e_lo, e_hi = scale(targets["ensemble_q05"]), scale(targets["ensemble_q95"])
            ax.hlines(y - 0.3, e_lo, e_hi, color="#777", lw=3, label="ensemble 5-95%")
        ax.scatter(mean, y, color=colors, s=36, zorder=5, label="best set (replicate min-max)")
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
        chains = sorted(finite["root_seed"].unique()) if len(finite) else []
        for c, seed in enumerate(chains):
            grp = finite[finite["root_seed"] == seed]
            x = grp["generation"] + (c + 0.5) / len(chains) * 0.6 - 0.3
            kept = grp["kept"].to_numpy(bool)
            ax2.scatter(x[~kept], grp["distance"][~kept], s=10, alpha=0.5, facecolors="none",
                        edgecolors=f"C{c}", label=f"seed {seed}")
            ax2.scatter(x[kept], grp["distance"][kept], s=12, color=f"C{c}", label=f"seed {seed}, kept")
        if len(finite):
            best = finite.loc[finite["distance"].idxmin()]
            ax2.scatter([best["generation"]], [best["distance"]], marker="*", s=160, color="k", label="best",
                        zorder=5)
        ax2.axhline((targets["role"] == "fit").sum() if "role" in targets else len(targets), color="#888", lw=0.8,
                    ls="--")
        ax2.set_yscale("log")
        ax2.set_xticks(sorted(history["generation"].unique()))
        ax2.set_xlabel("generation")
        ax2.set_ylabel("distance (sum of squared half-band units)")
        ax2.set_title("Search (dashed: all fitted targets\nat their band's edge)")
        if len(finite):
            ax2.legend(fontsize=8)
        else:
            ax2.text(0.5, 0.5, "no point with every fitted\ntarget defined (distance finite)", ha="center",
                     va="center", transform=ax2.transAxes, fontsize=9)
        fig.tight_layout()
    return fig


ROLE_TITLES = {"fit": "Fitted targets", "check": "Held-back patterns (not fitted; checked)"}


def target_table_text(table: pd.DataFrame) -> str:
    """The target tables as printed, fitted targets first, then held-back ones: target, band, the best
    set's mean (replicate min-max) and whether it is in band, and, with an ensemble, the share of its
    members in band."""
    ens = "ensemble_q05" in table
    head = (f"{'id':<5} {'kpi':<32} {'target':>8} {'band':>15} {'best':>8} {'replicates min-max':>20}  in band"
            + (f" {'ensemble 5-95%':>15} {'members in band':>16}" if ens else ""))
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
                         f"{f'{r.min:.3f}-{r.max:.3f}':>20}  {'yes' if r.in_band else 'NO':<7}"
                         + (f" {f'{r.ensemble_q05:.3f}-{r.ensemble_q95:.3f}':>15} {r.share_in_band:>16.0%}"
                            if ens else "") + missing)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def pattern_table_text(table: pd.DataFrame) -> str:
    """The held-back patterns of shape as printed ("" if there are none)."""
    if not len(table):
        return ""
    lines = [f"Held-back patterns of shape (not fitted; checked): {int(table['holds'].sum())} of {len(table)} hold "
             "for the best set"]
    for r in table.itertuples():
        lines.append(f"{r.id:<5} {r.pattern}\n      best set: {r.best}  {'yes' if r.holds else 'NO'}; "
                     f"holds in {r.share_holding:.0%} of the ensemble  ({r.label})")
    return "\n".join(lines)


def identifiability_text(table: pd.DataFrame) -> str:
    """What the targets pin down, as printed: per parameter, the prior, the best value, the ensemble's
    median and 90% interval, that interval's share of the prior's, the verdict, and what informs it."""
    lines = [f"{'parameter':<34} {'prior':>13} {'best':>8} {'median':>8} {'90% interval':>17} {'share':>6}  "
             f"{'verdict':<13} informed by / most correlated in the ensemble"]
    for r in table.itertuples():
        lines.append(f"{r.parameter:<34} {f'{r.prior_low:.3g}-{r.prior_high:.3g}':>13} {r.best:>8.4g} {r.median:>8.4g} "
                     f"{f'{r.q05:.3g}-{r.q95:.3g}':>17} {r.interval_share:>6.0%}  {r.verdict:<13} "
                     f"{r.informed_by} / {r.most_correlated or '-'}")
    return "What the targets pin down (share: the ensemble's 90% interval over the prior's)\n" + "\n".join(lines)


def posterior_figure(ensemble: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> Figure:
    """The ensemble: on the diagonal each parameter's weighted histogram over its prior range (the
    prior is flat); below it, pairs of parameters (points sized by weight, coloured by chain), so a
    ridge of equally good sets (a trade-off the targets cannot separate) shows. ``ranges``: each
    fitted parameter's prior range, in order."""
    names = list(ranges)
    k = len(names)
    with style("en"):
        fig = Figure(figsize=(max(4.0, 1.6 * k), max(4.0, 1.6 * k)))
        FigureCanvasAgg(fig)
        axes = np.atleast_2d(fig.subplots(k, k, squeeze=False))
        w = ensemble["weight"].to_numpy(float)
        seeds = sorted(ensemble["root_seed"].unique())
        for i, yi in enumerate(names):
            for j, xj in enumerate(names):
                ax = axes[i, j]
                if j > i:
                    ax.set_visible(False)
                    continue
                if i == j:
                    ax.hist(ensemble[xj], bins=12, range=ranges[xj], weights=w, color="#4c72b0")
                    ax.set_yticks([])
                else:
                    for c, seed in enumerate(seeds):
                        part = ensemble[ensemble["root_seed"] == seed]
                        ax.scatter(part[xj], part[yi], s=8 + 400 * part["weight"], alpha=0.6, color=f"C{c}",
                                   label=f"seed {seed}" if (i, j) == (1, 0) else None)
                    ax.set_ylim(*ranges[yi])
                ax.set_xlim(*ranges[xj])
                ax.tick_params(labelsize=6)
                if i == k - 1:
                    ax.set_xlabel(xj.split(".")[-1], fontsize=7)
                if j == 0 and i > 0:
                    ax.set_ylabel(yi.split(".")[-1], fontsize=7)
        if k > 1:
            axes[1, 0].legend(fontsize=6, loc="upper right")
        fig.suptitle(f"Calibrated ensemble: {len(ensemble)} sets\n(histograms span each prior range)", fontsize=9)
        fig.tight_layout()
    return fig
