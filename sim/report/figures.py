"""Figures of the comparison report: functions from tables (a ``Comparison``) to a matplotlib
``Figure``, each in English or Chinese.

Figures are built on the Agg canvas without pyplot (no global figure state, never shown).
Text gets its font while the figure is built, so a figure saved later still draws Chinese;
``save`` writes one to PNG with the same fonts. The report's figures are drawn for a projector
(``REPORT_FONT_SIZE``), in Okabe and Ito's colour-blind-safe colours, with line styles and markers
as well once there are more than six series; where the point is a difference from the reference,
they show the paired difference and its interval, not two levels with theirs.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
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
from matplotlib.ticker import FixedLocator, FuncFormatter

from ..registry import GROUPS, KPIS, REPORT_KPIS, REPORT_SERIES, families, family_label
from .i18n import font_families, kind_label, kpi_label, level_label, scenario_label, t

REFERENCE_COLOR = "#3a3a3a"
NO_UNIT_COLOR = "#c8c8c8"
#: The shading of the band within ± the minimum important difference.
MID_BAND = "#e4e4e4"
#: Okabe and Ito's colour-blind-safe palette (its black is the reference's dark grey), in the order
#: options take them: the strongest contrasts first, the yellow, faint on white, last.
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
#: Line styles of the options once there are more than ``MAX_PLAIN_SERIES`` series (the reference is dashed).
LINE_STYLES = ("-", "-.", ":")
MAX_PLAIN_SERIES = 6
#: Markers of the options (the reference's is ``REFERENCE_MARKER``).
MARKER_CYCLE = ("o", "s", "D", "^", "v", "X", "p")
REFERENCE_MARKER = "P"
#: Base font size of the report's figures, in points: a figure 11 inches wide is shown about 1,100
#: pixels wide, so 14 points are some 20 pixels, legible from the back of a room on a projector.
REPORT_FONT_SIZE = 14.0
#: Colour and marker of a difference by its verdict (``sim.experiments.compare.change``): colour-blind
#: safe, and told apart by the marker too.
VERDICT_STYLE = {"better": ("#0072B2", "o", True), "worse": ("#D55E00", "s", True), "same": ("#7a7a7a", "D", True),
                 "uncertain": ("#000000", "o", False), "unknown": ("#9a9a9a", "o", False)}


def _bold(lang: str) -> str:
    """Bold where the font has a bold face (the CJK font shipped by mplfonts has only regular)."""
    return "bold" if lang == "en" else "normal"


@contextmanager
def style(lang: str, size: float = 10.0):
    """rcParams of cogov's figures, with the fonts of ``lang`` and base font ``size`` in points (the
    report's figures use ``REPORT_FONT_SIZE``)."""
    with matplotlib.rc_context({
        "font.family": font_families(lang), "axes.unicode_minus": False, "font.size": size,
        "axes.titlesize": size + 1, "axes.titleweight": _bold(lang), "figure.titlesize": size + 3,
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
    """Build the figure inside the language's style at the report's font size, and draw it once there
    so that every text (tick labels too, which are made at draw time) has its font and size."""
    @wraps(fn)
    def wrapper(data, lang: str = "en", **kwargs) -> Figure:
        with style(lang, REPORT_FONT_SIZE):
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


@dataclass(frozen=True)
class SeriesStyle:
    """How one scenario is drawn in every figure."""

    color: str
    ls: str
    marker: str


def scenario_styles(names: list[str]) -> dict[str, SeriesStyle]:
    """One colour, line style and marker per scenario, the same in every figure: the reference (first)
    dark grey and dashed; the options Okabe and Ito's colours in turn, solid, and with more than
    ``MAX_PLAIN_SERIES`` series a line style and marker that cycle out of step with the colours, so
    no two options look alike."""
    styles = {names[0]: SeriesStyle(REFERENCE_COLOR, "--", REFERENCE_MARKER)} if names else {}
    many = len(names) > MAX_PLAIN_SERIES
    for i, name in enumerate(names[1:]):
        styles[name] = SeriesStyle(OKABE_ITO[i % len(OKABE_ITO)], LINE_STYLES[i % len(LINE_STYLES)] if many else "-",
                                   MARKER_CYCLE[(i + i // len(OKABE_ITO)) % len(MARKER_CYCLE)])
    return styles


def text_color(color: str) -> str:
    """``color`` for text on white: a light colour (Okabe and Ito's yellow) darkened until it reads."""
    rgb = np.array(matplotlib.colors.to_rgb(color))
    luminance = float(rgb @ [0.2126, 0.7152, 0.0722])
    return matplotlib.colors.to_hex(rgb * 0.55 if luminance > 0.6 else rgb)


def _percent(ax, axis: str = "y") -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _thousands(ax, axis: str = "y", signed: bool = False) -> None:
    fmt = FuncFormatter(lambda v, _: f"{v:{'+' if signed and round(v) else ''},.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


# ------------------------------------------------------------------------------------------------
# (a) the paired differences of every option, in minimum important differences
# ------------------------------------------------------------------------------------------------

def _forest_rows(kpis: list[str], lang: str) -> list[tuple[str, str | None, bool]]:
    """(label, KPI, first row of its family) of the forest's rows, top down: families in order, the KPIs
    with a direction of a family with several under a row of their own that names it (KPI None)."""
    rows = []
    for family, members in families(kpis).items():
        directed = [k for k in members if KPIS[k].better]
        if family in GROUPS and len(directed) > 1:
            rows.append((t("fig.diff.family", lang).format(family=family_label(family, lang)), None, True))
            rows += [(kpi_label(k, lang), k, False) for k in directed]
        else:
            rows += [(kpi_label(k, lang), k, i == 0) for i, k in enumerate(directed)]
    return rows


def _in_mids(d: pd.DataFrame) -> pd.DataFrame:
    """Differences (``comp.diffs`` rows) in minimum important differences, turned so that positive is
    better: x, lo, hi (NaN where the MID is not positive)."""
    mid = d["mid"].to_numpy(float)
    scale = np.array([KPIS[k].better for k in d["kpi"]], dtype=float) / np.where(mid > 0, mid, np.nan)
    a, b = d["ci_low"].to_numpy(float) * scale, d["ci_high"].to_numpy(float) * scale
    return pd.DataFrame({"x": d["diff"].to_numpy(float) * scale, "lo": np.fmin(a, b), "hi": np.fmax(a, b),
                         "verdict": d["verdict"].to_numpy()}, index=d["kpi"].to_numpy())


def _mid_axis(ax, limit: float) -> None:
    """An x axis in minimum important differences from -``limit`` to ``limit``: linear within ±1 MID,
    logarithmic beyond, ticks at 0, ±1, ±10..."""
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.8)
    ax.set_xlim(-limit, limit)
    ticks = [v for v in (-1000, -100, -10, -1, 0, 1, 10, 100, 1000) if abs(v) <= limit]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(FixedLocator([]))


@figure_function
def differences(comp, lang: str = "en") -> Figure:
    """Forest plot of each option's paired differences from the reference with their 95% CIs, one
    panel per option, one row per KPI with a direction (families together, each under its name), in
    minimum important differences and turned so that right is better; the band of ±1 MID is shaded;
    colour and marker by verdict. Linear within ±1 MID, logarithmic beyond."""
    options = comp.names[1:]
    rows = _forest_rows([k for k in REPORT_KPIS if k in set(comp.diffs["kpi"])], lang)
    ncols = 1 if len(options) <= 1 else 2 if len(options) <= 4 else 3
    nrows = max(int(np.ceil(len(options) / ncols)), 1)
    fig = new_figure((4.5 + 4.3 * ncols, nrows * (0.36 * len(rows) + 1.3) + 1.6))
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    y = np.arange(len(rows))[::-1]
    data = {nm: _in_mids(comp.diffs[comp.diffs["scenario"] == nm]) for nm in options}
    extent = [abs(v) for d in data.values() for v in d[["x", "lo", "hi"]].to_numpy().ravel() if np.isfinite(v)]
    limit = max(3.0, 1.6 * max(extent, default=0.0))  # room beyond the widest interval on the log part
    seen = set()
    for ax, name in zip(axes, options, strict=False):
        ax.axvspan(-1, 1, color=MID_BAND, lw=0, zorder=0)
        ax.axvline(0, color="#555555", lw=0.8, zorder=1)
        d = data[name]
        for yi, (_, kpi, first) in zip(y, rows, strict=True):
            if first and yi < len(rows) - 1:
                ax.axhline(yi + 0.5, color="#cccccc", lw=0.8, zorder=1)
            if kpi is None:
                continue
            if kpi not in d.index or not np.isfinite(d.at[kpi, "x"]):
                ax.text(0, yi, t("fig.diff.na", lang), ha="center", va="center", color="#777777", fontsize="small")
                continue
            r = d.loc[kpi]
            color, marker, filled = VERDICT_STYLE.get(r["verdict"], VERDICT_STYLE["unknown"])
            seen.add(r["verdict"])
            if np.isfinite(r["lo"]) and np.isfinite(r["hi"]):
                ax.plot([r["lo"], r["hi"]], [yi, yi], color=color, lw=2.6, solid_capstyle="butt", zorder=2)
            ax.plot([r["x"]], [yi], marker=marker, ms=9, color=color, mfc=color if filled else "white", mew=1.8,
                    ls="", zorder=3)
        ax.set_title(scenario_label(name, lang), loc="left")
        ax.grid(axis="y", visible=False)
    for ax in axes[len(options):]:
        ax.set_visible(False)
    ax0 = axes[0]
    _mid_axis(ax0, limit)
    ax0.set_ylim(-0.7, len(rows) - 0.3)
    ax0.set_yticks(y, [label for label, _, _ in rows])
    for ax in axes[:len(options)]:
        ax.tick_params(axis="y", length=0)
    for ax in axes[:len(options):ncols]:  # the labelled panels, first of each row: each has ticks of its own
        for label, (_, kpi, _) in zip(ax.get_yticklabels(), rows, strict=True):
            if kpi is None:
                label.set_fontweight(_bold(lang))
    for ax in axes[max(len(options) - ncols, 0):len(options)]:  # the bottom panel of each column
        ax.set_xlabel(t("fig.diff.xlabel", lang))
    handles = [Line2D([], [], color=c, marker=m, mfc=c if f else "white", mew=1.8, ms=9, lw=2.6,
                      label=t(f"verdict.{v}", lang)) for v, (c, m, f) in VERDICT_STYLE.items() if v in seen]
    handles.append(Patch(fc=MID_BAND, label=t("fig.diff.band", lang)))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(t("fig.diff.title", lang).format(ref=scenario_label(comp.names[0], lang)))
    return fig


@figure_function
def district_differences(comp, lang: str = "en") -> Figure:
    """Each option's paired difference from the reference within each district (``comp.districts``) and
    city-wide (the top row), one panel per KPI, in minimum important differences (the district's, at its
    own level) turned so that right is better, with 95% CIs; options by colour and marker, a hollow
    marker where the district's verdict differs from the city's. Linear within ±1 MID, logarithmic beyond."""
    d = comp.districts
    kpis = list(dict.fromkeys(d["kpi"]))
    options = comp.names[1:]
    places = d.drop_duplicates("district").sort_values("district")
    zh = lang == "zh"
    labels = [t("fig.dist.city", lang)] + [
        f"{r['name_zh']}（{r['type_zh']}）" if zh else f"{r['name'].replace('_', ' ')} ({r['type']})"
        for _, r in places.iterrows()]
    styles = scenario_styles(comp.names)
    step = 0.8 / max(len(options), 1)
    offsets = {nm: 0.4 - step * (i + 0.5) for i, nm in enumerate(options)}
    fig = new_figure((3.0 + 4.2 * len(kpis), 1.8 + len(labels) * (0.35 + 0.22 * len(options))))
    axes = fig.subplots(1, len(kpis), sharex=True, sharey=True, squeeze=False).ravel()
    extent = []
    for ax, kpi in zip(axes, kpis, strict=True):
        ax.axvspan(-1, 1, color=MID_BAND, lw=0, zorder=0)
        ax.axvline(0, color="#555555", lw=0.8, zorder=1)
        for name in options:
            city = comp.diffs[(comp.diffs["scenario"] == name) & (comp.diffs["kpi"] == kpi)]
            mine = d[(d["scenario"] == name) & (d["kpi"] == kpi)].sort_values("district")
            x = pd.concat([_in_mids(city) if len(city) else pd.DataFrame({"x": [np.nan], "lo": np.nan, "hi": np.nan}),
                           _in_mids(mine)])
            differs = [False] + mine["differs"].tolist()
            st = styles[name]
            for yi, (r, hollow) in enumerate(zip(x.itertuples(), differs, strict=True)):
                y = len(labels) - 1 - yi + offsets[name]
                if np.isfinite(r.lo) and np.isfinite(r.hi):
                    ax.plot([r.lo, r.hi], [y, y], color=st.color, lw=2.0, solid_capstyle="butt", zorder=2)
                    extent += [abs(r.lo), abs(r.hi)]
                if np.isfinite(r.x):
                    ax.plot([r.x], [y], marker=st.marker, ms=8, color=st.color, mfc="white" if hollow else st.color,
                            mew=1.6, ls="", zorder=3)
        ax.set_title(kpi_label(kpi, lang), loc="left")
        ax.grid(axis="y", visible=False)
        ax.tick_params(axis="y", length=0)
        ax.set_xlabel(t("fig.diff.xlabel", lang))
    for yi in range(len(labels) - 1):
        for ax in axes:
            ax.axhline(yi + 0.5, color="#cccccc", lw=0.8, zorder=1)
    limit = max(3.0, 1.3 * max(extent, default=0.0))
    ax0 = axes[0]
    _mid_axis(ax0, limit)
    ax0.set_ylim(-0.55, len(labels) - 0.45)
    ax0.set_yticks(np.arange(len(labels))[::-1], labels)
    handles = [Line2D([], [], color=styles[nm].color, marker=styles[nm].marker, ms=8, lw=2.0,
                      label=scenario_label(nm, lang)) for nm in options]
    handles += [Line2D([], [], color="#555555", marker="o", mfc="white", mew=1.6, ms=8, ls="",
                       label=t("fig.dist.differs", lang)), Patch(fc=MID_BAND, label=t("fig.diff.band", lang))]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4))
    fig.suptitle(t("fig.dist.title", lang).format(ref=scenario_label(comp.names[0], lang)))
    return fig


# ------------------------------------------------------------------------------------------------
# (b) time series with bands
# ------------------------------------------------------------------------------------------------

@figure_function
def timeseries_bands(comp, lang: str = "en") -> Figure:
    """Backlog (open cases), 30-day resolution rate and mean trust over time: one line per
    scenario (mean of replicates) with its 95% band."""
    bands = comp.bands
    columns = [c for c in REPORT_SERIES if c in bands["column"].unique()]
    styles = scenario_styles(comp.names)
    fig = new_figure((12, 3.4 * max(len(columns), 1) + 1.4))
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
            s = styles[name]
            ax.fill_between(d["day"], low, high, color=s.color, alpha=0.12, lw=0)
            ax.plot(d["day"], d["mean"] * scale, color=s.color, lw=2.6 if ref else 2.0, ls=s.ls,
                    label=scenario_label(name, lang), zorder=3 if ref else 2)
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
# (c) where cases ended
# ------------------------------------------------------------------------------------------------

LADDER = (  # (label key, colour): resolved in blues (darker: lower level), then orange, vermillion, purple, grey
    ("ladder.grassroots", "#0072B2"), ("ladder.street", "#56B4E9"), ("ladder.above_street", "#B9DFF5"),
    ("superficial_end", "#E69F00"), ("erupted", "#D55E00"), ("withdrawn", "#CC79A7"), ("open_end", "#d9d9d9"),
)
#: Segments of the ladder whose colour is dark enough for white numbers.
LADDER_DARK = ("ladder.grassroots", "erupted")


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
    replicates; a segment wide enough for its number shows it."""
    shares = ladder_shares(comp.summaries, comp.names) * 100.0
    n = len(comp.names)
    fig = new_figure((12, 0.7 * n + 3.2))
    ax = fig.subplots()
    y = np.arange(n)[::-1]
    left = np.zeros(n)
    for key, color in LADDER:
        width = shares[key].fillna(0.0).to_numpy(float)
        ax.barh(y, width, left=left, color=color, height=0.7, label=t(key, lang), edgecolor="white", lw=0.5)
        for yi, li, wi in zip(y, left, width, strict=True):
            if wi >= 5.0:
                ax.text(li + wi / 2, yi, f"{wi:.0f}", ha="center", va="center", fontsize="small",
                        color="white" if key in LADDER_DARK else "#222222")
        left += width
    ax.set_yticks(y, [scenario_label(nm, lang) for nm in comp.names])
    ax.set_xlim(0, 100)
    ax.set_xlabel(t("fig.ladder.xlabel", lang))
    ax.grid(axis="y", visible=False)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=4)
    fig.suptitle(t("fig.ladder.title", lang))
    return fig


# ------------------------------------------------------------------------------------------------
# scatter plots with confidence intervals both ways
# ------------------------------------------------------------------------------------------------

def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _place_labels(fig: Figure, ax, xs, ys, labels: list[str], colors: list[str]) -> None:
    """Label each point, trying positions around it until the label overlaps no other label, no
    point and no error bar and stays inside the axes (else the position with the least overlap)."""
    fig.canvas.draw()  # settle the layout first: labels are placed in display coordinates
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    r = 8.0
    from matplotlib.transforms import Bbox
    obstacles = [Bbox([[px - r, py - r], [px + r, py + r]]) for px, py in pts if np.isfinite(px) and np.isfinite(py)]
    obstacles += [text.get_window_extent(renderer) for text in ax.texts]  # notes already on the axes
    for bars in ax.collections:  # error bars: a thin box along each
        if isinstance(bars, LineCollection):
            for seg in bars.get_segments():
                (x0, y0), (x1, y1) = ax.transData.transform(seg[[0, -1]])
                obstacles.append(Bbox([[min(x0, x1) - 3, min(y0, y1) - 3], [max(x0, x1) + 3, max(y0, y1) + 3]]))
    inside = ax.get_window_extent(renderer)
    candidates = [((8, 6), "left", "bottom"), ((8, -6), "left", "top"), ((-8, 6), "right", "bottom"),
                  ((-8, -6), "right", "top"), ((0, 10), "center", "bottom"), ((0, -10), "center", "top"),
                  ((12, 0), "left", "center"), ((-12, 0), "right", "center"), ((16, 18), "left", "bottom"),
                  ((-16, 18), "right", "bottom"), ((16, -18), "left", "top"), ((-16, -18), "right", "top"),
                  ((0, 28), "center", "bottom"), ((0, -28), "center", "top")]
    order = np.argsort(ys)[::-1]  # from the top down
    for i in order:
        if not (np.isfinite(xs[i]) and np.isfinite(ys[i])):
            continue
        best, best_cost = None, np.inf
        for offset, ha, va in candidates:
            ann = ax.annotate(labels[i], (xs[i], ys[i]), xytext=offset, textcoords="offset points", ha=ha, va=va,
                              color=text_color(colors[i]), annotation_clip=False)
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


def _points(ax, comp, names: list[str], xs, ys, xerr, yerr, lang: str):
    """One point per scenario of ``names`` (its colour and marker) with its error bars; the labels'
    texts and colours, for ``_place_labels``."""
    styles = scenario_styles(comp.names)
    for i, name in enumerate(names):
        if not (np.isfinite(xs[i]) and np.isfinite(ys[i])):
            continue
        s = styles[name]
        ax.errorbar(xs[i], ys[i], xerr=None if xerr is None else xerr[:, i:i + 1],
                    yerr=None if yerr is None else yerr[:, i:i + 1], fmt=s.marker,
                    ms=12 if name == comp.names[0] else 10, color=s.color, ecolor=s.color, elinewidth=1.8, capsize=4,
                    zorder=3, mec="white", mew=0.8)
    return [scenario_label(nm, lang) for nm in names], [styles[nm].color for nm in names]


def _bars(center: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error bar lengths below and above ``center`` (none where an end is undefined)."""
    return np.vstack([np.nan_to_num(center - low), np.nan_to_num(high - center)])


def _option_diffs(comp, kpi: str) -> pd.DataFrame:
    """``comp.diffs`` of ``kpi`` for the options (every scenario but the first), in their order."""
    d = comp.diffs[comp.diffs["kpi"] == kpi].set_index("scenario")
    return d.reindex(comp.names[1:])


@figure_function
def cost_effectiveness(comp, lang: str = "en") -> Figure:
    """Each option's paired difference from the reference in cost per resolved case (y) against its
    difference in resolution rate (x), with paired 95% CIs both ways; the reference at the origin,
    the bands of ± the minimum important difference shaded."""
    fig = new_figure((10, 7.5))
    ax = fig.subplots()
    x, y = _option_diffs(comp, "resolution_rate"), _option_diffs(comp, "cost_per_resolved")
    xs, ys = x["diff"].to_numpy(float) * 100.0, y["diff"].to_numpy(float)
    xmid, ymid = float(x["mid"].max()) * 100.0, float(y["mid"].max())
    if np.isfinite(xmid):
        ax.axvspan(-xmid, xmid, color=MID_BAND, lw=0, zorder=0)
    if np.isfinite(ymid):
        ax.axhspan(-ymid, ymid, color=MID_BAND, lw=0, zorder=0)
    ax.axvline(0, color=REFERENCE_COLOR, lw=0.8, zorder=1)
    ax.axhline(0, color=REFERENCE_COLOR, lw=0.8, zorder=1)
    ax.plot([0], [0], marker=REFERENCE_MARKER, ms=11, color=REFERENCE_COLOR, ls="", zorder=3)
    labels, colors = _points(ax, comp, comp.names[1:], xs, ys,
                             _bars(xs, x["ci_low"].to_numpy(float) * 100.0, x["ci_high"].to_numpy(float) * 100.0),
                             _bars(ys, y["ci_low"].to_numpy(float), y["ci_high"].to_numpy(float)), lang)
    ax.margins(0.15)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+.0f}" if round(v) else "0"))
    _thousands(ax, "y", signed=True)
    ax.set_xlabel(t("fig.cost.xlabel", lang))
    ax.set_ylabel(t("fig.cost.ylabel", lang))
    ax.text(0.98, 0.02, t("fig.cost.better", lang), transform=ax.transAxes, ha="right", va="bottom",
            color=OKABE_ITO[0], fontweight=_bold(lang))
    ax.text(0.02, 0.98, t("fig.cost.band", lang), transform=ax.transAxes, ha="left", va="top", color="#555555",
            fontsize="small")
    ax.set_title(t("fig.cost.title", lang).format(ref=scenario_label(comp.names[0], lang)))
    _place_labels(fig, ax, np.concatenate([[0.0], xs]), np.concatenate([[0.0], ys]),
                  [scenario_label(comp.names[0], lang), *labels], [REFERENCE_COLOR, *colors])
    return fig


def _means(stats: pd.DataFrame, kpi: str, names: list[str]) -> np.ndarray:
    return stats[stats["kpi"] == kpi].set_index("scenario")["mean"].reindex(names).to_numpy(float)


@figure_function
def reported_vs_real(comp, lang: str = "en") -> Figure:
    """The closure rate an agency would report (y) against the real resolution rate (x), one point
    per scenario, with the line y = x; the vertical bar is the 95% CI of the gap between them,
    computed run by run (``comp.gap_stats``), placed on the point."""
    fig = new_figure((8.5, 8))
    ax = fig.subplots()
    xs = _means(comp.stats, "resolution_rate", comp.names) * 100.0
    ys = _means(comp.stats, "closure_rate_reported", comp.names) * 100.0
    yerr = None
    if not comp.gap_stats.empty:
        gap = comp.gap_stats.set_index("scenario").reindex(comp.names)
        mean = gap["mean"].to_numpy(float) * 100.0
        yerr = _bars(mean, np.maximum(gap["ci_low"].to_numpy(float), 0.0) * 100.0,
                     gap["ci_high"].to_numpy(float) * 100.0)
    labels, colors = _points(ax, comp, comp.names, xs, ys, None, yerr, lang)
    values = np.concatenate([xs, ys, ys - (0 if yerr is None else yerr[0]), ys + (0 if yerr is None else yerr[1])])
    values = values[np.isfinite(values)]
    lo, hi = (values.min(), values.max()) if len(values) else (0.0, 100.0)
    pad = max((hi - lo) * 0.12, 1.0)
    lo, hi = max(lo - pad, 0.0), min(hi + pad, 100.0)
    ax.plot([lo, hi], [lo, hi], color="#777777", lw=1, ls="--", zorder=1)
    ax.fill_between([lo, hi], [lo, hi], [hi, hi], color=OKABE_ITO[4], alpha=0.08, lw=0, zorder=0)
    ax.text(lo + 0.03 * (hi - lo), hi - 0.03 * (hi - lo), t("fig.reported.overstated", lang), ha="left", va="top",
            color="#8a5a00", fontsize="small")
    ax.text(hi - 0.03 * (hi - lo), hi - 0.06 * (hi - lo), t("fig.reported.diagonal", lang), ha="right",
            va="top", color="#555555", fontsize="small", rotation=45, rotation_mode="anchor")
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


def levels_axis(ax, lang: str, xmax: float = 1.03) -> None:
    """An axis of the organisational network: one row per level (city, district, street, community)."""
    ax.set_yticks(list(LEVEL_Y.values()), [level_label(lv, lang) for lv in LEVEL_Y])
    ax.set_xticks([])
    ax.set_xlim(-0.03, xmax)
    ax.set_ylim(0.5, 9.6)
    ax.grid(False)
    for spine in ("left", "bottom"):
        ax.spines[spine].set_visible(False)
    ax.tick_params(axis="y", length=0)


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
    fig = new_figure((14, 8.5))
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
    levels_axis(ax, lang, xmax=1.07)
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
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4))
    title = t("fig.network.title", lang).format(day=snapshot.day)
    sub = t("fig.network.subtitle", lang).format(scenario=scenario_label(snapshot.scenario, lang), seed=snapshot.seed)
    ax.set_title(sub, fontsize="medium", fontweight="normal", loc="left")
    fig.suptitle(title)
    return fig
