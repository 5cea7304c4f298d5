"""What ``cogov frontier`` prints and writes: the front and the picks (text and CSV) and the
trade-off figure (pairwise fronts)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..registry import KPIS
from .figures import figure_function, new_figure, save
from .i18n import kpi_header, kpi_label
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


def _pick_groups(result, lang: str) -> list[tuple[str, object]]:
    """(legend label, row) per distinct package among the picks: a package picked twice (the best on one
    objective and the knee, say) is one marker whose label names both."""
    groups: dict[tuple, tuple[list[str], object]] = {}
    for _, r in result.picks.iterrows():
        name = r["pick"]
        label = f"best: {kpi_label(name[5:], lang)}" if name.startswith("best ") else name
        key = tuple(float(r[lv]) for lv in result.levers)
        groups.setdefault(key, ([], r))[0].append(label)
    return [(" = ".join(labels), r) for labels, r in groups.values()]


@figure_function
def frontier_figure(result, lang: str = "en") -> Figure:
    """One panel per pair of objectives: every package (grey; over the budget hollow), the front
    (coloured by generation, with a colour bar), the baseline (black cross) and the picks (a hollow
    marker each, one per distinct package, named in the legend)."""
    objs = result.objectives
    pairs = list(itertools.combinations(objs, 2))
    cols = min(3, len(pairs))
    rows = int(np.ceil(len(pairs) / cols))
    fig = new_figure((6.0 * cols, 5.2 * rows + 1.0))
    axes = fig.subplots(rows, cols, squeeze=False)
    t, front = result.trials, result.front
    scale = {k: 100.0 if KPIS[k].kind == "rate" else 1.0 for k in objs}
    feas = t["feasible"].to_numpy(bool)
    picks = _pick_groups(result, lang)
    gens = (1, int(t["generation"].max()))
    dots = None
    for ax, (a, b) in zip(axes.flat, pairs, strict=False):
        ax.scatter(t.loc[feas, a] * scale[a], t.loc[feas, b] * scale[b], s=10, color="#bbbbbb", label="package")
        if not feas.all():
            ax.scatter(t.loc[~feas, a] * scale[a], t.loc[~feas, b] * scale[b], s=10, facecolors="none",
                       edgecolors="#bbbbbb", label="over budget")
        dots = ax.scatter(front[a] * scale[a], front[b] * scale[b], s=22, c=front["generation"], cmap="viridis",
                          vmin=gens[0], vmax=gens[1], label="front")
        base = t[t["baseline"]]
        ax.scatter(base[a] * scale[a], base[b] * scale[b], marker="x", s=60, color="black", label="baseline")
        # markers, not text: labels never overlap
        for (label, r), marker in zip(picks, PICK_MARKERS, strict=False):
            ax.scatter([r[a] * scale[a]], [r[b] * scale[b]], marker=marker, s=110, facecolors="none",
                       edgecolors="#d55e00", linewidths=1.6, label=label)
        ax.set_xlabel(kpi_header(a, lang))
        ax.set_ylabel(kpi_header(b, lang))
    for ax in list(axes.flat)[len(pairs):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 3))
    if dots is not None:
        bar = fig.colorbar(dots, ax=list(axes.flat), shrink=0.6, pad=0.01)
        bar.set_label("generation of the front's packages")
        bar.set_ticks(range(gens[0], gens[1] + 1))
    fig.suptitle("Reform packages: the trade-offs")
    return fig
