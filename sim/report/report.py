"""The comparison report: which reform does better, on what, and how sure we are.

``write_report`` writes ``report.<lang>.md`` (figures beside it in ``figures/<lang>/``: their labels
are in the report's language) and ``report.<lang>.html`` (one self-contained file: figures as data
URIs, inline CSS, for Chinese an embedded subset of the CJK font; no external resource), so the
English and the Chinese report of one comparison live side by side in one folder. Every sentence of
the summary is computed from the tables of a ``Comparison``; the wording comes from ``sim.report.i18n``.

Files are written into a temporary folder inside ``out`` and moved into place one by one with
``os.replace``, so an interrupted report leaves no half-written file.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..registry import KINDS, KPIS, REPORT_KPIS, REPORT_SUMMARY_KPIS, check_lang
from .i18n import cjk_font, display_width, fmt_number, join, kpi_header, kpi_kind, kpi_label, scenario_label, t

FIGURE_FILES = ("timeseries.png", "ladder.png", "cost.png", "reported.png", "network.png")


def report_files(lang: str) -> tuple[str, str]:
    """The names of the report in ``lang``: (Markdown, HTML), e.g. ("report.en.md", "report.en.html")."""
    check_lang(lang)
    return f"report.{lang}.md", f"report.{lang}.html"


def figures_folder(lang: str) -> str:
    """The folder of the figures of the report in ``lang``, relative to the report: "figures/en"."""
    return f"figures/{check_lang(lang)}"


def _better(kpi: str) -> int:
    """The KPI's direction of better (``registry.KPIS``); 0 for a KPI the registry does not know."""
    return KPIS[kpi].better if kpi in KPIS else 0


# ------------------------------------------------------------------------------------------------
# reading the tables
# ------------------------------------------------------------------------------------------------

def _finite(*values) -> bool:
    return all(v is not None and isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v)
               for v in values)


def _verdict(n, diff, lo, hi, better: int) -> str:
    """better / worse / noise (CI contains 0) / up / down (no direction of better) / unknown (no CI)."""
    if not (_finite(n, diff, lo, hi) and n >= 2):
        return "unknown"
    if lo <= 0 <= hi:
        return "noise"
    if better == 0:
        return "up" if diff > 0 else "down"
    return "better" if diff * better > 0 else "worse"


@dataclass
class Cell:
    """One scenario's figures for one KPI."""

    mean: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    diff: float = float("nan")
    dlo: float = float("nan")
    dhi: float = float("nan")
    n: int = 0
    verdict: str = "unknown"
    best: bool = False
    digits: int | None = None   # decimals of the difference (more when its interval is narrow)
    level_digits: int | None = None  # decimals of the mean and its interval (the same along a row)


def level_digits(kpi: str, means) -> int | None:
    """Decimals of a row's levels: counts in the hundreds and more are shown without decimals."""
    kind = kpi_kind(kpi)
    finite = [abs(m) for m in means if _finite(m)]
    if kind == "count" and finite and max(finite) >= 100:
        return 0
    return None


def diff_digits(kpi: str, lo: float, hi: float, base: int | None = None) -> int | None:
    """Decimals that show the half-width of a difference's interval with at least one significant
    digit (at most two more than the row's usual ones): a change of trust of +0.0013 [+0.0010,
    +0.0017] rather than +0.001 [+0.001, +0.002]."""
    kind = KINDS[kpi_kind(kpi)]
    base = kind.decimals if base is None else base
    half = (hi - lo) / 2 * kind.scale
    if not (_finite(half) and half > 0):
        return None
    need = math.ceil(-math.log10(half))
    return int(min(max(need, base), base + 2))


@dataclass
class Table:
    """The KPI table: rows KPIs, columns scenarios."""

    kpis: list[str]
    names: list[str]
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)


def kpi_cells(comp) -> Table:
    """Means, CIs, paired differences and verdicts of every KPI and scenario, and the best of each row."""
    names = list(comp.names)
    stats = comp.stats.set_index(["scenario", "kpi"])
    diffs = comp.diffs.set_index(["scenario", "kpi"])
    kpis = [k for k in REPORT_KPIS if k in comp.stats["kpi"].unique()]
    table = Table(kpis, names)
    for kpi in kpis:
        better = _better(kpi)
        low, high = KPIS[kpi].range if kpi in KPIS else (-math.inf, math.inf)
        for name in names:
            c = Cell()
            if (name, kpi) in stats.index:
                row = stats.loc[(name, kpi)]
                c.mean = float(row["mean"])
                c.lo = min(max(float(row["ci_low"]), low), high)
                c.hi = min(max(float(row["ci_high"]), low), high)
            if (name, kpi) in diffs.index:
                d = diffs.loc[(name, kpi)]
                c.diff, c.dlo, c.dhi, c.n = float(d["diff"]), float(d["ci_low"]), float(d["ci_high"]), int(d["n"])
                c.verdict = _verdict(c.n, c.diff, c.dlo, c.dhi, better)
            table.cells[(name, kpi)] = c
        means = np.array([table.cells[(nm, kpi)].mean for nm in names], dtype=float)
        row_digits = level_digits(kpi, means)
        needs = [diff_digits(kpi, table.cells[(nm, kpi)].dlo, table.cells[(nm, kpi)].dhi, row_digits)
                 for nm in names[1:]]
        needs = [d for d in needs if d is not None]
        for name in names:  # one number of decimals along a row
            c = table.cells[(name, kpi)]
            c.level_digits = row_digits
            c.digits = max(needs) if needs else row_digits
        others = [table.cells[(nm, kpi)].verdict for nm in names[1:]]
        all_noise = bool(others) and all(v == "noise" for v in others)
        if better and len(names) > 1 and np.isfinite(means).any() and not all_noise:
            score = np.where(np.isfinite(means), means * better, -np.inf)
            top = score.max()
            if not np.allclose(score[np.isfinite(score)], top, rtol=1e-9, atol=1e-12):  # not all equal
                for nm, sc in zip(names, score, strict=True):
                    if np.isclose(sc, top, rtol=1e-9, atol=1e-12):
                        table.cells[(nm, kpi)].best = True
    return table


# ------------------------------------------------------------------------------------------------
# the summary, computed from the tables
# ------------------------------------------------------------------------------------------------

@dataclass
class Summary:
    overview: list[str]
    scorecard: list[str]
    kpis: list[str]
    reported: list[str]


def _val(kpi, v, lang, digits=None):
    return fmt_number(kpi, v, lang, unit=True, digits=digits)


def _dif(kpi, v, lang, digits=None):
    return fmt_number(kpi, v, lang, signed=True, unit=True, diff=True, digits=digits)


def _ci_clause(kpi, lo, hi, lang, digits=None, signed=True) -> str:
    """" (95% CI lo to hi)", or nothing when there is no interval (one replicate)."""
    if not _finite(lo, hi):
        return ""
    return t("sum.ci", lang).format(lo=fmt_number(kpi, lo, lang, signed=signed, digits=digits),
                                    hi=fmt_number(kpi, hi, lang, signed=signed, digits=digits))


def _paren(text: str, inner: str, lang: str) -> str:
    return f"{text} ({inner})" if lang == "en" else f"{text}（{inner}）"


def _kpi_sentences(kpi: str, table: Table, lang: str) -> list[str]:
    names, ref = table.names, table.names[0]
    better = _better(kpi)
    label = kpi_label(kpi, lang)
    cells = {nm: table.cells[(nm, kpi)] for nm in names}
    means = np.array([cells[nm].mean for nm in names], dtype=float)
    rc = cells[ref]
    if not np.isfinite(rc.mean) or np.isfinite(means).sum() < 2:
        return [t("sum.kpi_missing", lang).format(kpi=label)]
    finite = means[np.isfinite(means)]
    if np.allclose(finite, finite[0], rtol=1e-12, atol=1e-12):
        return [t("sum.kpi_all_equal", lang).format(kpi=label, value=_val(kpi, finite[0], lang, rc.level_digits))]
    score = np.where(np.isfinite(means), means * better, -np.inf)
    leader = names[int(np.argmax(score))]
    lab = scenario_label
    out = []
    if leader != ref and score[names.index(leader)] > rc.mean * better:
        c = cells[leader]
        # "worse" is possible only when some replicates lack the KPI (the paired mean then differs)
        verdict = {"better": "sum.verdict_clear", "noise": "sum.verdict_noise",
                   "worse": "sum.verdict_unclear"}.get(c.verdict, "sum.verdict_unknown")
        out.append(t("sum.kpi_leader", lang).format(
            kpi=label, leader=lab(leader, lang), value=_val(kpi, c.mean, lang, c.level_digits), ref=lab(ref, lang),
            ref_value=_val(kpi, rc.mean, lang, rc.level_digits), diff=_dif(kpi, c.diff, lang, c.digits),
            ci=_ci_clause(kpi, c.dlo, c.dhi, lang, c.digits), verdict=t(verdict, lang)))
    else:
        rest = [nm for nm in names[1:] if np.isfinite(cells[nm].mean)]
        best = max(rest, key=lambda nm: cells[nm].mean * better)
        c = cells[best]
        out.append(t("sum.kpi_ref_leads", lang).format(
            kpi=label, ref=lab(ref, lang), ref_value=_val(kpi, rc.mean, lang, rc.level_digits), best=lab(best, lang),
            value=_val(kpi, c.mean, lang, c.level_digits), diff=_dif(kpi, c.diff, lang, c.digits),
            ci=_ci_clause(kpi, c.dlo, c.dhi, lang, c.digits)))
    groups = {"better": [], "worse": [], "noise": []}
    for nm in names[1:]:
        c = cells[nm]
        if c.verdict in ("better", "worse"):
            groups[c.verdict].append(_paren(lab(nm, lang), _dif(kpi, c.diff, lang, c.digits), lang))
        elif c.verdict == "noise":
            groups["noise"].append(lab(nm, lang))
    for group, items in groups.items():
        if items:
            out.append(t(f"sum.group_{group}", lang).format(ref=lab(ref, lang), items=join(items, lang)))
    return out


def _gap_sentences(comp, lang: str) -> list[str]:
    """The gap between the closure rate an agency would report and the real resolution rate
    (``comp.gap_stats``, ``comp.gap_diffs``)."""
    if comp.gap_stats.empty:
        return []
    names, ref = list(comp.names), comp.names[0]
    st = comp.gap_stats.set_index("scenario").reindex(names)
    st = st[np.isfinite(st["mean"])]
    if st.empty:
        return []
    k = "resolution_rate"  # the gap is in percentage points, like a difference of rates
    lab = scenario_label
    gaps = st["mean"]
    eps = 1e-12
    out = []
    if (gaps.abs() <= eps).all():
        out.append(t("sum.gap_none", lang))
    elif len(gaps) > 1:
        mn, mx = gaps.idxmin(), gaps.idxmax()
        fields = dict(min_gap=fmt_number(k, gaps[mn], lang, unit=True, diff=True), min_s=lab(mn, lang),
                      max_gap=fmt_number(k, gaps[mx], lang, unit=True, diff=True), max_s=lab(mx, lang))
        if (gaps > eps).all():
            out.append(t("sum.gap_all", lang).format(**fields))
        else:
            out.append(t("sum.gap_some", lang).format(k=int((gaps > eps).sum()), n=len(gaps), **fields))
    if ref in st.index:
        r = st.loc[ref]
        out.append(t("sum.gap_ref", lang).format(ref=lab(ref, lang), gap=fmt_number(k, r["mean"], lang, unit=True,
                                                                                     diff=True),
                                                 ci=_ci_clause(k, max(r["ci_low"], 0.0), r["ci_high"], lang,  # gap >= 0
                                                               signed=False)))
    if len(names) > 1 and comp.reps >= 2:
        pd_ = comp.gap_diffs
        groups = {"narrower": [], "wider": [], "noise": []}
        for _, row in pd_[pd_["scenario"] != ref].iterrows():
            v = _verdict(row["n"], row["diff"], row["ci_low"], row["ci_high"], -1)
            item = lab(row["scenario"], lang)
            digits = diff_digits(k, row["ci_low"], row["ci_high"])
            if v in ("better", "worse"):
                groups["narrower" if v == "better" else "wider"].append(
                    _paren(item, _dif(k, row["diff"], lang, digits), lang))
            elif v == "noise":
                groups["noise"].append(item)
        for group, items in groups.items():
            if items:
                out.append(t(f"sum.gap_{group}", lang).format(ref=lab(ref, lang), items=join(items, lang)))
    return out


def summarise(comp, lang: str, table: Table | None = None) -> Summary:
    """The plain-language summary: overview, scorecard per scenario, one paragraph per main KPI,
    and the gap between reported and real resolution. Every sentence is computed from ``comp``."""
    check_lang(lang)
    table = table or kpi_cells(comp)
    names, ref = table.names, table.names[0]
    lab = scenario_label
    directed = [k for k in table.kpis if _better(k)]
    overview, scorecard = [], []
    if len(names) < 2:
        overview.append(t("sum.only_reference", lang).format(ref=lab(ref, lang)))
    else:
        if comp.reps < 2:
            overview.append(t("sum.one_rep", lang))
        counts = {}
        for nm in names[1:]:
            v = {k: table.cells[(nm, k)].verdict for k in directed}
            b = [kpi_label(k, lang) for k in directed if v[k] == "better"]
            w = [kpi_label(k, lang) for k in directed if v[k] == "worse"]
            noise = sum(1 for k in directed if v[k] == "noise")
            counts[nm] = (len(b), len(w), noise)
            if comp.reps >= 2:
                def count(items):
                    return (t("sum.count_list", lang).format(n=len(items), items=join(items, lang)) if items
                            else t("sum.count", lang).format(n=0))
                scorecard.append(t("sum.scorecard_row", lang).format(
                    s=lab(nm, lang), better=count(b), worse=count(w), noise=t("sum.count", lang).format(n=noise)))
        if comp.reps >= 2:
            best = max(names[1:], key=lambda nm: (counts[nm][0] - counts[nm][1], counts[nm][0]))
            b, w, k = counts[best]
            if b > 0:
                overview.append(t("sum.overview_best", lang).format(best=lab(best, lang), ref=lab(ref, lang), b=b,
                                                                    n=len(directed), w=w, k=k))
            else:
                overview.append(t("sum.overview_none", lang).format(ref=lab(ref, lang), n=len(directed)))
    kpis = []
    if len(names) > 1:
        for kpi in REPORT_SUMMARY_KPIS:
            if kpi in table.kpis:
                kpis.append(" ".join(_kpi_sentences(kpi, table, lang)) if lang == "en"
                            else "".join(_kpi_sentences(kpi, table, lang)))
    return Summary(overview, scorecard, kpis, _gap_sentences(comp, lang))


# ------------------------------------------------------------------------------------------------
# the KPI table as text
# ------------------------------------------------------------------------------------------------

def _cell_texts(kpi: str, c: Cell, ref: bool, lang: str) -> tuple[str, str]:
    """("mean [lo, hi]", "Δ +d [a, b]") of a cell (the second empty for the reference)."""
    if not np.isfinite(c.mean):
        return t("table.na", lang), ""
    d = c.level_digits
    first = fmt_number(kpi, c.mean, lang, digits=d)
    if _finite(c.lo, c.hi):
        first += f" [{fmt_number(kpi, c.lo, lang, digits=d)}, {fmt_number(kpi, c.hi, lang, digits=d)}]"
    if ref or not np.isfinite(c.diff):
        return first, ""
    second = f"Δ {fmt_number(kpi, c.diff, lang, signed=True, digits=c.digits)}"
    if _finite(c.dlo, c.dhi):
        second += (f" [{fmt_number(kpi, c.dlo, lang, signed=True, digits=c.digits)}, "
                   f"{fmt_number(kpi, c.dhi, lang, signed=True, digits=c.digits)}]")
    if c.verdict == "noise":
        second += "°"
    return first, second


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def _direction(kpi: str, lang: str) -> str:
    return {1: "↑", -1: "↓"}.get(_better(kpi), " ")


def kpi_table_text(comp, lang: str, width: int | None = None) -> str:
    """The KPI table as plain text for the terminal: rows KPIs (↑ higher is better, ↓ lower),
    columns scenarios; each cell "mean [95% CI]" and, under it, "Δ difference [95% CI]" from the
    first scenario (° within noise; ★ best of the row). Scenarios are split into blocks that fit
    ``width`` columns (default: the terminal's width)."""
    check_lang(lang)
    table = kpi_cells(comp)
    names, ref = table.names, table.names[0]
    width = width or shutil.get_terminal_size((120, 24)).columns
    rows = {k: f"{_direction(k, lang)} {kpi_header(k, lang)}" for k in table.kpis}
    label_w = max([display_width(t("table.kpi", lang))] + [display_width(r) for r in rows.values()]) + 2
    texts = {}
    for k in table.kpis:
        for nm in names:
            c = table.cells[(nm, k)]
            a, b = _cell_texts(k, c, nm == ref, lang)
            texts[(nm, k)] = (("★ " if c.best else "") + a, b)
    col_w = {nm: max([display_width(scenario_label(nm, lang) + (" *" if nm == ref else ""))]
                     + [display_width(x) for k in table.kpis for x in texts[(nm, k)]]) + 2 for nm in names}
    blocks, cur, used = [], [], label_w
    for nm in names:
        if cur and used + col_w[nm] > width:
            blocks.append(cur)
            cur, used = [], label_w
        cur.append(nm)
        used += col_w[nm]
    if cur:
        blocks.append(cur)
    lines = []
    for block in blocks:
        head = _pad(t("table.kpi", lang), label_w) + "".join(
            _pad(scenario_label(nm, lang) + (" *" if nm == ref else ""), col_w[nm], right=True) for nm in block)
        lines += [head, "-" * display_width(head)]
        for k in table.kpis:
            lines.append(_pad(rows[k], label_w) + "".join(_pad(texts[(nm, k)][0], col_w[nm], right=True)
                                                           for nm in block))
            if any(texts[(nm, k)][1] for nm in block):
                lines.append(_pad("", label_w) + "".join(_pad(texts[(nm, k)][1], col_w[nm], right=True)
                                                         for nm in block))
        lines.append("")
    lines.append(f"* {t('table.reference', lang)}{'. ' if lang == 'en' else '。'}" + t("table.note", lang).format(
        reps=comp.reps, ref=scenario_label(ref, lang)))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# the report's parts
# ------------------------------------------------------------------------------------------------

def _settings(comp, lang: str) -> list[tuple[str, str]]:
    ref = comp.names[0]
    items = []
    for i, nm in enumerate(comp.names):
        lab = scenario_label(nm, lang)
        text = lab if lab == nm else f"{lab} [{nm}]"
        if i == 0:
            text += f" ({t('settings.reference', lang)})" if lang == "en" else f"（{t('settings.reference', lang)}）"
        items.append(text)
    preset_key = f"preset.{comp.preset}"
    try:
        preset = t(preset_key, lang)
    except KeyError:
        preset = str(comp.preset)
    sep = "; " if lang == "en" else "；"
    return [(t("settings.scenarios", lang), sep.join(items)),
            (t("settings.reps", lang), str(comp.reps)),
            (t("settings.days", lang), f"{comp.days:,}"),
            (t("settings.preset", lang), preset),
            (t("settings.seed", lang), str(comp.seed)),
            (t("settings.method", lang), t("settings.method_text", lang).format(ref=scenario_label(ref, lang)))]


def _figures(comp, lang: str, network) -> list[tuple[str, object, str]]:
    """(file name, figure, caption) of each figure."""
    from . import figures as F
    ref = scenario_label(comp.names[0], lang)
    fields = dict(days=comp.days, reps=comp.reps, ref=ref)
    out = [("timeseries.png", F.timeseries_bands(comp, lang), t("cap.bands", lang).format(**fields)),
           ("ladder.png", F.escalation_ladder(comp, lang), t("cap.ladder", lang).format(**fields)),
           ("cost.png", F.cost_effectiveness(comp, lang), t("cap.cost", lang).format(**fields)),
           ("reported.png", F.reported_vs_real(comp, lang), t("cap.reported", lang).format(**fields))]
    if network is not None:
        out.append(("network.png", F.org_network(network, lang),
                    t("cap.network", lang).format(scenario=scenario_label(network.scenario, lang), seed=network.seed,
                                                  day=network.day)))
    return out


def _sentence_join(parts: list[str], lang: str) -> str:
    return (" " if lang == "en" else "").join(parts)


# ---- Markdown ------------------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(comp, lang: str, table: Table, summary: Summary, figures: list[tuple[str, str]]) -> str:
    """The report as Markdown; ``figures`` are (relative path, caption)."""
    ref = table.names[0]
    L = [f"# {t('report.title', lang)}", "", t("report.generated", lang), "", f"## {t('section.settings', lang)}", ""]
    L += [f"- **{k}**: {v}" if lang == "en" else f"- **{k}**：{v}" for k, v in _settings(comp, lang)]
    L += ["", f"## {t('section.summary', lang)}", ""]
    if summary.overview:
        L += [_sentence_join(summary.overview, lang), ""]
    if summary.scorecard:
        L += [f"### {t('section.scorecard', lang)}", ""] + [f"- {s}" for s in summary.scorecard] + [""]
    if summary.kpis:
        L += [f"### {t('section.kpis', lang)}", ""] + [f"- {s}" for s in summary.kpis] + [""]
    if summary.reported:
        L += [f"### {t('section.reported', lang)}", "", _sentence_join(summary.reported, lang), ""]
    L += [f"## {t('section.table', lang)}", ""]
    head = [t("table.kpi", lang), t("table.better", lang)] + [
        scenario_label(nm, lang) + (f" ({t('table.reference', lang)})" if nm == ref else "") for nm in table.names]
    L.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
    L.append("|" + "---|" * 2 + "---:|" * len(table.names))
    for k in table.kpis:
        row = [kpi_header(k, lang), _better_text(k, lang)]
        for nm in table.names:
            c = table.cells[(nm, k)]
            a, b = _cell_texts(k, c, nm == ref, lang)
            if c.best:
                num, _, rest = a.partition(" ")
                a = f"**★ {num}** {rest}".rstrip()
            row.append(a + (f"<br>{b}" if b else ""))
        L.append("| " + " | ".join(_md_escape(x) for x in row) + " |")
    L += ["", t("table.note", lang).format(reps=comp.reps, ref=scenario_label(ref, lang)), "",
          f"## {t('section.figures', lang)}", ""]
    for path, caption in figures:
        if path:
            L += [f"![{caption}]({path})", "", f"*{caption}*", ""]
        else:
            L += [f"*{caption}*", ""]
    return "\n".join(L)


def _better_text(kpi: str, lang: str) -> str:
    b = _better(kpi)
    return {1: "↑ " + t("table.higher", lang), -1: "↓ " + t("table.lower", lang)}.get(b, t("table.neither", lang))


# ---- HTML ----------------------------------------------------------------------------------------

CSS = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --better: #1a7f37; --worse: #cf222e; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.55;
       font-family: FONT_STACK; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.9em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.35em; margin-top: 1.8em; padding-bottom: 0.25em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.08em; margin: 1.3em 0 0.4em; }
.generated { color: var(--muted); margin-top: 0; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
dl.settings dt { font-weight: 600; color: var(--muted); }
dl.settings dd { margin: 0; }
p.lead { font-size: 1.08em; background: var(--bg); border-left: 4px solid #0969da; padding: 10px 14px; }
ul.findings li { margin: 0.35em 0; }
.table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; }
table.kpi { border-collapse: collapse; font-size: 0.86em; min-width: 100%; }
table.kpi th, table.kpi td { padding: 6px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.kpi thead th { background: var(--bg); position: sticky; top: 0; text-align: right; font-weight: 600; }
table.kpi thead th.kpi, table.kpi td.kpi { text-align: left; }
table.kpi td.kpi { font-weight: 600; position: sticky; left: 0; background: #fff; min-width: 13em; }
table.kpi td.dir { color: var(--muted); white-space: nowrap; }
table.kpi td.num { text-align: right; white-space: nowrap; }
table.kpi tbody tr:nth-child(even) td { background: #fbfcfd; }
.ref-col { border-left: 2px solid var(--line); border-right: 2px solid var(--line); }
.ci { color: var(--muted); }
.delta { display: block; font-size: 0.92em; }
.delta.better { color: var(--better); }
.delta.worse { color: var(--worse); }
.delta.noise, .delta.unknown, .delta.up, .delta.down { color: var(--muted); }
td.best .mean { font-weight: 700; }
td.best { background: #eef8f0 !important; }
.note { color: var(--muted); font-size: 0.88em; }
figure { margin: 28px 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 0.92em; margin-top: 6px; }
"""

FONT_STACK = ('system-ui, -apple-system, "Segoe UI", "Helvetica Neue", Arial, "Noto Sans CJK SC", '
              '"Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", sans-serif')


def _font_face(text: str) -> tuple[str, str]:
    """(@font-face rule, family) with the CJK font cut down to the characters of ``text``,
    embedded as a data URI; ("", "") if the text has no CJK character or no font can be cut."""
    if not any(ord(ch) >= 0x2E80 for ch in text):
        return "", ""
    try:
        from fontTools import subset
        opts = subset.Options()
        opts.layout_features = ["*"]
        opts.name_IDs = ["*"]
        opts.notdef_outline = True
        font = subset.load_font(str(cjk_font()), opts)
        sub = subset.Subsetter(opts)
        sub.populate(text="".join(sorted(set(text))))
        sub.subset(font)
        buf = io.BytesIO()
        font.save(buf)
    except Exception:  # noqa: BLE001 (no fontTools, no font: the system's fonts will do)
        return "", ""
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'@font-face {{ font-family: "cogov-cjk"; src: url(data:font/otf;base64,{data}) format("opentype"); '
            f"font-display: block; }}\n", '"cogov-cjk"')


def render_html(comp, lang: str, table: Table, summary: Summary, figures: list[tuple[bytes | None, str, str]]) -> str:
    """The report as one self-contained HTML page; ``figures`` are (PNG bytes or None, id, caption)."""
    e = html.escape
    ref = table.names[0]
    body = [f"<h1>{e(t('report.title', lang))}</h1>", f'<p class="generated">{e(t("report.generated", lang))}</p>',
            f'<section id="settings"><h2>{e(t("section.settings", lang))}</h2><dl class="settings">']
    body += [f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in _settings(comp, lang)]
    body.append("</dl></section>")
    body.append(f'<section id="summary"><h2>{e(t("section.summary", lang))}</h2>')
    if summary.overview:
        body.append(f'<p class="lead">{e(_sentence_join(summary.overview, lang))}</p>')
    if summary.scorecard:
        body.append(f'<h3>{e(t("section.scorecard", lang))}</h3><ul class="findings">'
                    + "".join(f"<li>{e(s)}</li>" for s in summary.scorecard) + "</ul>")
    if summary.kpis:
        body.append(f'<h3>{e(t("section.kpis", lang))}</h3><ul class="findings">'
                    + "".join(f"<li>{e(s)}</li>" for s in summary.kpis) + "</ul>")
    if summary.reported:
        body.append(f'<h3 id="reported-vs-real">{e(t("section.reported", lang))}</h3>'
                    f"<p>{e(_sentence_join(summary.reported, lang))}</p>")
    body.append("</section>")
    body.append(f'<section id="kpi-table"><h2>{e(t("section.table", lang))}</h2><div class="table-wrap">'
                f'<table class="kpi"><thead><tr><th class="kpi">{e(t("table.kpi", lang))}</th>'
                f'<th class="kpi">{e(t("table.better", lang))}</th>')
    for nm in table.names:
        extra = f'<br><span class="ci">{e(t("table.reference", lang))}</span>' if nm == ref else ""
        cls = ' class="ref-col"' if nm == ref else ""
        body.append(f"<th{cls}>{e(scenario_label(nm, lang))}{extra}</th>")
    body.append("</tr></thead><tbody>")
    for k in table.kpis:
        body.append(f'<tr><td class="kpi">{e(kpi_header(k, lang))}</td><td class="dir">{e(_better_text(k, lang))}</td>')
        for nm in table.names:
            c = table.cells[(nm, k)]
            a, b = _cell_texts(k, c, nm == ref, lang)
            num, _, rest = a.partition(" ")
            cls = ["num"] + (["best"] if c.best else []) + (["ref-col"] if nm == ref else [])
            star = "★ " if c.best else ""
            cell = f'<span class="mean">{e(star + num)}</span>'
            if rest:
                cell += f' <span class="ci">{e(rest)}</span>'
            if b:
                cell += f'<span class="delta {c.verdict}">{e(b)}</span>'
            body.append(f'<td class="{" ".join(cls)}">{cell}</td>')
        body.append("</tr>")
    body.append(f'</tbody></table></div><p class="note">'
                f'{e(t("table.note", lang).format(reps=comp.reps, ref=scenario_label(ref, lang)))}</p></section>')
    body.append(f'<section id="figures"><h2>{e(t("section.figures", lang))}</h2>')
    for png, fig_id, caption in figures:
        if png is None:
            body.append(f'<p class="note" id="fig-{fig_id}">{e(caption)}</p>')
            continue
        data = base64.b64encode(png).decode("ascii")
        width = struct.unpack(">I", png[16:20])[0] * 100 // 150  # PNG width at 150 dpi, shown at 100 px/inch
        body.append(f'<figure id="fig-{fig_id}"><img alt="{e(caption)}" width="{width}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{e(caption)}</figcaption></figure>")
    body.append("</section>")
    text_only = re.sub(r"data:[^\"]*", "", "".join(body))  # every character shown, without the images
    face, family = _font_face(html.unescape(text_only) + t("report.title", lang))
    stack = f"{family}, {FONT_STACK}" if family else FONT_STACK
    css = face + CSS.replace("FONT_STACK", stack)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e(t('report.title', lang))}</title>\n<style>\n{css}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


# ------------------------------------------------------------------------------------------------
# writing
# ------------------------------------------------------------------------------------------------

def write_report(comp, out: Path, lang: str, network=None) -> list[Path]:
    """Write ``out/report.<lang>.md`` with its figures in ``out/figures/<lang>/*.png`` and the
    self-contained ``out/report.<lang>.html``, in ``lang`` ("en" or "zh"); returns the written paths.
    The report in the other language, if any, is left as it is.

    ``network``: the ``metrics.NetworkSnapshot`` of one run (for the organisational network figure),
    or None to leave that figure out. Files are written atomically: to a temporary folder inside ``out``,
    then moved in one by one.
    """
    from .figures import save

    check_lang(lang)
    if lang == "zh":
        cjk_font()  # RuntimeError naming `pip install mplfonts` before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md_name, html_name = report_files(lang)
    fig_dir = figures_folder(lang)
    tmp = Path(tempfile.mkdtemp(prefix=".cogov-report-", dir=out))
    try:
        (tmp / "figures").mkdir()
        table = kpi_cells(comp)
        summary = summarise(comp, lang, table)
        md_figs, html_figs = [], []
        for name, fig, caption in _figures(comp, lang, network):
            path = save(fig, tmp / "figures" / name, lang)
            md_figs.append((f"{fig_dir}/{name}", caption))
            html_figs.append((path.read_bytes(), name.removesuffix(".png"), caption))
        if network is None:
            md_figs.append(("", t("cap.network_missing", lang)))
            html_figs.append((None, "network", t("cap.network_missing", lang)))
        (tmp / md_name).write_text(render_markdown(comp, lang, table, summary, md_figs), encoding="utf-8")
        (tmp / html_name).write_text(render_html(comp, lang, table, summary, html_figs), encoding="utf-8")
        figures = out / fig_dir
        figures.mkdir(parents=True, exist_ok=True)
        written = []
        for f in sorted((tmp / "figures").iterdir()):
            os.replace(f, figures / f.name)
            written.append(figures / f.name)
        for name in FIGURE_FILES:  # a figure of an earlier report in this language that this one does not have
            if figures / name not in written:
                (figures / name).unlink(missing_ok=True)
        for name in (md_name, html_name):
            os.replace(tmp / name, out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["figures_folder", "kpi_cells", "kpi_table_text", "render_html", "render_markdown", "report_files",
           "summarise", "write_report"]

