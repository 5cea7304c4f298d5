"""The comparison report: which option does better than the reference, on what, and how sure we are.

``write_report`` writes ``report.<lang>.md`` (figures beside it in ``figures/<lang>/``: their labels
are in the report's language), ``report.<lang>.html`` (one self-contained file: figures as data
URIs, inline CSS, for Chinese an embedded subset of the CJK font; no external resource) and the KPI
table as ``kpis.<lang>.csv`` (and ``kpis.<lang>.xlsx`` where ``openpyxl`` is installed), so the
English and the Chinese report of one comparison live side by side in one folder.

The report opens with an executive summary: the options ranked, what each changes, their trade-offs
and the caveats of the study. Every sentence is computed from the tables of a ``Comparison``, whose
verdicts (``sim.experiments.compare``: better, worse, no important difference, uncertain, against
each KPI's minimum important difference, families of KPIs counted once) the report only words; the
wording comes from ``sim.report.i18n``.

Files are written into a temporary folder inside ``out`` and moved into place one by one with
``os.replace``, so an interrupted report leaves no half-written file.
"""

from __future__ import annotations

import base64
import html
import importlib.util
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
import pandas as pd

from ..registry import GROUPS, KINDS, KPIS, LEVERS, REPORT_KPIS, check_lang, families, family_label
from .i18n import cjk_font, display_width, fmt_number, join, kpi_header, kpi_kind, kpi_label, scenario_label, t

FIGURE_FILES = ("differences.png", "timeseries.png", "ladder.png", "cost.png", "reported.png", "network.png")


def report_files(lang: str) -> tuple[str, str]:
    """The names of the report in ``lang``: (Markdown, HTML), e.g. ("report.en.md", "report.en.html")."""
    check_lang(lang)
    return f"report.{lang}.md", f"report.{lang}.html"


def table_files(lang: str) -> tuple[str, str]:
    """The names of the KPI table of the report in ``lang``: (CSV, XLSX), e.g. ("kpis.en.csv", "kpis.en.xlsx")."""
    check_lang(lang)
    return f"kpis.{lang}.csv", f"kpis.{lang}.xlsx"


def figures_folder(lang: str) -> str:
    """The folder of the figures of the report in ``lang``, relative to the report: "figures/en"."""
    return f"figures/{check_lang(lang)}"


def _better(kpi: str) -> int:
    """The KPI's direction of better (``registry.KPIS``); 0 for a KPI the registry does not know."""
    return KPIS[kpi].better if kpi in KPIS else 0


def _finite(*values) -> bool:
    return all(v is not None and isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v)
               for v in values)


# ------------------------------------------------------------------------------------------------
# the KPI table
# ------------------------------------------------------------------------------------------------

#: The mark after a difference in the text tables, by verdict (``sim.experiments.compare.change``).
MARKS = {"better": " ✓", "worse": " ✗", "same": " ≈", "uncertain": " ?"}


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
    mid: float = float("nan")   # the KPI's minimum important difference, in its units
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
    """Means, CIs, paired differences, MIDs and verdicts of every KPI and scenario, and the best of each
    row (where the KPI has a direction and some option differs clearly)."""
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
                c.mid, c.verdict = float(d["mid"]), str(d["verdict"])
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
        clear = any(table.cells[(nm, kpi)].verdict in ("better", "worse") for nm in names[1:])
        if better and clear and np.isfinite(means).any():
            score = np.where(np.isfinite(means), means * better, -np.inf)
            top = score.max()
            if not np.allclose(score[np.isfinite(score)], top, rtol=1e-9, atol=1e-12):  # not all equal
                for nm, sc in zip(names, score, strict=True):
                    if np.isclose(sc, top, rtol=1e-9, atol=1e-12):
                        table.cells[(nm, kpi)].best = True
    return table


def table_frame(comp, table: Table, lang: str) -> pd.DataFrame:
    """The KPI table as one row per KPI and scenario, in the KPIs' own units (rates as shares 0-1) and
    at full precision, with the intervals the report shows (cut to the values a KPI can take): the
    table written beside the report (``kpis.<lang>.csv``)."""
    ref = table.names[0]
    rows = []
    for k in table.kpis:
        for nm in table.names:
            c = table.cells[(nm, k)]
            rows.append({"kpi": k, "label": kpi_label(k, lang), "family": family_label(KPIS[k].group, lang)
                         if KPIS[k].group else "", "unit": KPIS[k].unit, "better": _better(k), "scenario": nm,
                         "scenario_label": scenario_label(nm, lang), "reference": nm == ref, "n": c.n,
                         "mean": c.mean, "ci_low": c.lo, "ci_high": c.hi, "diff": c.diff, "diff_ci_low": c.dlo,
                         "diff_ci_high": c.dhi, "mid": c.mid, "verdict": "" if nm == ref else c.verdict})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------
# the summary, computed from the tables
# ------------------------------------------------------------------------------------------------

@dataclass
class Summary:
    """The report's prose, each part a list of sentences or list items."""

    lead: list[str]                    # how the options are ranked, what "clearly" means
    ranking: list[str]                 # one item per option, best first
    options: list[tuple[str, str]]     # (scenario, its description and what it changes), the reference first
    tradeoffs: list[str]
    caveats: list[str]
    families: list[str]                # one paragraph per family of KPIs
    reported: list[str]                # the gap between reported and real resolution


def _dif(kpi, v, lang, digits=None):
    return fmt_number(kpi, v, lang, signed=True, unit=True, diff=True, digits=digits)


def _ci_clause(kpi, lo, hi, lang, signed=True) -> str:
    """" (95% CI lo to hi)", or nothing when there is no interval (one replicate)."""
    if not _finite(lo, hi):
        return ""
    return t("sum.ci", lang).format(lo=fmt_number(kpi, lo, lang, signed=signed),
                                    hi=fmt_number(kpi, hi, lang, signed=signed))


def _paren(text: str, inner: str, lang: str) -> str:
    return f"{text} ({inner})" if lang == "en" else f"{text}（{inner}）"


def _sentence_join(parts: list[str], lang: str) -> str:
    return (" " if lang == "en" else "").join(parts)


def _diff_text(kpi: str, diff: float, lo: float, hi: float, lang: str, digits: int | None) -> str:
    """"+2.3 pp [−3.8, +8.4]": a paired difference and its interval (if it has one)."""
    ci = ""
    if _finite(lo, hi):
        ci = (f" [{fmt_number(kpi, lo, lang, signed=True, digits=digits)}, "
              f"{fmt_number(kpi, hi, lang, signed=True, digits=digits)}]")
    return _dif(kpi, diff, lang, digits) + ci


def _evidence(kpi: str, c: Cell, lang: str) -> str:
    """"Bounces −21 [−46, +3.5]": a KPI's paired difference and its interval."""
    return f"{kpi_label(kpi, lang)} {_diff_text(kpi, c.diff, c.dlo, c.dhi, lang, c.digits)}"


def _family_evidence(row, table: Table, lang: str, named: bool = True) -> str:
    """A family's verdict for one option in words: the member that shows it (both sides of a mixed
    family), after the family's name where it has members of its own (``named``) and the member's label
    does not already say it."""
    cell = table.cells[(row["scenario"], row["kpi"])]
    if row["verdict"] == "mixed":
        text = t("sum.mixed_item", lang).format(
            better=_evidence(row["kpi"], cell, lang),
            worse=_evidence(row["against"], table.cells[(row["scenario"], row["against"])], lang))
    else:
        text = _evidence(row["kpi"], cell, lang)
    family = family_label(row["family"], lang)
    if named and row["family"] in GROUPS and family.lower() not in kpi_label(row["kpi"], lang).lower():
        return f"{family}{'：' if lang == 'zh' else ': '}{text}"
    return text


def _count(items: list[str], lang: str) -> str:
    """"2 (a; b)", or "none"."""
    if not items:
        return t("sum.none", lang)
    return t("sum.count_list", lang).format(n=len(items), items=join(items, lang))


def _ranking(comp, table: Table, lang: str) -> list[str]:
    """One item per option, best first: its rank and the families it is clearly better and worse on."""
    fam = comp.families
    tied = comp.ranking["rank"].duplicated(keep=False)
    out = []
    for (_, r), is_tied in zip(comp.ranking.iterrows(), tied, strict=True):
        mine = fam[fam["scenario"] == r["scenario"]]

        def items(verdict, mine=mine):
            return [_family_evidence(row, table, lang) for _, row in mine[mine["verdict"] == verdict].iterrows()]
        parts = [t("rank.better", lang).format(items=_count(items("better"), lang)),
                 t("rank.worse", lang).format(items=_count(items("worse"), lang))]
        if r["mixed"]:
            parts.append(t("rank.mixed", lang).format(items=_count(items("mixed"), lang)))
        parts.append(t("rank.rest", lang).format(same=r["same"], uncertain=r["uncertain"], n=len(mine)))
        out.append(t("rank.row", lang).format(rank=r["rank"], s=scenario_label(r["scenario"], lang),
                                              tied=t("rank.tied", lang) if is_tied else "",
                                              parts=t("list.clause", lang).join(parts)))
    return out


def _answer(comp, lang: str, n: int) -> list[str]:
    """The answer first: the option ranked first (or those tied for it) and the next rank, with the number
    of the ``n`` areas each is clearly better and clearly worse in."""
    r, ref = comp.ranking, scenario_label(comp.names[0], lang)

    def items(rows):
        return t("list.clause", lang).join(
            t("rank.answer_item" if x["worse"] else "rank.answer_item_none", lang).format(s=scenario_label(x["scenario"], lang), ref=ref, better=x["better"],
                                               worse=x["worse"], n=n) for _, x in rows.iterrows())
    ranks = sorted(r["rank"].unique())
    top = r[r["rank"] == ranks[0]]
    out = [t("rank.answer" if len(top) == 1 else "rank.answer_tie", lang).format(items=items(top))]
    if len(ranks) > 1:
        out.append(t("rank.answer_next", lang).format(items=items(r[r["rank"] == ranks[1]])))
    return out


def _value(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)


def _options(comp, lang: str) -> list[tuple[str, str]]:
    """(scenario, text) for each scenario: its description, and for an option what it changes against
    the reference: levers (the registry's label and the cost or risk it carries), schedule entries and
    other settings."""
    out = []
    for i, sc in enumerate(comp.scenarios):
        name = comp.names[i]
        said = (lang == "zh" and sc.get("description_zh")) or sc.get("description")
        text = t("opt.description", lang).format(text=said or t("opt.no_description", lang))
        if i == 0:
            out.append((name, text))
            continue
        items = []
        for _, c in comp.changes[comp.changes["scenario"] == sc["name"]].iterrows():
            if c["kind"] == "lever":
                lever = LEVERS[c["name"]]
                item = t("opt.lever", lang).format(lever=lever.label(lang), before=_value(c["before"]),
                                                   after=_value(c["after"]), cost=lever.cost(lang))
                items.append(t("opt.from_day", lang).format(day=c["day"], item=item) if c["day"] > 0 else item)
            else:
                items.append(t("opt.setting", lang).format(setting=c["name"], before=_value(c["before"]),
                                                           after=_value(c["after"])))
        changes = (t("opt.changes", lang).format(items=t("list.clause", lang).join(items)) if items
                   else t("opt.no_changes", lang))
        out.append((name, _sentence_join([text, changes], lang)))
    return out


def _tradeoffs(comp, lang: str) -> list[str]:
    """Options clearly better on some family and clearly worse on another, and mixed families."""
    fam, out = comp.families, []
    for name in comp.ranking["scenario"]:
        mine = fam[fam["scenario"] == name]
        better = [family_label(f, lang) for f in mine.loc[mine["verdict"] == "better", "family"]]
        worse = [family_label(f, lang) for f in mine.loc[mine["verdict"] == "worse", "family"]]
        if better and worse:
            out.append(t("trade.row", lang).format(s=scenario_label(name, lang), better=join(better, lang),
                                                   worse=join(worse, lang)))
        for _, row in mine[mine["verdict"] == "mixed"].iterrows():
            out.append(t("trade.mixed", lang).format(s=scenario_label(name, lang),
                                                     family=family_label(row["family"], lang),
                                                     better=kpi_label(row["kpi"], lang),
                                                     worse=kpi_label(row["against"], lang)))
    return out or [t("trade.none", lang)]


def _mid_text(kpi: str, c: Cell, lang: str) -> str:
    return fmt_number(kpi, c.mid, lang, unit=True, diff=True, digits=c.digits)


def _families(comp, table: Table, lang: str) -> list[str]:
    """One paragraph per family of KPIs: its members with their MIDs, the reference's levels, and the
    options by verdict with the member that shows it."""
    ref = table.names[0]
    sep = t("list.clause", lang)
    out = []
    for family, members in families(table.kpis).items():
        cells = {k: table.cells[(ref, k)] for k in members}
        levels = sep.join(f"{kpi_label(k, lang)} {fmt_number(k, c.mean, lang, unit=True, digits=c.level_digits)}"
                          for k, c in cells.items())
        fields = dict(family=family_label(family, lang), ref=scenario_label(ref, lang), levels=levels)
        if family in GROUPS:
            parts = [t("fam.head", lang).format(members=sep.join(
                t("fam.member", lang).format(kpi=kpi_label(k, lang), mid=_mid_text(k, cells[k], lang))
                for k in members if _better(k)), **fields)]
        else:
            parts = [t("fam.head_one", lang).format(mid=_mid_text(family, cells[family], lang), **fields)]
        rows = comp.families[comp.families["family"] == family]
        for verdict in ("better", "worse", "mixed", "same", "uncertain", "unknown"):
            mine = rows[rows["verdict"] == verdict]
            if mine.empty:
                continue
            items = [scenario_label(r["scenario"], lang) if verdict == "same" else
                     _paren(scenario_label(r["scenario"], lang), _family_evidence(r, table, lang, named=False), lang)
                     for _, r in mine.iterrows()]
            parts.append(t(f"fam.{verdict}", lang).format(ref=scenario_label(ref, lang), items=join(items, lang)))
        out.append(_sentence_join(parts, lang))
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
        groups = {"better": [], "worse": [], "same": [], "uncertain": []}
        for _, row in comp.gap_diffs[comp.gap_diffs["scenario"] != ref].iterrows():
            item = lab(row["scenario"], lang)
            digits = diff_digits(k, row["ci_low"], row["ci_high"])
            if row["verdict"] in ("better", "worse", "uncertain"):
                item = _paren(item, _diff_text(k, row["diff"], row["ci_low"], row["ci_high"], lang, digits), lang)
            if row["verdict"] in groups:
                groups[row["verdict"]].append(item)
        for group, items in groups.items():
            if items:
                out.append(t(f"sum.gap_{group}", lang).format(ref=lab(ref, lang), items=join(items, lang),
                                                              mid=fmt_number(k, comp.gap_diffs["mid"].max(), lang,
                                                                             unit=True, diff=True)))
    return out


#: Verdicts that say something: a district whose interval is too wide (uncertain) is counted, not listed.
DEFINITE = ("better", "worse", "same")


def _districts(comp, lang: str) -> tuple[str, list[str]]:
    """The district results (``comp.districts``) where they differ from city-wide: an introduction and, per
    option, the districts whose definite verdict differs from the city's, with their difference, and how
    many more differ only by being uncertain. Nothing when the comparison has no district results."""
    d = comp.districts
    if d.empty:
        return "", []
    ref = scenario_label(comp.names[0], lang)
    zh = lang == "zh"
    intro = t("dist.intro", lang).format(ref=ref, n=d["district"].nunique(),
                                         kpis=join([kpi_label(k, lang) for k in d["kpi"].unique()], lang))
    items = []
    for name in comp.names[1:]:
        mine = d[(d["scenario"] == name) & d["differs"]]
        shown = mine[mine["verdict"].isin(DEFINITE)]
        rows = [t("dist.row", lang).format(
            district=r["name_zh"] if zh else r["name"].replace("_", " "), type=r["type_zh"] if zh else r["type"],
            kpi=kpi_label(r["kpi"], lang), verdict=t(f"verdict.{r['verdict']}", lang),
            diff=_diff_text(r["kpi"], r["diff"], r["ci_low"], r["ci_high"], lang,
                            diff_digits(r["kpi"], r["ci_low"], r["ci_high"])),
            city=t(f"verdict.{r['city_verdict']}", lang)) for _, r in shown.iterrows()]
        if len(mine) > len(shown):
            rows.append(t("dist.wide" if rows else "dist.only_wide", lang).format(k=len(mine) - len(shown)))
        s = scenario_label(name, lang)
        items.append(t("dist.option", lang).format(s=s, items=t("list.clause", lang).join(rows)) if rows
                     else t("dist.none", lang).format(s=s))
    return intro, items


def summarise(comp, lang: str, table: Table | None = None) -> Summary:
    """The plain-language summary: ranking, options, trade-offs, caveats, one paragraph per family of KPIs,
    and the gap between reported and real resolution. Every sentence is computed from ``comp``."""
    check_lang(lang)
    table = table or kpi_cells(comp)
    ref = scenario_label(table.names[0], lang)
    caveats = [t(f"caveat.{key}", lang).format(ref=ref, **values) for key, values in comp.caveats]
    if len(table.names) < 2:
        return Summary([t("sum.only_reference", lang).format(ref=ref)], [], _options(comp, lang), [], caveats, [],
                       _gap_sentences(comp, lang))
    lead = [t("rank.lead", lang).format(ref=ref, n=len(families(table.kpis)))]
    if comp.reps < 2:
        return Summary(lead, [], _options(comp, lang), [], caveats, _families(comp, table, lang),
                       _gap_sentences(comp, lang))
    if not comp.ranking["better"].any():
        lead.append(t("rank.none_better", lang).format(ref=ref))
    else:
        lead = _answer(comp, lang, len(families(table.kpis))) + lead
    return Summary(lead, _ranking(comp, table, lang), _options(comp, lang), _tradeoffs(comp, lang), caveats,
                   _families(comp, table, lang), _gap_sentences(comp, lang))


# ------------------------------------------------------------------------------------------------
# the KPI table as text
# ------------------------------------------------------------------------------------------------

def _cell_texts(kpi: str, c: Cell, ref: bool, lang: str) -> tuple[str, str]:
    """("mean [lo, hi]", "Δ +d [a, b] ✓") of a cell (the second empty for the reference); the mark
    after the difference is its verdict's (``MARKS``)."""
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
    return first, second + MARKS.get(c.verdict, "")


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
    lines.append(f"* {t('table.reference', lang)}{'. ' if lang == 'en' else '。'}" + _table_note(comp, lang))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# the report's parts
# ------------------------------------------------------------------------------------------------

def _settings(comp, lang: str, command: str | None) -> list[tuple[str, str]]:
    """(label, value) of the run settings and of where the report comes from: the code's version and
    git commit, and the command that makes it again."""
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
    commit = comp.code.get("git_commit")
    if commit is None:
        commit = t("settings.commit_unknown", lang)
    elif comp.code.get("git_dirty"):
        commit += t("settings.commit_dirty", lang)
    rows = [(t("settings.scenarios", lang), sep.join(items)),
            (t("settings.reps", lang), str(comp.reps)),
            (t("settings.days", lang), f"{comp.days:,}"),
            (t("settings.preset", lang), preset),
            (t("settings.seed", lang), str(comp.seed)),
            (t("settings.method", lang), t("settings.method_text", lang).format(ref=scenario_label(ref, lang))),
            (t("settings.version", lang), f"cogov {comp.code.get('cogov') or t('table.na', lang)}"),
            (t("settings.commit", lang), commit)]
    if command:
        rows.append((t("settings.command", lang), command))
    return rows


def _figures(comp, lang: str, network) -> list[tuple[str, object, str]]:
    """(file name, figure, caption) of each figure, numbered in order."""
    from . import figures as F
    ref = scenario_label(comp.names[0], lang)
    fields = dict(days=comp.days, reps=comp.reps, ref=ref)
    out = [("differences.png", F.differences(comp, lang), t("cap.differences", lang).format(**fields)),
           ("timeseries.png", F.timeseries_bands(comp, lang), t("cap.bands", lang).format(**fields)),
           ("ladder.png", F.escalation_ladder(comp, lang), t("cap.ladder", lang).format(**fields)),
           ("cost.png", F.cost_effectiveness(comp, lang), t("cap.cost", lang).format(**fields)),
           ("reported.png", F.reported_vs_real(comp, lang), t("cap.reported", lang).format(**fields))]
    if not comp.districts.empty:
        out.append(("districts.png", F.district_differences(comp, lang), t("cap.districts", lang).format(**fields)))
    if network is not None:
        out.append(("network.png", F.org_network(network, lang),
                    t("cap.network", lang).format(scenario=scenario_label(network.scenario, lang), seed=network.seed,
                                                  day=network.day)))
    return [(name, fig, t("fig.number", lang).format(n=i) + caption) for i, (name, fig, caption) in enumerate(out, 1)]


@dataclass
class Part:
    """A part of the report before the KPI table: a heading (``level`` 2 or 3) and its blocks, each
    ("p", text), ("lead", text), ("ul", items) or ("dl", [(term, text)]); a list item is a text or a
    (strong, text) pair."""

    id: str
    level: int
    title: str
    blocks: list[tuple[str, object]]


def _parts(comp, lang: str, summary: Summary, command: str | None) -> list[Part]:
    ref = comp.names[0]
    options = [(scenario_label(nm, lang) + (_paren("", t("settings.reference", lang), lang) if nm == ref else ""),
                text) for nm, text in summary.options]
    parts = [Part("summary", 2, t("section.summary", lang), [("lead", _sentence_join(summary.lead, lang))]),
             Part("ranking", 3, t("section.ranking", lang), [("ul", summary.ranking)]),
             Part("options", 3, t("section.options", lang), [("ul", options)]),
             Part("tradeoffs", 3, t("section.tradeoffs", lang), [("ul", summary.tradeoffs)]),
             Part("caveats", 3, t("section.caveats", lang), [("ul", summary.caveats)]),
             Part("settings", 2, t("section.settings", lang), [("dl", _settings(comp, lang, command))]),
             Part("families", 2, t("section.families", lang), [("ul", summary.families)]),
             Part("reported-vs-real", 3, t("section.reported", lang),
                  [("p", _sentence_join(summary.reported, lang))]),
             Part("districts", 2, t("section.districts", lang), list(zip(("p", "ul"), _districts(comp, lang),
                                                                           strict=True)))]
    return [p for p in parts if all(content for _, content in p.blocks)]


# ---- Markdown ------------------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_item(item, lang: str) -> str:
    return f"**{item[0]}**{'：' if lang == 'zh' else ': '}{item[1]}" if isinstance(item, tuple) else item


def render_markdown(comp, lang: str, table: Table, summary: Summary, figures: list[tuple[str, str]],
                    command: str | None = None) -> str:
    """The report as Markdown; ``figures`` are (relative path, caption)."""
    ref = table.names[0]
    L = [f"# {t('report.title', lang)}", "", t("report.generated", lang), ""]
    for part in _parts(comp, lang, summary, command):
        L += [f"{'#' * part.level} {part.title}", ""]
        for kind, content in part.blocks:
            if kind == "dl":
                L += [f"- **{k}**: {v}" if lang == "en" else f"- **{k}**：{v}" for k, v in content] + [""]
            elif kind == "ul":
                L += [f"- {_md_item(x, lang)}" for x in content] + [""]
            else:
                L += [content, ""]
    L += [f"## {t('section.table', lang)}", ""]
    head = [t("table.kpi", lang), t("table.better", lang), t("table.mid", lang)] + [
        scenario_label(nm, lang) + (f" ({t('table.reference', lang)})" if nm == ref else "") for nm in table.names]
    L.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
    L.append("|" + "---|" * 2 + "---:|" * (len(table.names) + 1))
    for k in table.kpis:
        row = [kpi_header(k, lang), _better_text(k, lang), _mid_text(k, table.cells[(ref, k)], lang)]
        for nm in table.names:
            c = table.cells[(nm, k)]
            a, b = _cell_texts(k, c, nm == ref, lang)
            if c.best:
                num, _, rest = a.partition(" ")
                a = f"**★ {num}** {rest}".rstrip()
            row.append(a + (f"<br>{b}" if b else ""))
        L.append("| " + " | ".join(_md_escape(x) for x in row) + " |")
    L += ["", _table_note(comp, lang), "", f"## {t('section.figures', lang)}", ""]
    for path, caption in figures:
        if path:
            L += [f"![{caption}]({path})", "", f"*{caption}*", ""]
        else:
            L += [f"*{caption}*", ""]
    return "\n".join(L)


def _table_note(comp, lang: str) -> str:
    csv_name, xlsx_name = table_files(lang)
    files = csv_name + (f", {xlsx_name}" if _can_write_xlsx() else "")
    return t("table.note", lang).format(reps=comp.reps, ref=scenario_label(comp.names[0], lang), files=files)


def _better_text(kpi: str, lang: str) -> str:
    b = _better(kpi)
    return {1: "↑ " + t("table.higher", lang), -1: "↓ " + t("table.lower", lang)}.get(b, t("table.neither", lang))


# ---- HTML ----------------------------------------------------------------------------------------

CSS = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d0d7de; --better: #0072b2; --worse: #b84a00; --bg: #f6f8fa; }
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
ul.caveats { border-left: 4px solid #e69f00; background: #fdf6e7; padding: 8px 14px 8px 2em; }
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
.delta.same, .delta.uncertain, .delta.unknown, .delta.up, .delta.down { color: var(--muted); }
td.best .mean { font-weight: 700; }
td.best { background: #eaf3fa !important; }
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


def _html_item(item, lang: str) -> str:
    e = html.escape
    return f"<strong>{e(item[0])}</strong>{'：' if lang == 'zh' else ': '}{e(item[1])}" if isinstance(item, tuple) \
        else e(item)


def _html_parts(parts: list[Part], lang: str) -> list[str]:
    """Each level-2 part a ``<section>`` with its id, each level-3 part a heading with its id inside it."""
    e = html.escape
    body, open_ = [], False
    for part in parts:
        if part.level == 2:
            body.append(("</section>" if open_ else "") + f'<section id="{part.id}"><h2>{e(part.title)}</h2>')
            open_ = True
        else:
            body.append(f'<h3 id="{part.id}">{e(part.title)}</h3>')
        for kind, content in part.blocks:
            if kind == "dl":
                body.append('<dl class="settings">' + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in content)
                            + "</dl>")
            elif kind == "ul":
                body.append(f'<ul class="findings {part.id}">' + "".join(f"<li>{_html_item(x, lang)}</li>" for x in content)
                            + "</ul>")
            else:
                body.append(f'<p class="{kind}">{e(content)}</p>')
    return body + (["</section>"] if open_ else [])


def render_html(comp, lang: str, table: Table, summary: Summary, figures: list[tuple[bytes | None, str, str]],
                command: str | None = None) -> str:
    """The report as one self-contained HTML page; ``figures`` are (PNG bytes or None, id, caption)."""
    e = html.escape
    ref = table.names[0]
    body = [f"<h1>{e(t('report.title', lang))}</h1>", f'<p class="generated">{e(t("report.generated", lang))}</p>']
    body += _html_parts(_parts(comp, lang, summary, command), lang)
    body.append(f'<section id="kpi-table"><h2>{e(t("section.table", lang))}</h2><div class="table-wrap">'
                f'<table class="kpi"><thead><tr><th class="kpi">{e(t("table.kpi", lang))}</th>'
                f'<th class="kpi">{e(t("table.better", lang))}</th><th>{e(t("table.mid", lang))}</th>')
    for nm in table.names:
        extra = f'<br><span class="ci">{e(t("table.reference", lang))}</span>' if nm == ref else ""
        cls = ' class="ref-col"' if nm == ref else ""
        body.append(f"<th{cls}>{e(scenario_label(nm, lang))}{extra}</th>")
    body.append("</tr></thead><tbody>")
    for k in table.kpis:
        body.append(f'<tr><td class="kpi">{e(kpi_header(k, lang))}</td><td class="dir">{e(_better_text(k, lang))}</td>'
                    f'<td class="num ci">{e(_mid_text(k, table.cells[(ref, k)], lang))}</td>')
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
    body.append(f'</tbody></table></div><p class="note">{e(_table_note(comp, lang))}</p></section>')
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

def _can_write_xlsx() -> bool:
    """Whether ``openpyxl`` (which pandas writes XLSX with) is installed; cogov does not depend on it."""
    return importlib.util.find_spec("openpyxl") is not None


def write_report(comp, out: Path, lang: str, network=None, command: str | None = None) -> list[Path]:
    """Write ``out/report.<lang>.md`` with its figures in ``out/figures/<lang>/*.png``, the
    self-contained ``out/report.<lang>.html`` and the KPI table ``out/kpis.<lang>.csv`` (and
    ``.xlsx`` where openpyxl is installed), in ``lang`` ("en" or "zh"); returns the written paths.
    The report in the other language, if any, is left as it is.

    ``network``: the ``metrics.NetworkSnapshot`` of one run (for the organisational network figure),
    or None to leave that figure out. ``command``: the command line that makes the report, which it
    quotes (none if None). Files are written atomically: to a temporary folder inside ``out``, then
    moved in one by one.
    """
    from .figures import save

    check_lang(lang)
    if lang == "zh":
        cjk_font()  # RuntimeError naming `pip install mplfonts` before anything is written
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    md_name, html_name = report_files(lang)
    csv_name, xlsx_name = table_files(lang)
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
        (tmp / md_name).write_text(render_markdown(comp, lang, table, summary, md_figs, command), encoding="utf-8")
        (tmp / html_name).write_text(render_html(comp, lang, table, summary, html_figs, command), encoding="utf-8")
        frame = table_frame(comp, table, lang)
        frame.to_csv(tmp / csv_name, index=False)
        tables = [csv_name]
        if _can_write_xlsx():
            frame.to_excel(tmp / xlsx_name, index=False)
            tables.append(xlsx_name)
        else:  # the table of an earlier report, written where openpyxl was installed, would be stale
            (out / xlsx_name).unlink(missing_ok=True)
        figures = out / fig_dir
        figures.mkdir(parents=True, exist_ok=True)
        written = []
        for f in sorted((tmp / "figures").iterdir()):
            os.replace(f, figures / f.name)
            written.append(figures / f.name)
        for name in FIGURE_FILES:  # a figure of an earlier report in this language that this one does not have
            if figures / name not in written:
                (figures / name).unlink(missing_ok=True)
        for name in (*tables, md_name, html_name):
            os.replace(tmp / name, out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = ["figures_folder", "kpi_cells", "kpi_table_text", "render_html", "render_markdown", "report_files",
           "summarise", "table_files", "table_frame", "write_report"]
