"""The teaching app: ``cogov app`` opens a Mesa SolaraViz page in the browser (zh/en).

A class watches a small city (the ``classroom`` preset: 12 communities, 3,000 residents)
resolve, escalate or lose its disputes, day by day, and moves the main reform levers while it
runs. Side by side, two runs A and B share the seed, so they have the same city, the same
residents and the same stream of emerging disputes (the model's named random streams: common
random numbers): any difference between A and B comes from the levers, not from noise.

Pieces, top down:

- ``Lesson``: what the teacher chose (scenario, seed, side by side, lever values moved);
- ``ClassroomModel``: a small Mesa ``Model`` holding one ``CoGovernanceModel`` (A) or two (A and
  B, same seed) that step together; Mesa's SolaraViz steps, plays and resets it;
- the views, matplotlib figures drawn once and recoloured each frame (no pyplot): the
  organisational network coloured by backlog or effort, one community's residents coloured by
  grievance and trust (mobilised ones marked), charts of backlog, resolution rate, share
  resolved at grassroots and trust, and the escalation ladder;
- ``Page``: SolaraViz (Mesa's play / step / reset and speed controls) with the lesson's controls
  in the sidebar and the views below; the ``cogov app`` command (``sim.cli.app``) serves it.

Levers moved while a run goes take effect from the next simulated day, as an entry of the
scenario's ``schedule`` (the same mechanism as ``[[schedule]]`` in a scenario file); Reset
restarts at day 0 with the levers as set. The evaluation slider (0 = process traces, 1 =
outcomes) moves weight along the line through the ``baseline`` and ``incentives`` scenarios:
``w_process = 0.7 (1 - e)``, ``w_closures = 0.32 - 0.14 e``, ``w_satisfaction = 0.7 e``
(baseline is e = 1/7, incentives e = 6/7); see ``evaluation_weights``.
"""

from __future__ import annotations

import copy
import io
import threading
import warnings
from dataclasses import dataclass, field

import matplotlib
import mesa
import numpy as np
import pandas as pd
import solara
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

with warnings.catch_warnings():
    # Mesa 3.3's ComponentsView trips solara's rules-of-hooks check when it is imported (harmless:
    # this app gives it no components); keep that warning out of the teacher's terminal
    warnings.filterwarnings("ignore", message=r".*ComponentsView: `use_state` found despite early return")
    from mesa.visualization import SolaraViz
    from mesa.visualization.utils import force_update, update_counter

from .metrics import network_snapshot
from .model import CoGovernanceModel
from .params import builtin_names, load_scenario
from .registry import LEVERS as LEVER_REGISTRY
from .report.figures import LADDER, MARKERS, NO_UNIT_COLOR, ladder_shares, levels_axis, network_layout, style
from .report.i18n import kind_label, kpi_label, level_label, lever_label, scenario_label, t

PRESET = "classroom"
HORIZON = 1825          # days a run may go on (five years); Play stops there
EXCLUDED = ("tianjin",)  # full scale: not for a classroom
DPI = 80
MAX_RESIDENTS = 400     # residents drawn from the chosen community
RUNS = ("A", "B")
RUN_COLORS = {"A": "#3a3a3a", "B": "#d95f02"}

#: The sliders the app shows, in order: levers of ``registry.LEVERS``, and "evaluation", the
#: regime slider that moves three of them (see evaluation_weights).
SLIDERS = ("authority_devolution", "resources_follow", "whistle_power", "evaluation", "info_sharing",
           "social_org_funding", "party_attention")

def scenario_names() -> list[str]:
    """The built-in scenarios a class can pick (all but the full-scale ones)."""
    return [n for n in builtin_names() if n not in EXCLUDED]


# ------------------------------------------------------------------------------------------------
# the evaluation regime slider
# ------------------------------------------------------------------------------------------------

def evaluation_weights(e: float) -> dict[str, float]:
    """Evaluation weights at position ``e`` of the regime slider (0 = process traces, 1 = outcomes).

    The line through ``baseline`` (0.6, 0.3, 0.1) and ``incentives`` (0.1, 0.2, 0.6), extended
    until one weight reaches zero: baseline sits at e = 1/7, incentives at e = 6/7.
    """
    e = float(np.clip(e, 0.0, 1.0))
    return {"w_process": 0.7 * (1.0 - e), "w_closures": 0.32 - 0.14 * e, "w_satisfaction": 0.7 * e}


def evaluation_position(levers) -> float:
    """Where a lever set sits on the regime slider: satisfaction's share of process + satisfaction."""
    p, s = float(levers.w_process), float(levers.w_satisfaction)
    return s / (p + s) if p + s > 0 else 0.5


def lever_value(levers, name: str) -> float:
    """The slider value of ``name`` for a ``Levers`` set (``evaluation``: the regime position)."""
    return evaluation_position(levers) if name == "evaluation" else float(getattr(levers, name))


def slider_range(name: str) -> tuple[float, float]:
    """The range of a slider: the lever's (``registry.LEVERS``); the evaluation slider's is 0-1."""
    lever = LEVER_REGISTRY.get(name)
    return (lever.low, lever.high) if lever is not None else (0.0, 1.0)


def lever_settings(name: str, value: float) -> dict[str, float]:
    """The scenario levers that a slider value sets."""
    return evaluation_weights(value) if name == "evaluation" else {name: float(value)}


# ------------------------------------------------------------------------------------------------
# the model the app steps
# ------------------------------------------------------------------------------------------------

@dataclass
class Lesson:
    """What the teacher chose. ``levers`` holds, per run, the slider values moved away from the
    scenario's (lever name or ``evaluation`` -> value)."""

    scenario: str = "baseline"
    seed: int = 1
    side_by_side: bool = False
    scenario_b: str | None = None       # B's scenario (default: A's)
    levers: dict[str, dict[str, float]] = field(default_factory=lambda: {"A": {}, "B": {}})

    def scenario_of(self, run: str) -> str:
        return self.scenario_b or self.scenario if run == "B" else self.scenario

    def copy(self) -> "Lesson":
        return copy.deepcopy(self)


class ClassroomModel(mesa.Model):
    """One ``CoGovernanceModel`` at the classroom preset (run A), or two on the same seed (A and B)
    that step together. Mesa's SolaraViz steps, plays and resets this model.

    Args:
        lesson: the scenario(s), seed, side-by-side switch and moved levers (default: baseline, seed 1).
        seed: replaces the lesson's seed (Mesa's seed slider passes it on Reset).

    Example:
        >>> lesson = Lesson("baseline", seed=2, side_by_side=True, levers={"A": {}, "B": {"whistle_power": 0.8}})
        >>> m = ClassroomModel(lesson)
        >>> m.step(); m.day
        1
    """

    def __init__(self, lesson: Lesson | None = None, seed: int | None = None):
        lesson = Lesson() if lesson is None else lesson.copy()
        if seed is not None:
            lesson.seed = int(seed)
        super().__init__(rng=lesson.seed)
        self.lesson = lesson
        self.lock = threading.RLock()   # a step and a snapshot never interleave (Mesa may draw in a thread)
        runs = RUNS if lesson.side_by_side else RUNS[:1]
        self.runs: dict[str, CoGovernanceModel] = {}
        for run in runs:
            sc = load_scenario(lesson.scenario_of(run), seed=lesson.seed, preset=PRESET, days=HORIZON)
            moved = {}
            for name, value in lesson.levers.get(run, {}).items():
                moved.update(lever_settings(name, value))
            if moved:
                data = sc.model_dump()
                data["levers"].update(moved)
                sc = load_scenario(data)
            self.runs[run] = CoGovernanceModel(sc)
        self._snapshots: dict[str, tuple[int, dict]] = {}

    @property
    def day(self) -> int:
        """Days simulated so far."""
        return self.runs["A"].reported_day

    def step(self) -> None:
        """One day of every run."""
        with self.lock:
            for m in self.runs.values():
                m.step()
            self.running = self.day < HORIZON

    def levers(self, run: str):
        """The levers in force in ``run`` on its next day (the scenario's, its schedule, moved ones)."""
        m = self.runs[run]
        return m.p.levers_on(m.reported_day)

    def slider_value(self, run: str, name: str) -> float:
        return lever_value(self.levers(run), name)

    def slider_values(self) -> tuple:
        """The slider values in force, run by run (a change shows on the sliders)."""
        return tuple(round(self.slider_value(run, name), 4) for run in self.runs for name in SLIDERS)

    def set_lever(self, run: str, name: str, value: float) -> None:
        """Move a lever of ``run`` from its next day on (a schedule entry, as in a scenario file)."""
        with self.lock:
            m = self.runs[run]
            entry = {"day": m.reported_day, "levers": lever_settings(name, value)}
            m.p.schedule = [*m.p.schedule, entry]   # validated by the scenario schema
            self.lesson.levers.setdefault(run, {})[name] = float(value)

    def lever_differences(self) -> list[tuple[str, float, float]]:
        """Slider levers where B's value differs from A's: (name, A, B)."""
        if "B" not in self.runs:
            return []
        out = []
        for name in SLIDERS:
            a, b = self.slider_value("A", name), self.slider_value("B", name)
            if abs(a - b) > 1e-9:
                out.append((name, a, b))
        return out

    def snapshot(self, run: str) -> dict:
        """What the views show of ``run`` today: KPIs, daily series and the case outcomes (cached per day)."""
        with self.lock:
            m = self.runs[run]
            cached = self._snapshots.get(run)
            if cached is not None and cached[0] == m.reported_day:
                return cached[1]
            summary = m.summary()
            ts = m.timeseries()
            cases = m.cases()
            days = max(m.reported_day, 1)
            res = cases[cases["outcome"] == "resolved"]
            closed = res["closed"].to_numpy(int)
            grass = (res["outcome_level"] == "grassroots").to_numpy()
            n_res = np.cumsum(np.bincount(closed, minlength=days)[:days])
            n_grass = np.cumsum(np.bincount(closed[grass], minlength=days)[:days])
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(n_res > 0, n_grass / np.maximum(n_res, 1), np.nan)
            snap = {
                "summary": summary,
                "day": ts["day"].to_numpy(float) + 1 if len(ts) else np.zeros(0),  # days completed
                "open": ts["open"].to_numpy(float) if len(ts) else np.zeros(0),
                "rate": ts["resolution_rate_30d"].to_numpy(float) * 100 if len(ts) else np.zeros(0),
                "trust": ts["trust_mean"].to_numpy(float) if len(ts) else np.zeros(0),
                "mobilised": int(m.population.mobilised.sum()),
                "grassroots": share[: len(ts)] * 100 if len(ts) else np.zeros(0),
            }
            self._snapshots[run] = (m.reported_day, snap)
            return snap


# ------------------------------------------------------------------------------------------------
# drawing: each view is a matplotlib figure drawn in full once; a frame redraws only the artists
# that change (colours, lines, bars) over the cached rest, and encodes the pixels as PNG
# ------------------------------------------------------------------------------------------------

_DRAW = threading.Lock()   # rcParams (fonts) are global: one figure is drawn at a time


def _nice_ceiling(x: float, floor: float = 5.0) -> float:
    """The smallest of 1, 2, 5 x 10^k that is at least ``x`` (and at least ``floor``)."""
    x = max(float(x), floor)
    k = 10.0 ** np.floor(np.log10(x))
    return float(next(m * k for m in (1.0, 2.0, 5.0, 10.0) if m * k >= x))


def _run_title(model: ClassroomModel, run: str, lang: str) -> str:
    name = scenario_label(model.lesson.scenario_of(run), lang)
    return f"{run}: {name}" if len(model.runs) > 1 else name


class View:
    """A figure whose static parts (axes, labels, edges, colour bars) are drawn once; ``frame``
    redraws only the artists registered with ``animate`` over a copy of the rest."""

    def __init__(self, lang: str, width: float, height: float):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        self.lang = lang
        self.fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(self.fig)
        self.dynamic: list = []
        self._background = None

    def animate(self, artist):
        """Register ``artist`` as redrawn every frame (it is left out of the full draws)."""
        artist.set_animated(True)
        self.dynamic.append(artist)
        return artist

    def invalidate(self) -> None:
        """The static parts changed (an axis range, a colour scale): the next frame draws them again."""
        self._background = None

    def update(self, model: ClassroomModel) -> None:
        raise NotImplementedError

    def frame(self, model: ClassroomModel) -> bytes:
        """The view of the model's current day, as a JPEG image."""
        self.update(model)
        canvas = self.fig.canvas
        if self._background is None:
            self.fig.set_layout_engine("constrained")   # lay out again only when the static parts change
            canvas.draw()
            self.fig.set_layout_engine("none")
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        else:
            canvas.restore_region(self._background)
        for artist in self.dynamic:
            if artist.get_visible():
                self.fig.draw_artist(artist)
        from PIL import Image
        width, height = canvas.get_width_height(physical=True)
        image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buf = io.BytesIO()   # JPEG without chroma subsampling: crisp enough, and ~5x faster to encode than PNG
        image.convert("RGB").save(buf, format="jpeg", quality=92, subsampling=0)
        return buf.getvalue()


class NetworkView(View):
    """The organisational network by level (``sim.report.figures.network_layout``), one panel per
    run; units coloured by the open cases they hold, or by their effort (grey: no such value)."""

    def __init__(self, model: ClassroomModel, lang: str, colour_by: str = "backlog"):
        runs = list(model.runs)
        super().__init__(lang, 7.0, 3.1 * len(runs) + 0.7)
        self.colour_by = colour_by
        snapshot = network_snapshot(model.runs["A"])
        nodes, edges = snapshot.nodes, snapshot.edges
        pos = network_layout(nodes)
        axes = self.fig.subplots(len(runs), 1, squeeze=False)[:, 0]
        ties = edges[(edges["relation"] != "shares_data") & (edges["relation"] != "works_with")]  # the structure
        segments = [(pos[u], pos[v]) for u, v in zip(ties["source"], ties["target"], strict=True)]
        by_kind = {kind: nodes[nodes["kind"] == kind] for kind in dict.fromkeys(nodes["kind"])}
        self.cmap = matplotlib.colormaps["YlOrRd" if colour_by == "backlog" else "viridis"]
        self.norm = matplotlib.colors.Normalize(0.0, 5.0 if colour_by == "backlog" else 1.0)
        self.layers = []
        for ax, run in zip(axes, runs, strict=True):
            ax.add_collection(LineCollection(segments, colors="#9a9a9a", linewidths=0.5, alpha=0.35, zorder=1))
            for kind, items in by_kind.items():
                xy = np.array([pos[n] for n in items["node"]])
                units = items["unit"].to_numpy()
                shown = units >= 0
                if colour_by == "effort":   # effort is chosen by evaluated units only
                    shown &= kind in ("community", "department")
                size = {"community": 70, "department": 40, "social_org": 45}.get(kind, 80)
                if (~shown).any():
                    ax.scatter(xy[~shown, 0], xy[~shown, 1], s=size, marker=MARKERS.get(kind, "o"), c=NO_UNIT_COLOR,
                               edgecolors="#555555", linewidths=0.5, zorder=2)
                if shown.any():
                    sc = self.animate(ax.scatter(xy[shown, 0], xy[shown, 1], s=size, marker=MARKERS.get(kind, "o"),
                                                 c=np.zeros(int(shown.sum())), cmap=self.cmap, norm=self.norm,
                                                 edgecolors="#555555", linewidths=0.5, zorder=3))
                    self.layers.append((run, sc, units[shown]))
            levels_axis(ax, lang)
            ax.set_title(_run_title(model, run, lang), loc="left", fontsize=10, fontweight="normal")
        self.cbar = self.fig.colorbar(matplotlib.cm.ScalarMappable(norm=self.norm, cmap=self.cmap), ax=list(axes),
                                      shrink=0.8, pad=0.01)
        self.cbar.set_label(t("app.f.backlog_bar" if colour_by == "backlog" else "app.f.effort_bar", lang))
        kinds = [k for k in MARKERS if k in by_kind and k != "platform"]
        handles = [Line2D([], [], ls="", marker=MARKERS[k], ms=7, mfc="#fdae61" if k != "party" else NO_UNIT_COLOR,
                          mec="#555555", label=kind_label(k, lang)) for k in kinds]
        self.fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=8)
        what = t("app.by_backlog" if colour_by == "backlog" else "app.by_effort", lang)
        self.title = self.animate(self.fig.suptitle(t("app.f.network", lang).format(what=what, day=0), fontsize=11))
        self.what = what

    def update(self, model: ClassroomModel) -> None:
        values = {run: np.asarray(m.queue_lengths() if self.colour_by == "backlog" else m.effort, dtype=float)
                  for run, m in model.runs.items()}
        if self.colour_by == "backlog":   # the scale only grows (1-2-5 steps), so colours stay comparable
            top = _nice_ceiling(max(float(v.max()) for v in values.values()))
            if top > self.norm.vmax:
                self.norm.vmax = top
                self.cbar.update_normal(self.cbar.mappable)
                self.invalidate()
        for run, sc, units in self.layers:
            sc.set_array(values[run][units])
        self.title.set_text(t("app.f.network", self.lang).format(what=self.what, day=model.day))


class ResidentsView(View):
    """One community's residents (at most ``MAX_RESIDENTS``), laid out by grid: grievance and
    trust panels for each run, mobilised residents ringed in black."""

    def __init__(self, model: ClassroomModel, lang: str, community: int = 0):
        runs = list(model.runs)
        super().__init__(lang, 7.0, 1.75 * len(runs) + 1.3)
        pop = model.runs["A"].population
        self.community = community
        idx = np.flatnonzero(pop.community == community)[:MAX_RESIDENTS]
        self.idx = idx
        grids = pop.grid[idx]
        xy = np.zeros((len(idx), 2))
        x0 = 0.0
        for g in np.unique(grids):   # one block per grid (网格)
            members = np.flatnonzero(grids == g)
            w = max(int(np.ceil(np.sqrt(len(members) / 1.6))), 1)
            xy[members, 0] = x0 + np.arange(len(members)) % w
            xy[members, 1] = -(np.arange(len(members)) // w)
            x0 += w + 1.0
        self.xy = xy
        axes = self.fig.subplots(len(runs), 2, squeeze=False)
        norms = {"app.f.grievance": matplotlib.colors.PowerNorm(0.5, 0.0, 1.0),
                 "app.f.trust": matplotlib.colors.Normalize(0.0, 1.0)}
        self.panels = []
        for r, run in enumerate(runs):
            for c, (what, cmap) in enumerate((("app.f.grievance", "Reds"), ("app.f.trust", "Blues"))):
                ax = axes[r, c]
                sc = self.animate(ax.scatter(xy[:, 0], xy[:, 1], s=15, c=np.zeros(len(idx)), cmap=cmap,
                                             norm=norms[what], marker="s", linewidths=0))
                mob = self.animate(ax.scatter(xy[:1, 0], xy[:1, 1], s=36, facecolors="none", edgecolors="black",
                                              linewidths=1.1))
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
                for spine in ax.spines.values():
                    spine.set_visible(False)
                ax.set_xlim(-1, max(x0 - 1, 1))
                ax.set_ylim(float(xy[:, 1].min()) - 1 if len(idx) else -1, 1)
                ax.set_aspect("equal")
                ax.set_title(f"{_run_title(model, run, lang)} · {t(what, lang)}", loc="left", fontsize=9,
                             fontweight="normal")
                self.panels.append((run, what, sc, mob))
                if r == len(runs) - 1:
                    self.fig.colorbar(matplotlib.cm.ScalarMappable(norm=norms[what], cmap=cmap), ax=ax,
                                      orientation="horizontal", shrink=0.7, aspect=30)
        handles = [Line2D([], [], ls="", marker="o", ms=6, mfc="none", mec="black", label=t("app.f.mobilised", lang))]
        self.fig.legend(handles=handles, loc="outside upper right", fontsize=8)
        name = f"{level_label('community', lang)} {community + 1}"
        self.title_text = t("app.f.residents", lang)
        self.name = name
        self.title = self.animate(self.fig.suptitle(self.title_text.format(community=name, day=0), fontsize=11))

    def update(self, model: ClassroomModel) -> None:
        for run, what, sc, mob in self.panels:
            pop = model.runs[run].population
            values = pop.grievance[self.idx] if what == "app.f.grievance" else pop.trust[self.idx]
            sc.set_array(np.asarray(values, dtype=float))
            mobilised = pop.mobilised[self.idx]
            mob.set_offsets(self.xy[mobilised] if mobilised.any() else np.zeros((0, 2)))
        self.title.set_text(self.title_text.format(community=self.name, day=model.day))


#: x-axis lengths of the charts (days): the axis grows to the next one when the run passes it.
SPANS = (90, 180, 365, 730, 1095, 1460, HORIZON)


class ChartsView(View):
    """Backlog, 30-day resolution rate, share resolved at grassroots and mean trust over time;
    one line per run."""

    SERIES = (("open", "app.f.open"), ("rate", "app.f.rate"), ("grassroots", "app.f.grassroots"),
              ("trust", "app.f.trust_mean"))

    def __init__(self, model: ClassroomModel, lang: str):
        super().__init__(lang, 14.0, 2.6 if len(model.runs) == 1 else 2.9)
        axes = self.fig.subplots(1, 4).ravel()
        self.lines = []
        for ax, (key, label) in zip(axes, self.SERIES, strict=True):
            for run in model.runs:
                (line,) = ax.plot([], [], color=RUN_COLORS[run], lw=1.6, label=_run_title(model, run, lang))
                self.lines.append((key, run, self.animate(line)))
            ax.set_title(t(label, lang), loc="left", fontsize=9, fontweight="normal")
            ax.tick_params(labelsize=8)
            ax.set_xlim(0, SPANS[0])
            ax.set_ylim(*{"open": (0, 10), "rate": (0, 100), "grassroots": (0, 100), "trust": (0.5, 0.7)}[key])
        for ax in axes:
            ax.set_xlabel(t("axis.day", lang), fontsize=8)
        if len(model.runs) > 1:
            self.fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
        self.axes = dict(zip([k for k, _ in self.SERIES], axes, strict=True))

    def update(self, model: ClassroomModel) -> None:
        snaps = {run: model.snapshot(run) for run in model.runs}
        span = next((s for s in SPANS if s >= model.day), SPANS[-1])
        for key, ax in self.axes.items():
            if ax.get_xlim()[1] != span:
                ax.set_xlim(0, span)
                self.invalidate()
            values = np.concatenate([snaps[r][key] for r in model.runs])
            values = values[np.isfinite(values)]
            if not len(values):
                continue
            lo, hi = ax.get_ylim()
            if key == "open" and values.max() > hi:
                ax.set_ylim(0, _nice_ceiling(values.max() * 1.05, 10.0))
                self.invalidate()
            elif key == "trust" and (values.min() < lo or values.max() > hi):
                ax.set_ylim(min(lo, np.floor(values.min() * 10) / 10), max(hi, np.ceil(values.max() * 10) / 10))
                self.invalidate()
        for key, run, line in self.lines:
            snap = snaps[run]
            line.set_data(snap["day"], snap[key])


class LadderView(View):
    """Where the cases ended so far, per run: stacked shares of all cases (the categories and
    colours of ``sim.report.figures``' escalation ladder)."""

    def __init__(self, model: ClassroomModel, lang: str):
        self.runs = list(model.runs)
        super().__init__(lang, 7.0, 1.5 + 0.5 * len(self.runs))
        ax = self.ax = self.fig.subplots()
        y = np.arange(len(self.runs))[::-1]
        self.bars = {}
        self.labels = {}
        for key, color in LADDER:
            bars = ax.barh(y, np.zeros(len(y)), color=color, height=0.6, label=t(key, lang),
                           edgecolor="white", lw=0.5)
            self.bars[key] = [self.animate(b) for b in bars]
            dark = key in ("ladder.grassroots", "erupted")
            self.labels[key] = [self.animate(ax.text(0, yi, "", ha="center", va="center", fontsize=8,
                                                     color="white" if dark else "#222222")) for yi in y]
        ax.set_yticks(y, [_run_title(model, r, lang) for r in self.runs], fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_ylim(-0.5, len(y) - 0.5)
        ax.grid(False)
        ax.tick_params(axis="y", length=0)
        ax.tick_params(axis="x", labelsize=8)
        self.fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=7)
        self.title = self.animate(ax.set_title("", loc="left", fontsize=10, fontweight="normal"))

    def update(self, model: ClassroomModel) -> None:
        rows = [{**model.snapshot(r)["summary"], "scenario": r} for r in self.runs]
        shares = ladder_shares(pd.DataFrame(rows), self.runs).fillna(0.0) * 100.0
        left = np.zeros(len(self.runs))
        for key, _ in LADDER:
            width = shares[key].to_numpy(float)
            for i, (bar, label) in enumerate(zip(self.bars[key], self.labels[key], strict=True)):
                bar.set_x(left[i])
                bar.set_width(width[i])
                label.set_position((left[i] + width[i] / 2, label.get_position()[1]))
                label.set_text(f"{width[i]:.0f}" if width[i] >= 6.0 else "")
            left += width
        self.title.set_text(t("app.f.ladder", self.lang).format(day=model.day))


VIEWS = {"network": NetworkView, "residents": ResidentsView, "charts": ChartsView, "ladder": LadderView}


def make_view(kind: str, model: ClassroomModel, lang: str, **options) -> View:
    """A view of ``model`` (its texts get the fonts of ``lang``)."""
    with _DRAW, style(lang):
        return VIEWS[kind](model, lang, **options)


def render_view(view: View, model: ClassroomModel) -> bytes:
    """``view`` at the model's current day, as a JPEG image."""
    with _DRAW, style(view.lang), model.lock:
        return view.frame(model)


# ------------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------------

def kpi_rows(model: ClassroomModel, lang: str) -> list[tuple[str, list[str]]]:
    """The KPI table: (label, one cell per run)."""
    rows = []
    snaps = {run: model.snapshot(run) for run in model.runs}

    def pct(v):
        return "–" if v is None or v != v else f"{100 * v:.1f}%"

    def row(label, fn):
        rows.append((label, [fn(snaps[r]) for r in model.runs]))

    # open cases and mean trust today: the last day's values of the daily series "open" and
    # "trust_mean", which the summary gives as open_end and trust_mean_end
    row(kpi_label("cases_total", lang), lambda s: f"{s['summary']['cases_total']:,}")
    row(kpi_label("open", lang), lambda s: f"{s['summary']['open_end']:,}")
    row(kpi_label("resolved", lang), lambda s: f"{s['summary']['resolved']:,}")
    row(kpi_label("resolution_rate", lang), lambda s: pct(s["summary"]["resolution_rate"]))
    row(kpi_label("share_resolved_grassroots", lang), lambda s: pct(s["summary"]["share_resolved_grassroots"]))
    row(kpi_label("trust_mean", lang), lambda s: f"{s['summary']['trust_mean_end']:.3f}")
    row(kpi_label("mobilised", lang), lambda s: f"{s['mobilised']:,}")
    row(t("app.eruptions", lang), lambda s: f"{s['summary']['petitions'] + s['summary']['collective_incidents']:,}")
    return rows


def kpi_html(model: ClassroomModel, lang: str) -> str:
    runs = list(model.runs)
    head = "".join(f"<th style='text-align:right;padding:2px 10px'>{_run_title(model, r, lang)}</th>" for r in runs)
    body = ""
    for label, cells in kpi_rows(model, lang):
        tds = "".join(f"<td style='text-align:right;padding:2px 10px' class='cogov-kpi-{r}'>{c}</td>"
                      for r, c in zip(runs, cells, strict=True))
        body += f"<tr><td style='padding:2px 10px'>{label}</td>{tds}</tr>"
    return (f"<table class='cogov-kpis' style='border-collapse:collapse;font-size:14px'><thead><tr>"
            f"<th style='text-align:left;padding:2px 10px'>{t('app.kpi', lang)}</th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")


@solara.component
def FigureView(model: ClassroomModel, kind: str, lang: str, tick: int = 0, **options):
    """A view of ``model``; ``tick`` (Mesa's update counter) changes at every step, so it redraws."""
    view = solara.use_memo(lambda: make_view(kind, model, lang, **options),
                           dependencies=[model, lang, kind, *options.values()])
    solara.Image(render_view(view, model), width="100%", format="jpeg")


@solara.component
def Kpis(model: ClassroomModel, lang: str, tick: int = 0):
    with solara.Card(margin=0, elevation=1):
        day = t("app.day", lang).format(day=model.day)
        note = ""
        if len(model.runs) > 1:
            diffs = model.lever_differences()
            items = ", ".join(f"{lever_label(n, lang)} {a:.2f} → {b:.2f}" for n, a, b in diffs)
            note = t("app.differs", lang).format(items=items) if diffs else t("app.same", lang)
            note = f"<div class='cogov-differs' style='font-size:13px;margin-top:6px'>{note}</div>"
        solara.HTML(tag="div", unsafe_innerHTML=f"<div class='cogov-day' style='font-size:20px;margin-bottom:6px'>"
                                                f"{day}</div>{kpi_html(model, lang)}{note}")
        if not model.running:
            solara.Warning(t("app.ended", lang).format(days=HORIZON), dense=True)


@solara.component
def Dashboard(model: ClassroomModel, lang: str, shown: solara.Reactive):
    """The views of the page's main area (plain rows and columns: no grid layout from a CDN, so
    the page works offline). The one component that Mesa's steps redraw: one render pass per frame."""
    tick = update_counter.get()   # changes at every step / play tick (mesa.visualization.utils)
    colour_by = solara.use_reactive("backlog")
    community = solara.use_reactive(0)
    n_comm = int(model.runs["A"].territory.n_communities)
    with solara.Column(style={"padding": "8px"}):
        LeverWatch(model, shown, tick)
        with solara.Columns([1, 1]):
            Kpis(model, lang, tick)
            with solara.Card(margin=0, elevation=1):
                FigureView(model, "ladder", lang, tick)
        with solara.Card(margin=0, elevation=1):
            FigureView(model, "charts", lang, tick)
        with solara.Columns([1, 1]):
            with solara.Card(margin=0, elevation=1):
                with solara.ToggleButtonsSingle(value=colour_by, dense=True):
                    solara.Button(t("app.by_backlog", lang), value="backlog")
                    solara.Button(t("app.by_effort", lang), value="effort")
                FigureView(model, "network", lang, tick, colour_by=colour_by.value)
            with solara.Card(margin=0, elevation=1):
                labels = [f"{level_label('community', lang)} {c + 1}" for c in range(n_comm)]
                solara.Select(t("app.community", lang), values=labels, value=labels[min(community.value, n_comm - 1)],
                              on_value=lambda v: community.set(labels.index(v)), dense=True,
                              style={"max-width": "220px"})
                FigureView(model, "residents", lang, tick, community=community.value)


@solara.component
def LeverWatch(model: ClassroomModel, shown: solara.Reactive, tick: int = 0):
    """Keeps ``shown`` equal to the slider values in force, so that the sliders follow a scenario's
    schedule (e.g. whistles from day 365) without redrawing the sidebar at every step."""
    now = model.slider_values()

    def sync():
        if shown.value != now:
            shown.set(now)

    solara.use_effect(sync, [now])
    solara.Div(style="display: none")


@solara.component
def LessonControls(model: solara.Reactive, lesson: Lesson, lang: solara.Reactive, shown: solara.Reactive):
    """Scenario(s), seed, side by side, and the lever sliders (the sidebar's lesson card)."""
    shown.get()   # re-render when the levers in force change (LeverWatch)
    edit = solara.use_reactive("A")
    m: ClassroomModel = model.value
    L = lang.value
    names = scenario_names()

    def rebuild():
        lesson.seed = model.value.lesson.seed   # the seed is Mesa's model parameter: it changes on Reset
        model.value = ClassroomModel(lesson)

    def set_scenario(run, name):
        if run == "A":
            lesson.scenario = name
        else:
            lesson.scenario_b = name
        lesson.levers[run] = {}
        rebuild()

    def set_side_by_side(on):
        lesson.side_by_side = bool(on)
        if not on:
            edit.set("A")
        rebuild()

    def move(name, value):
        run = edit.value if edit.value in m.runs else "A"
        model.value.set_lever(run, name, value)
        lesson.levers.setdefault(run, {})[name] = float(value)
        force_update()

    with solara.Card(t("app.lesson", L), margin=0, elevation=1):
        with solara.ToggleButtonsSingle(value=lang, dense=True):
            solara.Button("English", value="en")
            solara.Button("中文", value="zh")
        labels = {scenario_label(n, L): n for n in names}   # shown by label, kept by name
        solara.Select(t("app.scenario_a" if lesson.side_by_side else "app.scenario", L), values=list(labels),
                      value=scenario_label(lesson.scenario, L), on_value=lambda v: set_scenario("A", labels[v]),
                      dense=True)
        solara.Switch(label=t("app.side_by_side", L), value=lesson.side_by_side, on_value=set_side_by_side)
        if lesson.side_by_side:
            solara.Select(t("app.scenario_b", L), values=list(labels), value=scenario_label(lesson.scenario_of("B"), L),
                          on_value=lambda v: set_scenario("B", labels[v]), dense=True)
    with solara.Card(t("app.levers", L), margin=0, elevation=1):
        run = edit.value if edit.value in m.runs else "A"
        if len(m.runs) > 1:
            solara.Text(t("app.levers_of", L))
            solara.ToggleButtonsSingle(value=edit, values=list(RUNS), dense=True)
        for name in SLIDERS:
            value = m.slider_value(run, name)
            low, high = slider_range(name)
            solara.SliderFloat(f"{lever_label(name, L)}: {value:.2f}", value=round(value, 2), min=low, max=high,
                               step=0.01 if name == "evaluation" else 0.05, on_value=lambda v, n=name: move(n, v))
        lv = m.levers(run)
        note = {"font-size": "12px", "color": "#555", "margin-top": "4px"}
        solara.HTML(tag="div", unsafe_innerHTML=t("app.evaluation_note", L).format(
            e=m.slider_value(run, "evaluation"), p=lv.w_process, c=lv.w_closures, s=lv.w_satisfaction), style=note)
        solara.HTML(tag="div", unsafe_innerHTML=t("app.levers_note", L), style=note)


#: Mesa's controller defaults: days per frame (render_interval) and pause between frames (ms).
RENDER_INTERVAL = 5
PLAY_INTERVAL = 50


@solara.component
def App(model: solara.Reactive | None = None):
    """The app: Mesa's SolaraViz (play / step / reset, speed, seed) with the lesson and the views.

    Args:
        model: a reactive ``ClassroomModel`` to show (tests pass one to watch it); by default the
            app makes its own, one per browser tab.
    """
    lesson = solara.use_memo(lambda: model.value.lesson.copy() if model is not None else Lesson(), [])
    own = solara.use_reactive(solara.use_memo(lambda: ClassroomModel(lesson) if model is None else None, []))
    model = own if model is None else model
    lang = solara.use_reactive("en")
    shown = solara.use_reactive(())
    # Mesa's Reset builds ClassroomModel(lesson=..., seed=...) from model_params: the same (mutable)
    # lesson, and the seed of Mesa's own "Model Parameters" card
    params = {"lesson": lesson, "seed": {"type": "SliderInt", "value": lesson.seed, "min": 0, "max": 99, "step": 1,
                                         "label": t("app.seed", lang.value)}}
    SolaraViz(model, components=[], model_params=params, name=t("app.title", lang.value),
              play_interval=PLAY_INTERVAL, render_interval=RENDER_INTERVAL)
    with solara.Sidebar():
        LessonControls(model, lesson, lang, shown)
    Dashboard(model.value, lang.value, shown)


@solara.component
def Page():
    """What ``solara`` serves: the app with a model of its own."""
    solara.Title("cogov: co-governance of disputes")
    App()
