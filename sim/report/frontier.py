"""What ``cogov frontier`` prints and writes: the front and the picks (text and CSV) and the
trade-off figure (pairwise fronts)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..registry import KPIS
from .figures import figure_function, new_figure, save
from .robust import value_text, write_csv

#: One marker per pick (the best on each objective, then the knee), drawn hollow over the points.
PICK_MARKERS = ("s", "D", "^", "v", "p", "h", "*")


def write_frontier(result, out: Path) -> list[Path]:
    return [write_csv(result.trials, out / "frontier.csv"), write_csv(result.front, out / "front.csv"),
            write_csv(result.picks, out / "picks.csv"), save(frontier_figure(result), out / "frontier.png", "en")]


def _package(row, levers: list[str]) -> str:
    return ", ".join(f"{lv} {row[lv]:g}" for lv in levers)


def tables_text(result) -> str:
    objs = result.objectives
    budget = f", at most {result.budget:g} yuan added per resident and year" if result.budget is not None else ""
    base = result.trials[result.trials["baseline"]]
    lines = [f"{len(result.trials)} packages ({result.reps} replicates each, {result.preset} preset, {result.days} "
             f"days{budget}); {len(result.front)} on the front"]
    if len(base):
        b = base.iloc[0]
        lines.append("baseline: " + ", ".join(f"{k} {value_text(k, b[k])}" for k in objs))
    lines += ["", "the packages to look at first:"]
    for _, r in result.picks.iterrows():
        lines.append(f"  {r['pick']:<34} " + ", ".join(f"{k} {value_text(k, r[k])}" for k in objs))
        lines.append(f"  {'':<34} levers: {_package(r, result.levers)}")
    lines += ["", "front (feasible, non-dominated):", "  " + "  ".join(f"{k:>26}" for k in objs)]
    for _, r in result.front.sort_values(objs[0], ascending=KPIS[objs[0]].better < 0).iterrows():
        lines.append("  " + "  ".join(f"{value_text(k, r[k]):>26}" for k in objs))
    return "\n".join(lines)


@figure_function
def frontier_figure(result, lang: str = "en") -> Figure:
    """One panel per pair of objectives: every package (grey; infeasible ones hollow), the front
    (coloured by generation), the baseline (black cross) and the picks (labelled)."""
    objs = result.objectives
    pairs = list(itertools.combinations(objs, 2))
    cols = min(3, len(pairs))
    rows = int(np.ceil(len(pairs) / cols))
    fig = new_figure((6.0 * cols, 5.2 * rows + 1.0))
    axes = fig.subplots(rows, cols, squeeze=False)
    t, front = result.trials, result.front
    scale = {k: 100.0 if KPIS[k].kind == "rate" else 1.0 for k in objs}
    for ax, (a, b) in zip(axes.flat, pairs, strict=False):
        feas = t["feasible"].to_numpy(bool)
        ax.scatter(t.loc[feas, a] * scale[a], t.loc[feas, b] * scale[b], s=10, color="#bbbbbb", label="package")
        ax.scatter(t.loc[~feas, a] * scale[a], t.loc[~feas, b] * scale[b], s=10, facecolors="none",
                   edgecolors="#bbbbbb", label="over budget")
        ax.scatter(front[a] * scale[a], front[b] * scale[b], s=22, c=front["generation"], cmap="viridis",
                   label="front")
        base = t[t["baseline"]]
        ax.scatter(base[a] * scale[a], base[b] * scale[b], marker="x", s=60, color="black", label="baseline")
        # markers, not text: labels never overlap
        for (_, r), marker in zip(result.picks.iterrows(), PICK_MARKERS, strict=False):
            ax.scatter([r[a] * scale[a]], [r[b] * scale[b]], marker=marker, s=90, facecolors="none",
                       edgecolors="#d55e00", linewidths=1.4, label=r["pick"])
        ax.set_xlabel(KPIS[a].label(lang) + (" (%)" if scale[a] == 100 else ""))
        ax.set_ylabel(KPIS[b].label(lang) + (" (%)" if scale[b] == 100 else ""))
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 4))
    fig.suptitle("Reform packages: the trade-offs (front coloured by generation)")
    return fig
