"""Figures of the comparison report: functions from tables (a ``Comparison``) to a matplotlib
``Figure``, each in English or Chinese.

Figures are built on the Agg canvas without pyplot (no global figure state, never shown).
Text gets its font while the figure is built, so a figure saved later still draws Chinese;
``save`` writes one to PNG with the same fonts.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import wraps
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from ..registry import KPIS, REPORT_SERIES
from .i18n import font_families, kind_label, level_label, scenario_label, t

REFERENCE_COLOR = "#3a3a3a"
NO_UNIT_COLOR = "#c8c8c8"


def _bold(lang: str) -> str:
    """Bold where the font has a bold face (the CJK font shipped by mplfonts has only regular)."""
    return "bold" if lang == "en" else "normal"


@contextmanager
def style(lang: str):
    """rcParams of the report's figures, with the fonts of ``lang``."""
    with matplotlib.rc_context({
        "font.family": font_families(lang), "axes.unicode_minus": False, "font.size": 10,
        "axes.titlesize": 11, "axes.titleweight": _bold(lang), "figure.titlesize": 13,
        "figure.titleweight": _bold(lang),
        "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
        "legend.frameon": False, "savefig.dpi": 150, "savefig.facecolor": "white", "figure.facecolor": "white",
    }):
        # the CJK fallback font has no bold face: matplotlib then warns once per text; it draws regular
        log = logging.getLogger("matplotlib.font_manager")
        level = log.level
        log.setLevel(logging.ERROR)
        try:
            yield
        finally:
            log.setLevel(level)


def figure_function(fn):
    """Build the figure inside the language's style, and draw it once there so that every text
    (tick labels too, which are made at draw time) has its font."""
    @wraps(fn)
    def wrapper(data, lang: str = "en", **kwargs) -> Figure:
        with style(lang):
            fig = fn(data, lang, **kwargs)
            fig.canvas.draw()
        return fig
    return wrapper


def new_figure(figsize) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: Path, lang: str, dpi: int = 150) -> Path:
    """Write ``fig`` as PNG (with the fonts of ``lang``)."""
    with style(lang):
        fig.savefig(path, dpi=dpi, format="png")
    return Path(path)


def scenario_colors(names: list[str]) -> dict[str, str]:
    """One colour per scenario, the same in every figure; the reference (first) is dark grey."""
    tab10 = [matplotlib.colormaps["tab10"](i) for i in range(10) if i != 7]  # tab10's grey is the reference's
    palette = tab10 if len(names) <= len(tab10) + 1 else [matplotlib.colormaps["tab20"](i) for i in range(20)]
    colors = {names[0]: REFERENCE_COLOR} if names else {}
    for i, name in enumerate(names[1:]):
        colors[name] = matplotlib.colors.to_hex(palette[i % len(palette)])
    return colors


def _percent(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _thousands(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


# ------------------------------------------------------------------------------------------------
# (a) time series with bands
# ------------------------------------------------------------------------------------------------

@figure_function
def timeseries_bands(comp, lang: str = "en") -> Figure:
    """Backlog (open cases), 30-day resolution rate and mean trust over time: one line per
    scenario (mean of replicates) with its 95% band."""
    bands = comp.bands
    columns = [c for c in REPORT_SERIES if c in bands["column"].unique()]
    colors = scenario_colors(comp.names)
    fig = new_figure((11, 3.0 * max(len(columns), 1) + 1.2))
    axes = fig.subplots(max(len(columns), 1), 1, sharex=True, squeeze=False)[:, 0]
    for ax, col in zip(axes, columns, strict=False):  # one empty panel when there is no column
        scale = 100.0 if col == "resolution_rate_30d" else 1.0
        for name in comp.names:
            d = bands[(bands["scenario"] == name) & (bands["column"] == col)].sort_values("day")
            if d.empty:
                continue
            low, high = d["low"].to_numpy(float) * scale, d["high"].to_numpy(float) * scale
            low = np.maximum(low, 0.0)
            if col != "open":
                high = np.minimum(high, 100.0 if scale == 100.0 else 1.0)
            ref = name == comp.names[0]
            ax.fill_between(d["day"], low, high, color=colors[name], alpha=0.12, lw=0)
            ax.plot(d["day"], d["mean"] * scale, color=colors[name], lw=2.2 if ref else 1.5,
                    ls="--" if ref else "-", label=scenario_label(name, lang), zorder=3 if ref else 2)
        ax.set_title(t(f"fig.bands.{col}", lang), loc="left")
        ax.set_ylabel(t(f"fig.bands.ylabel.{col}", lang))
        if col == "resolution_rate_30d":
            _percent(ax)
        elif col == "open":
            _thousands(ax)
    if not columns:
        axes[0].text(0.5, 0.5, t("table.na", lang), ha="center", va="center", transform=axes[0].transAxes)
    axes[-1].set_xlabel(t("axis.day", lang))
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right upper", title=t("settings.scenarios", lang))
    fig.suptitle(t("fig.bands.title", lang))
    return fig


# ------------------------------------------------------------------------------------------------
# (b) where cases ended
# ------------------------------------------------------------------------------------------------

LADDER = (  # (label key, colour)
    ("ladder.grassroots", "#1b7837"), ("ladder.street", "#5aae61"), ("ladder.above_street", "#a6dba0"),
    ("superficial_end", "#f4a442"), ("erupted", "#c0392b"), ("withdrawn", "#9e9ac8"), ("open_end", "#d9d9d9"),
)


def ladder_shares(summaries: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per scenario, the mean over replicates of each outcome's share of all cases of the reported
    period, those open at day 0 included (rows: scenarios in ``names`` order; columns: the keys of
    ``LADDER``)."""
    s = summaries
    opened = s["cases_open_start"] if "cases_open_start" in s else 0  # open at day 0 (made in the burn-in)
    total = (s["cases_total"] + opened).astype(float)
    total = total.where(total > 0)
    resolved = s["resolved"].astype(float)
    parts = pd.DataFrame({
        "scenario": s["scenario"],
        "ladder.grassroots": resolved * s["share_resolved_grassroots"].fillna(0.0) / total,
        "ladder.street": resolved * s["share_resolved_street"].fillna(0.0) / total,
        "ladder.above_street": resolved * s["share_resolved_above_street"].fillna(0.0) / total,
        "superficial_end": s["superficial_end"] / total,
        "erupted": s["erupted"] / total,
        "withdrawn": s["withdrawn"] / total,
        "open_end": s["open_end"] / total,
    })
    return parts.groupby("scenario", sort=False).mean().reindex(names)


@figure_function
def escalation_ladder(comp, lang: str = "en") -> Figure:
    """Where the cases ended, per scenario: stacked shares of all cases (resolved at grassroots,
    street, above street; closed superficially; erupted; withdrawn; still open), means over
    replicates."""
    shares = ladder_shares(comp.summaries, comp.names) * 100.0
    n = len(comp.names)
    fig = new_figure((11, 0.55 * n + 2.6))
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    left = np.zeros(n)
    for key, color in LADDER:
        width = shares[key].fillna(0.0).to_numpy(float)
        label = t(key, lang)
        ax.barh(y, width, left=left, color=color, height=0.7, label=label, edgecolor="white", lw=0.5)
        dark = key in ("ladder.grassroots", "erupted")
        for yi, li, wi in zip(y, left, width, strict=True):
            if wi >= 4.0:
                ax.text(li + wi / 2, yi, f"{wi:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "#222222")
        left += width
    ax.set_yticks(y, [scenario_label(nm, lang) for nm in comp.names])
    ax.set_xlim(0, 100)
    ax.set_xlabel(t("fig.ladder.xlabel", lang))
    ax.grid(axis="y", visible=False)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=9)
    fig.suptitle(t("fig.ladder.title", lang))
    return fig


# ------------------------------------------------------------------------------------------------
# scatter plots with confidence intervals both ways
# ------------------------------------------------------------------------------------------------

def _stat(stats: pd.DataFrame, kpi: str, names: list[str], lo: float = -np.inf, hi: float = np.inf) -> pd.DataFrame:
    """mean, ci_low, ci_high of ``kpi`` per scenario, in ``names`` order; the interval is cut to
    [lo, hi], the values the KPI can take (a t interval of a rate may pass 1)."""
    d = stats[stats["kpi"] == kpi].set_index("scenario")[["mean", "ci_low", "ci_high"]].reindex(names)
    d["ci_low"] = d["ci_low"].clip(lower=lo, upper=hi)
    d["ci_high"] = d["ci_high"].clip(lower=lo, upper=hi)
    return d


def _err(d: pd.DataFrame, scale: float) -> np.ndarray:
    lo = ((d["mean"] - d["ci_low"]) * scale).to_numpy(float)
    hi = ((d["ci_high"] - d["mean"]) * scale).to_numpy(float)
    return np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)])


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(fig: Figure, ax, xs, ys, labels: list[str], colors: list[str]) -> None:
    """Label each point, trying positions around it until the label overlaps no other label,
    no point and stays inside the axes (else the position with the least overlap)."""
    fig.canvas.draw()  # settle the layout first: labels are placed in display coordinates
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    r = 6.0
    from matplotlib.transforms import Bbox
    obstacles = [Bbox([[px - r, py - r], [px + r, py + r]]) for px, py in pts if np.isfinite(px) and np.isfinite(py)]
    obstacles += [text.get_window_extent(renderer) for text in ax.texts]  # notes already on the axes
    inside = ax.get_window_extent(renderer)
    candidates = [((7, 5), "left", "bottom"), ((7, -5), "left", "top"), ((-7, 5), "right", "bottom"),
                  ((-7, -5), "right", "top"), ((0, 9), "center", "bottom"), ((0, -9), "center", "top"),
                  ((10, 0), "left", "center"), ((-10, 0), "right", "center"), ((14, 16), "left", "bottom"),
                  ((-14, 16), "right", "bottom"), ((14, -16), "left", "top"), ((-14, -16), "right", "top"),
                  ((0, 24), "center", "bottom"), ((0, -24), "center", "top")]
    order = np.argsort(ys)[::-1]  # from the top down
    for i in order:
        if not (np.isfinite(xs[i]) and np.isfinite(ys[i])):
            continue
        best, best_cost = None, np.inf
        for offset, ha, va in candidates:
            ann = ax.annotate(labels[i], (xs[i], ys[i]), xytext=offset, textcoords="offset points", ha=ha, va=va,
                              fontsize=9, color=colors[i], annotation_clip=False)
            bb = ann.get_window_extent(renderer).expanded(1.04, 1.1)
            cost = sum(_overlap(bb, o) for o in obstacles)
            outside = bb.width * bb.height - _overlap(bb, inside)
            cost += 2.0 * outside
            if cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (ann, bb), cost
            else:
                ann.remove()
            if cost == 0:
                break
        best[0].set_in_layout(False)
        obstacles.append(best[1])


def _scatter_ci(fig: Figure, ax, comp, xkpi: str, ykpi: str, xscale: float, yscale: float, lang: str):
    colors = scenario_colors(comp.names)
    x = _stat(comp.stats, xkpi, comp.names, *KPIS[xkpi].range)
    y = _stat(comp.stats, ykpi, comp.names, *KPIS[ykpi].range)
    xs, ys = x["mean"].to_numpy(float) * xscale, y["mean"].to_numpy(float) * yscale
    xerr, yerr = _err(x, xscale), _err(y, yscale)
    for i, name in enumerate(comp.names):
        if not (np.isfinite(xs[i]) and np.isfinite(ys[i])):
            continue
        ax.errorbar(xs[i], ys[i], xerr=xerr[:, i:i + 1], yerr=yerr[:, i:i + 1], fmt="o", ms=7, color=colors[name],
                    ecolor=colors[name], elinewidth=1.2, capsize=3, alpha=0.9, zorder=3,
                    mec="white", mew=0.8)
    return xs, ys, [scenario_label(nm, lang) for nm in comp.names], [colors[nm] for nm in comp.names]


@figure_function
def cost_effectiveness(comp, lang: str = "en") -> Figure:
    """Cost per resolved case (y) against resolution rate (x): one point per scenario, 95% CIs
    both ways, labelled."""
    fig = new_figure((9, 6.5))
    ax = fig.subplots()
    xs, ys, labels, colors = _scatter_ci(fig, ax, comp, "resolution_rate", "cost_per_resolved", 100.0, 1.0, lang)
    if len(xs) and np.isfinite(xs[0]) and np.isfinite(ys[0]):
        ax.axvline(xs[0], color=REFERENCE_COLOR, ls="--", lw=0.8, alpha=0.6, zorder=1)
        ax.axhline(ys[0], color=REFERENCE_COLOR, ls="--", lw=0.8, alpha=0.6, zorder=1)
    ax.margins(0.15)
    _percent(ax, "x")
    _thousands(ax, "y")
    ax.set_xlabel(t("fig.cost.xlabel", lang))
    ax.set_ylabel(t("fig.cost.ylabel", lang))
    ax.text(0.98, 0.02, t("fig.cost.better", lang), transform=ax.transAxes, ha="right", va="bottom",
            color="#1b7837", fontsize=10, fontweight=_bold(lang))
    ax.set_title(t("fig.cost.title", lang))
    _place_labels(fig, ax, xs, ys, labels, colors)
    return fig


@figure_function
def reported_vs_real(comp, lang: str = "en") -> Figure:
    """The closure rate an agency would report (y) against the real resolution rate (x), with
    the line y = x and 95% CIs, labelled."""
    fig = new_figure((8, 7.2))
    ax = fig.subplots()
    xs, ys, labels, colors = _scatter_ci(fig, ax, comp, "resolution_rate", "closure_rate_reported", 100.0, 100.0,
                                         lang)
    x = _stat(comp.stats, "resolution_rate", comp.names, *KPIS["resolution_rate"].range)
    y = _stat(comp.stats, "closure_rate_reported", comp.names, *KPIS["closure_rate_reported"].range)
    values = np.concatenate([v.to_numpy(float) * 100.0 for v in (x["mean"], x["ci_low"], x["ci_high"],
                                                                  y["mean"], y["ci_low"], y["ci_high"])])
    values = values[np.isfinite(values)]
    lo, hi = (values.min(), values.max()) if len(values) else (0.0, 100.0)
    pad = max((hi - lo) * 0.12, 1.0)
    lo, hi = max(lo - pad, 0.0), min(hi + pad, 100.0)
    ax.plot([lo, hi], [lo, hi], color="#777777", lw=1, ls="--", zorder=1)
    ax.fill_between([lo, hi], [lo, hi], [hi, hi], color="#f4a442", alpha=0.08, lw=0, zorder=0)
    ax.text(lo + 0.03 * (hi - lo), hi - 0.03 * (hi - lo), t("fig.reported.overstated", lang), ha="left", va="top",
            color="#b35806", fontsize=9)
    ax.text(hi - 0.03 * (hi - lo), hi - 0.06 * (hi - lo), t("fig.reported.diagonal", lang), ha="right",
            va="top", color="#555555", fontsize=9, rotation=45, rotation_mode="anchor")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    _percent(ax, "x")
    _percent(ax, "y")
    ax.set_xlabel(t("fig.reported.xlabel", lang))
    ax.set_ylabel(t("fig.reported.ylabel", lang))
    ax.set_title(t("fig.reported.title", lang))
    _place_labels(fig, ax, xs, ys, labels, colors)
    return fig


# ------------------------------------------------------------------------------------------------
# (e) the organisational network of one run
# ------------------------------------------------------------------------------------------------

#: y of each row: (level, kind) -> height; the rows read top-down city, district, street, community.
ROWS = {("city", "party"): 9.0, ("city", "centre"): 8.3, ("city", "department"): 8.3, ("city", "platform"): 9.0,
        ("district", "party"): 6.7, ("district", "centre"): 6.1, ("district", "department"): 5.5,
        ("street", "party"): 4.1, ("street", "street"): 3.5, ("street", "social_org"): 2.9,
        ("community", "community"): 1.2}
LEVEL_Y = {"city": 8.65, "district": 6.1, "street": 3.5, "community": 1.2}
MARKERS = {"party": "^", "centre": "s", "department": "D", "street": "H", "social_org": "p", "community": "o",
           "platform": "*"}


def network_layout(nodes: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """A hierarchical layout of a network snapshot's nodes (``metrics.NetworkSnapshot.nodes``): rows
    by level (and kind within a level); communities spread evenly in street order, every unit above
    centred over (or spread across) the communities it covers."""
    comm = nodes[nodes["kind"] == "community"].sort_values("community")
    cs = comm["street"].to_numpy()
    streets = nodes[nodes["kind"] == "street"].sort_values("street")
    sd = streets["district"].to_numpy()
    C, S = len(cs), len(sd)
    D = int(nodes.loc[nodes["district"] >= 0, "district"].max()) + 1 if (nodes["district"] >= 0).any() else 0
    order = np.argsort(cs, kind="stable")
    xc = np.empty(C)
    xc[order] = (np.arange(C) + 0.5) / max(C, 1)
    street_span = [(xc[cs == s].min(), xc[cs == s].max()) if (cs == s).any() else (0.5, 0.5) for s in range(S)]
    xs = np.array([(a + b) / 2 for a, b in street_span])
    dist_span = [(min(street_span[s][0] for s in np.flatnonzero(sd == d)),
                  max(street_span[s][1] for s in np.flatnonzero(sd == d))) if (sd == d).any() else (0.5, 0.5)
                 for d in range(D)]
    xd = np.array([(a + b) / 2 for a, b in dist_span])
    pos: dict[str, tuple[float, float]] = {}
    so_nodes: dict[int, list[str]] = {}
    dd_nodes: dict[int, list[str]] = {}
    city_depts: list[str] = []
    for r in nodes.itertuples(index=False):
        kind, level, node = r.kind, r.level, r.node
        y = ROWS.get((level, kind), LEVEL_Y.get(level, 0.0))
        if kind == "community":
            pos[node] = (xc[r.community], y)
        elif kind == "social_org":
            so_nodes.setdefault(r.street, []).append(node)
        elif level == "street":  # street office, street party committee
            pos[node] = (xs[r.street], y)
        elif kind == "department" and level == "district":
            dd_nodes.setdefault(r.district, []).append(node)
        elif level == "district":  # district centre, district party committee
            pos[node] = (xd[r.district], y)
        elif kind == "department":
            city_depts.append(node)
        elif kind == "platform":
            pos[node] = (1.03, y)
        else:  # city centre, city party committee, anything unknown
            pos[node] = (0.5, y)
    for s, members in so_nodes.items():
        a, b = street_span[s]
        width = max(b - a, 0.6 / max(C, 1))
        for k, node in enumerate(members):
            x = xs[s] + (k - (len(members) - 1) / 2) * width / max(len(members), 1)
            pos[node] = (x, ROWS[("street", "social_org")])
    for d, members in dd_nodes.items():
        a, b = dist_span[d]
        for j, node in enumerate(members):
            pos[node] = (a + (j + 0.5) * (b - a) / len(members), ROWS[("district", "department")])
    for j, node in enumerate(city_depts):
        x = (j + 0.5) / len(city_depts)
        pos[node] = (x if abs(x - 0.5) > 0.02 else x + 0.04, ROWS[("city", "department")])
    return pos


def levels_axis(ax, lang: str, xmax: float = 1.03, labelsize=None) -> None:
    """An axis of the organisational network: one row per level (city, district, street, community)."""
    ax.set_yticks(list(LEVEL_Y.values()), [level_label(lv, lang) for lv in LEVEL_Y])
    ax.set_xticks([])
    ax.set_xlim(-0.03, xmax)
    ax.set_ylim(0.5, 9.6)
    ax.grid(False)
    for spine in ("left", "bottom"):
        ax.spines[spine].set_visible(False)
    ax.tick_params(axis="y", length=0, labelsize=labelsize)


@figure_function
def org_network(snapshot, lang: str = "en", max_edges_platform: int = 0, max_edges_community: int = 1500) -> Figure:
    """The organisational network of one run (a ``metrics.NetworkSnapshot``), by level (city,
    district, street, community), each unit coloured by the open cases it holds that day (grey: no
    unit). The shared platform's links (one to nearly every unit) are left out when there are more
    than ``max_edges_platform``, the communities' links when there are more than
    ``max_edges_community`` (a city the size of Tianjin: the communities then read as a strip of
    colour)."""
    nodes, edges = snapshot.nodes, snapshot.edges
    pos = network_layout(nodes)
    n_comm = int((nodes["kind"] == "community").sum())
    fig = new_figure((13, 7.5))
    ax = fig.subplots()
    platform = (edges["source"] == "platform") | (edges["target"] == "platform")
    community = edges["source"].str.startswith("community:") | edges["target"].str.startswith("community:")
    skip_platform = platform & (int(platform.sum()) > max_edges_platform)
    skip_comm = ~platform & community & (int((~platform & community).sum()) > max_edges_community)
    drawn = edges[~skip_platform & ~skip_comm]
    skipped, skipped_comm = int(skip_platform.sum()), int(skip_comm.sum())
    ties = drawn[drawn["relation"] == "works_with"]  # working ties (MODEL §12.2): width by strength
    drawn = drawn[drawn["relation"] != "works_with"]
    segments = [(pos[u], pos[v]) for u, v in zip(drawn["source"], drawn["target"], strict=True)]
    alpha = float(np.clip(60.0 / max(len(segments), 1) ** 0.5, 0.08, 0.5))
    ax.add_collection(LineCollection(segments, colors="#8c8c8c", linewidths=0.5, alpha=alpha, zorder=1))
    ties = ties[ties["weight"] > 0.05]
    if len(ties):
        tie_segments = [(pos[u], pos[v]) for u, v in zip(ties["source"], ties["target"], strict=True)]
        ax.add_collection(LineCollection(tie_segments, colors="#2c7bb6", linewidths=0.3 + 2.5 * ties["weight"].to_numpy(),
                                         alpha=0.5, zorder=1))
    held = nodes.loc[nodes["unit"] >= 0, "queue"]
    vmax = max(float(held.max()) if len(held) else 1.0, 1.0)
    # a few units (city departments) can hold far more than the rest: a square-root scale keeps
    # the differences among communities visible
    norm = (matplotlib.colors.PowerNorm(0.5, 0.0, vmax) if vmax > 20 else matplotlib.colors.Normalize(0.0, vmax))
    cmap = matplotlib.colormaps["YlOrRd"]
    size = {"party": 70, "centre": 90, "department": 45, "street": 90, "social_org": 40,
            "community": float(np.clip(5000.0 / max(n_comm, 1), 6, 70)), "platform": 220}
    kinds = list(dict.fromkeys(nodes["kind"]))
    for kind in kinds:
        items = nodes[nodes["kind"] == kind]
        xy = np.array([pos[n] for n in items["node"]])
        with_unit = (items["unit"] >= 0).to_numpy()
        vals = items["queue"].to_numpy(dtype=float)
        marker, s = MARKERS.get(kind, "o"), size.get(kind, 40)
        edge, lw = "#555555", 0.5
        if len(items) > 400:  # thousands of units: outlines would hide the colours; a "barcode" of ticks
            marker, s, edge, lw = "|", 250, None, 0.8
        if (~with_unit).any():
            ax.scatter(xy[~with_unit, 0], xy[~with_unit, 1], s=s, marker=marker, c=NO_UNIT_COLOR,
                       edgecolors=edge, linewidths=lw, zorder=2)
        if with_unit.any():
            ax.scatter(xy[with_unit, 0], xy[with_unit, 1], s=s, marker=marker, c=vals[with_unit], cmap=cmap,
                       norm=norm, edgecolors=edge, linewidths=lw, zorder=3)
    cbar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.8, pad=0.01)
    cbar.set_label(t("fig.network.colorbar", lang))
    levels_axis(ax, lang, xmax=1.07, labelsize=11)
    shown = [k for k in MARKERS if k in kinds]
    handles = [Line2D([], [], ls="", marker=MARKERS[k], ms=8, mfc="#fdae61" if k not in ("party", "platform")
                      else NO_UNIT_COLOR, mec="#555555", label=kind_label(k, lang)) for k in shown]
    handles.append(Patch(fc=NO_UNIT_COLOR, ec="#555555", label=t("fig.network.nounit", lang)))
    if len(ties):
        handles.append(Line2D([], [], color="#2c7bb6", lw=2, label=t("fig.network.ties", lang)))
    if skipped:
        handles.append(Line2D([], [], ls="", label=t("fig.network.platform_edges", lang).format(n=skipped)))
    if skipped_comm:
        handles.append(Line2D([], [], ls="", label=t("fig.network.community_edges", lang).format(n=skipped_comm)))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5), fontsize=9)
    title = t("fig.network.title", lang).format(day=snapshot.day)
    sub = t("fig.network.subtitle", lang).format(scenario=scenario_label(snapshot.scenario, lang), seed=snapshot.seed)
    ax.set_title(sub, fontsize=10, fontweight="normal", loc="left")
    fig.suptitle(title)
    return fig
