"""The findings of ``cogov reproduce`` rendered: the terminal table, the forest figure, FINDINGS.md.

Functions take the findings table (``sim.experiments.claims.findings_table``), the claims and the
study's settings (``meta``); nothing here runs or analyses a model.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .sensitivity import kept_section, with_section

VERDICT_COLORS = {"supported": "#2e7d32", "reversed": "#c62828", "not supported": "#616161",
                  "depends on parameters": "#ef6c00", "inconclusive": "#bdbdbd"}


def _row_label(r) -> str:
    arrow = "↑" if r["expected_sign"] == "+" else "↓"
    return f"{r['claim_id']} · {r['kpi']} — {r['test']} (claim {arrow})"


def forest_figure(table: pd.DataFrame):
    """Effects as % of the baseline mean with their Holm-adjusted CIs, one line per test, coloured by
    verdict; the shaded band around zero is the KPI's minimum important difference."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from .figures import style

    n = len(table)
    with style("en"):
        fig = Figure(figsize=(12, 0.42 * n + 1.8), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        y = np.arange(n)[::-1]
        prev = None
        for yi, (_, r) in zip(y, table.iterrows(), strict=True):
            color = VERDICT_COLORS[r["verdict"]]
            x, lo, hi = (100 * r[k] for k in ("relative_effect", "relative_ci_low", "relative_ci_high"))
            if prev is not None and r["claim_id"] != prev:
                ax.axhline(yi + 0.5, color="#dddddd", lw=0.8)
            prev = r["claim_id"]
            band = 100 * r["mid"] / abs(r["baseline_mean"]) if "mid" in r and r["baseline_mean"] else float("nan")
            if math.isfinite(band):
                ax.fill_betweenx([yi - 0.35, yi + 0.35], -band, band, color="#e0e0e0", lw=0)
            if math.isfinite(lo) and math.isfinite(hi):
                ax.plot([lo, hi], [yi, yi], color=color, lw=2.2, solid_capstyle="butt")
            if math.isfinite(x):
                ax.plot([x], [yi], "o", color=color, ms=6)
            else:
                ax.text(0, yi, "  n/a (no baseline mean)", va="center", fontsize=8, color="#555555")
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_yticks(y, [_row_label(r) for _, r in table.iterrows()], fontsize=8.5)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("effect, % of the baseline mean (point: mean of paired contrasts; bar: Holm-adjusted CI; "
                      "grey: ± the minimum important difference)\nclaim ↑/↓: the direction of the effect the claim "
                      "predicts")
        ax.set_title("The sources' claims tested (MODEL §10)", loc="left")
        handles = [Line2D([], [], color=VERDICT_COLORS[v], marker="o", lw=2.2, label=v) for v in VERDICT_COLORS]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="verdict")
        fig.canvas.draw()
    return fig


def _num(v: float) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.3g}" if a < 10 else f"{v:.1f}"
    return f"{v:.2g}" if a < 0.01 else f"{v:.3f}"


def effect_text(r) -> str:
    return f"{_num(r['effect'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"


def share_text(r) -> str:
    """"17 of 20 (85%)": members whose own verdict is supported; "" for a single parameter set."""
    n = int(r.get("members", 1) or 1)
    if n <= 1:
        return ""
    return f"{round(r['support_share'] * n)} of {n}"


def _pct(v: float) -> str:
    return f"{100 * v:+.1f}%" if math.isfinite(v) else "n/a"


def text_table(table: pd.DataFrame) -> str:
    """The findings as a plain-text table for the terminal."""
    head = ("claim", "experiment", "KPI", "claim predicts", "effect [CI]", "% of base", "MID", "members supported",
            "verdict")
    body = [(str(r["claim_id"]), r["test"], f"{r['kpi']} ({'↑' if r['better'] == 'higher' else '↓'} better)",
             r["claimed"], effect_text(r), _pct(r["relative_effect"]), _num(r["mid"]), share_text(r), r["verdict"])
            for _, r in table.iterrows()]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(tuple("-" * w for w in widths)), *map(line, body)])


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def markdown(table: pd.DataFrame, meta: dict, figure: str | None, claims, arm_texts: dict[str, str]) -> str:
    """FINDINGS.md: how it was made, the table, each claim's experiment, the figure, what is not supported.

    Args:
        table: the findings table.
        meta: how the study was made (command, date, version, commit, settings, runs, timing).
        figure: the forest figure's path relative to the markdown, or None.
        claims: the claims tested (``sim.experiments.claims.CLAIMS``).
        arm_texts: each arm's description in words, by name (``sim.experiments.claims.arm_text``).
    """
    small = meta["small"]
    lines = ["# Findings: the sources' claims tested by the model", ""]
    if small:
        lines += [f"> **Small run, not the reference findings**: {small}. Regenerate with "
                  "`cogov reproduce` (defaults: 20 ensemble members, city preset, 5 replicates, 365 days) for the reference.", ""]
    lines += [
        f"Generated by `{meta['command']}` on {meta['date']} with cogov {meta['version']}"
        + (f" (git {meta['commit'][:10]}{', with uncommitted changes to sim/ or scenarios/' if meta['dirty'] else ''})"
           if meta.get("commit") else "") + ".",
        "",
        f"- preset `{meta['preset']}` ({meta['residents']:,} residents), {meta['days']} simulated days, "
        f"{meta['reps']} replicates per arm, root seed {meta['seed']}; {meta['arms']} arms, {meta['runs']} runs "
        f"({meta['reused']} reused from an earlier invocation); {timing_text(meta)}.",
        "- " + members_text(meta),
        "- Replicate *r* runs with the same seed in every arm (common random numbers: the same city, residents "
        "and stream of candidate disputes), so each effect is a per-replicate paired contrast of arms; the "
        "interval is a paired-t confidence interval at Holm's step-down level among the tests of its claim (the "
        "test with the k-th smallest p-value of m gets 1 − 0.05/(m − k + 1); context rows 95%).",
        "- MID: the KPI's minimum important difference (`cogov kpis` lists each with its reason). In one "
        "parameter set a test is **supported** if its interval lies entirely beyond the MID on the side the claim "
        "predicts, **reversed** if entirely beyond it on the other side, **not supported** if it lies within ± "
        "the MID (an effect too small to matter), **inconclusive** otherwise (it crosses an edge of the MID). "
        "Across an ensemble, a verdict needs 80% of the members; when fewer than half of the members reach a "
        "verdict the test is **inconclusive**, otherwise it **depends on parameters** (and the parameters whose "
        "values go with the members' effects are named). Arms change only levers of the built-in `baseline` "
        "scenario (claim 6: one detection parameter); nothing is tuned to a verdict.",
        "- Effects are in the KPI's units (counts are of simulated cases over the run); \"% of base\" divides by "
        "the baseline arm's mean. ↑/↓ after a KPI: whether higher or lower is better; \"claim predicts\": "
        "whether the claim expects the experiment to make that KPI better or worse.",
        "",
        "## Results",
        "",
        "| claim | experiment | KPI | claim predicts | effect [CI] | % of base | MID | members supported | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        arrow = "↑" if r["better"] == "higher" else "↓"
        decided = f" ({r['decided_by']})" if r.get("decided_by") else ""
        lines.append(f"| {r['claim_id']} | {_md_escape(r['test'])} | `{r['kpi']}` {arrow} | {r['claimed']} "
                     f"| {effect_text(r)} | {_pct(r['relative_effect'])} | {_num(r['mid'])} | {share_text(r) or '-'} "
                     f"| **{r['verdict']}**{decided} |")
    lines += [""]
    if figure:
        lines += [f"![Effects as % of the baseline mean, with Holm-adjusted CIs and the MID, coloured by verdict]"
                  f"({figure})", ""]
    lines += ["## The claims and their experiments", ""]
    for c in claims:
        lines += [f"### {c.id}. {c.claim}", "",
                  f"*Sources ({c.seeds}):* {c.phrase}", "",
                  f"*Experiment:* {c.design}", "",
                  "*Arms:* " + "; ".join(arm_texts[a] for a in c.arms) + ".", "",
                  "*Tests:*", ""]
        for _, r in table[table["claim_id"] == c.id].iterrows():
            role = " *(context, not counted)*" if r["role"] == "context" else ""
            lines.append(f"- `{r['kpi']}` ({r['better']} is better), {r['test']} (`{r['contrast']}`){role}: "
                         f"the claim predicts {'a better' if r['claimed'] == 'better' else 'a worse'} value (sign "
                         f"{r['expected_sign']}); {effect_text(r)}, n = {r['n']} → **{r['verdict']}**.")
        lines += ["", f"Overall: {claim_summary(table, c.id)}.", ""]
    lines += ["## What the model does not support", "", not_supported_paragraph(table, claims), ""]
    return "\n".join(lines)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def not_supported_paragraph(table: pd.DataFrame, claims) -> str:
    """Which claims the model does not support, in plain words (from the tests' verdicts)."""
    full, none_, partial, reversed_ = [], [], [], []
    for c in claims:
        t = table[(table["claim_id"] == c.id) & (table["role"] == "test")]
        name = f"{c.id} ({c.short})"
        ok = t["verdict"] == "supported"
        if ok.all():
            full.append(name)
        elif not ok.any():
            none_.append(name)
        else:
            missing = t[~ok]
            where = [f"{k} ({e})" for k, e in zip(missing["kpi"], missing["test"], strict=True)]
            partial.append(f"claim {name}, not on " + _join(where))
        rev = t[t["verdict"] == "reversed"]
        if len(rev):
            reversed_.append(f"claim {name} on " + _join([f"{k} ({e})" for k, e in zip(rev["kpi"], rev["test"],
                                                                                      strict=True)]))
    if not (none_ or partial):
        return "At these settings the model supports every claim on every test."
    sentences = []
    if none_:
        sentences.append(f"The model supports none of the tests of claim{'s' if len(none_) > 1 else ''} "
                         f"{_join(none_)}.")
    if partial:
        sentences.append("It supports only in part " + "; ".join(partial) + ".")
    if reversed_:
        sentences.append("It finds the opposite of what the sources claim for " + "; ".join(reversed_) + ".")
    if full:
        sentences.append(f"Supported on every test: claim{'s' if len(full) > 1 else ''} {_join(full)}.")
    sentences.append("\"Not supported\" means the interval lies within the minimum important difference: an effect, "
                     "if any, too small to matter; \"inconclusive\" that it crosses an edge of the MID (more "
                     "replicates could tell); \"depends on parameters\" that the calibrated parameter sets disagree; "
                     "\"reversed\" that the interval lies entirely beyond the MID on the side opposite to the claim.")
    return " ".join(sentences)


def claim_summary(table: pd.DataFrame, claim_id: int) -> str:
    """A claim's verdicts in a few words: "supported (2 of 2)", "reversed on bounces"..."""
    t = table[(table["claim_id"] == claim_id) & (table["role"] == "test")]
    n = len(t)
    sup = int((t["verdict"] == "supported").sum())
    rev = t[t["verdict"] == "reversed"]
    if sup == n:
        return f"supported ({sup} of {n} tests)"
    text = f"supported on {sup} of {n} tests" if sup else f"not supported (0 of {n} tests)"
    if len(rev):
        text += "; reversed on " + ", ".join(f"{k} ({e})" for k, e in zip(rev["kpi"], rev["test"], strict=True))
    return text


def members_text(meta: dict) -> str:
    """How many calibrated parameter sets the study ran, in words."""
    n = int(meta.get("members") or 1)
    if n <= 1:
        return ("One parameter set: the committed calibration's best point (`scenarios/calibration/fitted.toml`); "
                "the intervals hold simulation noise only, not the calibration's uncertainty.")
    return (f"{n} members of the calibrated ensemble (`scenarios/calibration/posterior.parquet`, drawn by weight), "
            "each running every arm; the effect is the mean of the members' effects, its interval over the members "
            "(the average effect across the calibration's uncertainty), and \"members supported\" counts the "
            "members whose own test is supported.")


def timing_text(meta: dict) -> str:
    text = f"wall time {meta['wall']:.0f} s"
    if meta["reused"] and meta.get("compute_total"):
        text += (f" for this invocation; the runs took {meta['compute_total']:.0f} s of wall time over "
                 f"{meta['invocations']} invocation{'s' if meta['invocations'] > 1 else ''} that computed runs")
    return text


def _write_text(path: Path, text: str) -> None:
    from ..io import atomic_write_bytes
    atomic_write_bytes(path, text.encode("utf-8"))


def write_findings(table: pd.DataFrame, meta: dict, out: Path, findings: Path | None, claims,
                   arm_texts: dict[str, str]) -> list[Path]:
    """findings.csv, the figure and FINDINGS.md in ``out``; the markdown (and its figure) also at
    ``findings``; returns the paths written."""
    from .figures import save

    out.mkdir(parents=True, exist_ok=True)
    written = []
    csv = out / "findings.csv"
    _write_text(csv, table.to_csv(index=False))
    written.append(csv)
    fig_path = out / "findings_effects.png"
    tmp = out / ".findings_effects.png.tmp"
    save(forest_figure(table), tmp, "en")
    os.replace(tmp, fig_path)
    written.append(fig_path)
    md = out / "FINDINGS.md"
    _write_text(md, markdown(table, meta, fig_path.name, claims, arm_texts))
    written.append(md)
    if findings is not None:
        findings.parent.mkdir(parents=True, exist_ok=True)
        beside = findings.with_name(f"{findings.stem}_effects.png")
        if beside.resolve() != fig_path.resolve():
            shutil.copyfile(fig_path, beside)
            written.append(beside)
        if findings.resolve() != md.resolve():
            # the section of cogov sensitivity --findings stays as it is
            kept = kept_section(findings.read_text(encoding="utf-8")) if findings.is_file() else ""
            text = markdown(table, meta, beside.name, claims, arm_texts)
            _write_text(findings, with_section(text, kept) if kept else text)
            written.append(findings)
    return written
