"""The sources' seven claims (MODEL §10), each tested by a designed experiment (``cogov reproduce``).

Every experiment is made of *arms*: the built-in ``baseline`` scenario with a few levers changed
(for claim 6, one detection parameter). Arms are data (``ARMS``); the claims are data too
(``CLAIMS``): each claim lists *rows*, and a row is a KPI plus a linear contrast of arms (weights,
e.g. +1 reform −1 baseline, or the interaction of a factorial design). Every unique arm runs once
per replicate, and replicate r has the same seed in every arm (common random numbers), so the
baseline is shared by all claims and each row's effect is a per-replicate *paired* contrast with a
paired-t confidence interval at Holm's step-down level among the tests of its claim.

The study runs on the calibrated ensemble (issue 14): each of ``members`` parameter sets drawn from
it (``sim.experiments.ensemble``) runs every arm. In one member a row's verdict (``verdict``)
compares its interval with the KPI's minimum important difference (``registry.Kpi.mid``) on the
side the claim predicts: supported, reversed, not supported (within the MID) or inconclusive.
Across the members (``ensemble_verdict``) a verdict needs a large majority (``MAJORITY``);
otherwise the test depends on the parameters (named by ``deciding_parameters``) or, when most
members cannot tell, is inconclusive. Nothing here is tuned to a verdict: the arms are the
scenarios' lever values, the KPIs are the model's summary.

Runs go through the sweep engine into a resumable store (``OUT/runs``); everything after the runs
works on the stored tables (``analyse``), so the findings can be recomputed without re-running.

The findings table is rendered by ``sim.report.findings`` (``findings.csv``, the forest plot,
``FINDINGS.md``); the command is ``sim.cli.reproduce``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write_bytes
from ..params import Scenario, load_scenario
from ..registry import KPIS
from .analysis import paired_ci, verdict
from .compare import compare_tasks
from .store import SweepStore
from .sweep import fingerprint, run_tasks

# ------------------------------------------------------------------------------------------------
# The design, as data
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """A value given relative to the baseline's: ``Scale(2.0)`` doubles it (robust to recalibration)."""

    factor: float


@dataclass(frozen=True)
class Arm:
    """The baseline with ``changes`` ({section: {field: value or Scale}}); ``scenario`` names the
    built-in scenario whose lever changes these are, if any (checked by the tests)."""

    label: str
    changes: dict
    scenario: str | None = None


# the five governance modes of claim 7 (五治融合, seed 003, 004); each sets its own levers
POLITICS = {"party_attention": 0.6, "party_integration": 0.8}       # 政治: party leadership, coordination
SELF_GOVERNANCE = {"self_governance": 0.8, "volunteer_rate": 0.13}  # 自治: councils, volunteers
RULE_OF_LAW = {"responsibility_clarity": 0.8}                        # 法治: clear responsibility lists
MORAL = {"moral_education": 0.5}                                     # 德治
SMART = {"info_sharing": 0.9, "automation": 0.5}                     # 智治 (= 一网统管, claim 1)

#: Every arm, by name. The baseline's own values are those of scenarios/baseline.toml.
ARMS: dict[str, Arm] = {
    "baseline": Arm("baseline (fragmented city)", {}, "baseline"),
    "info_sharing": Arm("一网统管 / 智治: shared data, half automated", {"levers": SMART}, "info_sharing"),
    "devolution_only": Arm("authority devolved, nothing follows (d 0.8, r 0)",
                           {"levers": {"authority_devolution": 0.8}}, "empowerment_only"),
    "resources_only": Arm("resources follow at baseline devolution (d 0.1, r 0.8)",
                          {"levers": {"resources_follow": 0.8}}),
    "devolution_resources": Arm("authority devolved, staff and money follow (d 0.8, r 0.8)",
                                {"levers": {"authority_devolution": 0.8, "resources_follow": 0.8}}, "empowerment"),
    "incentives": Arm("outcome evaluation (实绩评价)",
                      {"levers": {"w_process": 0.1, "w_closures": 0.2, "w_satisfaction": 0.6, "w_local": 0.2,
                                  "accountability": 0.15}}, "incentives"),
    "fengqiao": Arm("枫桥经验: councils, mediation, volunteers, moral education",
                    {"levers": {"self_governance": 0.8, "social_org_funding": 0.5, "volunteer_rate": 0.10,
                                "moral_education": 0.5}}, "fengqiao"),
    "social_mobilisation": Arm("social forces mobilised: purchased services, volunteers, party members",
                               {"levers": {"social_org_funding": 0.8, "volunteer_rate": 0.13, "party_attention": 0.5,
                                           "party_integration": 0.8}}, "social_mobilisation"),
    "patrols_doubled": Arm("grid patrols doubled (排查): twice the baseline's patrol share, taken from case time",
                           {"detection": {"patrol_share": Scale(2.0)}}),
    "politics": Arm("政治: party attention 0.6, integration 0.8", {"levers": POLITICS}),
    "self_governance": Arm("自治: councils 0.8, volunteers 13%", {"levers": SELF_GOVERNANCE}),
    "rule_of_law": Arm("法治: responsibility clarity 0.8", {"levers": RULE_OF_LAW}),
    "moral_education": Arm("德治: moral education 0.5", {"levers": MORAL}),
    "five_modes": Arm("五治融合: the five modes together",
                      {"levers": {**POLITICS, **SELF_GOVERNANCE, **RULE_OF_LAW, **MORAL, **SMART}}),
}

#: Sections an arm may change: levers, plus detection for claim 6's early-detection experiment.
ARM_SECTIONS = ("levers", "detection")

@dataclass(frozen=True)
class Row:
    """One test: the ``kpi`` of a contrast of arms (``weights``); ``claimed`` is +1 when the claim
    says the contrast is *better* on this KPI (by its direction in ``registry.KPIS``), -1 when it
    says *worse*. A ``context`` row gets a verdict too but does not count in the claim's overall
    result."""

    experiment: str
    kpi: str
    weights: dict
    claimed: int = 1
    context: bool = False  # shown for context, not a test of the claim (not in the claim's overall verdict)


@dataclass(frozen=True)
class Claim:
    id: int
    claim: str
    short: str         # a few words, for sentences
    seeds: str
    phrase: str        # the sources' words
    design: str        # the experiment, in words
    arms: tuple
    rows: tuple


def _vs_base(arm: str) -> dict:
    return {arm: 1.0, "baseline": -1.0}


#: The 2x2 interaction of devolution and resources (d1r1 − d1r0 − d0r1 + d0r0).
DEVOLUTION_INTERACTION = {"devolution_resources": 1.0, "devolution_only": -1.0, "resources_only": -1.0,
                          "baseline": 1.0}
FIVE_MODES = ("politics", "self_governance", "rule_of_law", "moral_education", "info_sharing")
#: (combined − baseline) − Σ (single − baseline) = combined − Σ single + 4 baseline.
FIVE_MODES_INTERACTION = {"five_modes": 1.0, **{m: -1.0 for m in FIVE_MODES}, "baseline": float(len(FIVE_MODES) - 1)}

CLAIMS: tuple[Claim, ...] = (
    Claim(1, "Information sharing improves cross-department coordination: fewer bounces, faster resolution",
          "information sharing",
          "seed 002, 004",
          "“信息共享通报机制” as a key of 协同联动 (seed 002); "
          "“依托网格化管理和信息化平台，调度指挥各方力量资源” (seed 004)",
          "Baseline against the `info_sharing` scenario's levers (一网统管: info_sharing 0.9, automation 0.5).",
          ("baseline", "info_sharing"),
          (Row("info sharing − baseline", "bounces", _vs_base("info_sharing")),
           Row("info sharing − baseline", "median_days_to_resolve", _vs_base("info_sharing")))),
    Claim(2, "Devolving authority helps only when people and money follow; authority alone on overloaded "
             "grassroots staff can make things worse",
          "devolution needs resources",
          "seed 001",
          "“坚决做到权随事转、人随事走、钱随事拨 … 切实改变属地‘权小责大’工作现状” (seed 001)",
          "2×2 factorial: authority_devolution {0.1 (baseline), 0.8} × resources_follow {0.0 (baseline), 0.8}. "
          "Devolution alone is claimed to make things worse, devolution with resources better, and the "
          "interaction (d0.8r0.8 − d0.8r0 − d0.1r0.8 + baseline) to be positive on a higher-is-better KPI "
          "(resources matter more when authority is devolved).",
          ("baseline", "devolution_only", "resources_only", "devolution_resources"),
          (Row("devolution alone − baseline", "resolved_per_detected", _vs_base("devolution_only"), claimed=-1),
           Row("devolution with resources − baseline", "resolved_per_detected", _vs_base("devolution_resources")),
           Row("interaction devolution × resources", "resolved_per_detected", DEVOLUTION_INTERACTION),
           Row("devolution alone − baseline", "median_days_to_resolve", _vs_base("devolution_only"), claimed=-1),
           Row("devolution with resources − baseline", "median_days_to_resolve",
               _vs_base("devolution_resources")))),
    Claim(3, "Outcome-based, incentive-compatible evaluation beats trace-based evaluation",
          "outcome evaluation",
          "seed 002",
          "“考核评估工作的重心也应从注重痕迹检查转变为以实绩评价为主” (seed 002)",
          "Baseline (traces 0.6, closure counts 0.3, satisfaction 0.1, accountability 0.3) against the "
          "`incentives` scenario's levers (traces 0.1, closures 0.2, satisfaction 0.6, streets' rating 0.2, "
          "accountability 0.15).",
          ("baseline", "incentives"),
          (Row("outcome evaluation − baseline", "resolved_per_detected", _vs_base("incentives")),
           Row("outcome evaluation − baseline", "closed_superficially", _vs_base("incentives")),
           Row("outcome evaluation − baseline", "satisfaction_mean", _vs_base("incentives")))),
    Claim(4, "Local self-governance and mediation keep disputes from escalating",
          "Fengqiao: self-governance and mediation",
          "seed 001",
          "“坚持做到‘矛盾不上交，责任不推诿’，把矛盾调解作为解决问题的前置程序” (seed 001, 枫桥经验)",
          "Baseline against the `fengqiao` scenario's levers (self-governance 0.8, purchased mediation 0.5, "
          "volunteers 10%, moral education 0.5).",
          ("baseline", "fengqiao"),
          (Row("Fengqiao − baseline", "escalations", _vs_base("fengqiao")),
           Row("Fengqiao − baseline", "erupted", _vs_base("fengqiao")))),
    Claim(5, "Mobilising social forces relieves grassroots resource shortage",
          "social mobilisation",
          "seed 004",
          "“社区工作者数量明显不足，处于超负荷运行状态” against “志愿服务队…有效整合了基层力量” (seed 004)",
          "Baseline against the `social_mobilisation` scenario's levers (purchased services 0.8, volunteers 13%, "
          "party attention 0.5, integration 0.8). Relief is read as a lower load on community workers "
          "(worker_utilisation_mean: share of their time taken) and more cases resolved.",
          ("baseline", "social_mobilisation"),
          (Row("social mobilisation − baseline", "worker_utilisation_mean", _vs_base("social_mobilisation")),
           Row("social mobilisation − baseline", "resolved_per_detected", _vs_base("social_mobilisation")))),
    Claim(6, "Early detection at the source shortens the road from brewing to eruption",
          "early detection",
          "seed 000, 001",
          "“从矛盾酝酿到矛盾集中爆发，周期越来越短” (seed 000); “把矛盾纠纷化解在萌芽状态” (seed 001)",
          "Baseline against grid workers spending twice the baseline's share of their time on patrols "
          "(detection.patrol_share ×2, 0.15 → 0.30 at the default; 矛盾纠纷排查), the time coming out of "
          "their case work. No lever sets patrol time, so this arm changes the detection parameter itself. "
          "Time to detection is the median, over detected cases, of days from a case's emergence to its "
          "detection (median_days_to_detect).",
          ("baseline", "patrols_doubled"),
          (Row("patrols doubled − baseline", "erupted", _vs_base("patrols_doubled")),
           Row("patrols doubled − baseline", "median_days_to_detect", _vs_base("patrols_doubled")))),
    Claim(7, "The five modes combined (五治融合) do better than the sum of their parts",
          "五治融合 synergy",
          "seed 003, 004",
          "“须更好实现政治引领、法治保障、德治教化、自治调节、智治支撑五方面作用的联动” (seed 003); "
          "“五治融合（政治、自治、法治、德治、智治）” (seed 004)",
          "Seven arms: baseline; each mode alone — 政治 (party attention 0.6, integration 0.8), 自治 "
          "(self-governance 0.8, volunteers 13%), 法治 (responsibility clarity 0.8), 德治 (moral education 0.5), "
          "智治 (info sharing 0.9, automation 0.5) — and all five together. The claim is tested by the "
          "interaction (combined − baseline) − Σ (single − baseline), paired per replicate: positive on a "
          "higher-is-better KPI means more than the sum of the parts. The combined effect against the baseline "
          "is shown for context.",
          ("baseline", *FIVE_MODES, "five_modes"),
          (Row("interaction: all five − sum of singles", "resolved_per_detected", FIVE_MODES_INTERACTION),
           Row("interaction: all five − sum of singles", "escalations", FIVE_MODES_INTERACTION),
           Row("all five − baseline (context)", "resolved_per_detected", _vs_base("five_modes"), context=True),
           Row("all five − baseline (context)", "escalations", _vs_base("five_modes"), context=True))),
)

#: A test's verdicts: in one parameter set (a member), from its confidence interval and the KPI's
#: minimum important difference (MID); across the ensemble, from the members' verdicts.
MEMBER_VERDICTS = ("supported", "reversed", "not supported", "inconclusive")
VERDICTS = ("supported", "reversed", "not supported", "depends on parameters", "inconclusive")
#: Across the ensemble, a verdict needs this share of members ("a large majority"); when fewer
#: than half of the members reach any verdict of their own, the test is inconclusive (more
#: replicates are needed), otherwise the members disagree and it depends on the parameters.
MAJORITY = 0.8
DECIDED = 0.5
#: A parameter "decides" a test that depends on parameters when the rank correlation of its value
#: with the members' effects is at least this in size.
DECIDES = 0.5
DEFAULT_REPS = 5
DEFAULT_MEMBERS = 20
DEFAULT_PRESET = "city"
REFERENCE_MEMBERS = DEFAULT_MEMBERS
#: the settings of the reference findings (docs/FINDINGS.md)
REFERENCE = dict(preset=DEFAULT_PRESET, reps=DEFAULT_REPS, days=365, members=DEFAULT_MEMBERS)


def arm_names(claims=CLAIMS) -> list[str]:
    """Every arm the claims use, once, baseline first (in order of first use)."""
    names = ["baseline"]
    for c in claims:
        for a in c.arms:
            if a not in names:
                names.append(a)
    return names


# ------------------------------------------------------------------------------------------------
# Pure analysis: verdicts and contrasts on tables
# ------------------------------------------------------------------------------------------------


def ensemble_verdict(member_verdicts) -> tuple[str, dict]:
    """The verdict across the ensemble from the members' verdicts (``MAJORITY``, ``DECIDED``), and
    the share of members with each verdict."""
    v = list(member_verdicts)
    shares = {k: (sum(x == k for x in v) / len(v) if v else 0.0) for k in MEMBER_VERDICTS}
    for k in ("supported", "reversed", "not supported"):
        if shares[k] >= MAJORITY:
            return k, shares
    if 1.0 - shares["inconclusive"] < DECIDED:
        return "inconclusive", shares
    return "depends on parameters", shares


def holm_levels(p_values, confidence: float = 0.95) -> list[float]:
    """Holm's step-down confidence levels for tests with these p-values: the test with the k-th
    smallest p-value of m gets 1 − α / (m − k + 1) (α = 1 − ``confidence``), so the family's
    intervals control the familywise error as Holm's procedure does (NaN p-values count as 1)."""
    alpha = 1.0 - confidence
    p = [1.0 if not math.isfinite(x) else float(x) for x in p_values]
    order = sorted(range(len(p)), key=lambda i: p[i])
    levels = [confidence] * len(p)
    for k, i in enumerate(order):
        levels[i] = 1.0 - alpha / (len(p) - k)
    return levels


def t_p_value(values) -> float:
    """Two-sided p-value of a paired t-test of no effect (NaN with fewer than two values)."""
    from scipy import stats

    d = np.asarray(values, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return float("nan")
    sd = float(d.std(ddof=1))
    if sd == 0:
        return 0.0 if d.mean() != 0 else 1.0
    return float(2 * stats.t.sf(abs(d.mean()) / (sd / math.sqrt(len(d))), len(d) - 1))


def contrast_values(summaries: pd.DataFrame, weights: dict, kpi: str) -> pd.Series:
    """Per replicate, Σ weight × KPI of the arm (``summaries`` has columns arm, replicate, kpi).
    Replicates where an arm is missing or its KPI undefined are left out."""
    wide = summaries.pivot(index="replicate", columns="arm", values=kpi)
    cols = list(weights)
    if any(c not in wide.columns for c in cols):
        return pd.Series(dtype=float)
    wide = wide[cols].astype(float).dropna()
    return (wide * pd.Series(weights, dtype=float)).sum(axis=1)


def _relative(value: float, base: float) -> float:
    return value / base if math.isfinite(base) and base != 0 else float("nan")


def member_tests(summaries: pd.DataFrame, claims=CLAIMS, confidence: float = 0.95) -> pd.DataFrame:
    """Every test of every claim in one parameter set (``summaries`` of one member): the paired
    contrast's mean, its p-value, its Holm-adjusted interval over the tests of its claim (context
    rows are not in the family and keep ``confidence``), the KPI's MID and the verdict."""
    rows = []
    for c in claims:
        cells = []
        for r in c.rows:
            vals = contrast_values(summaries, r.weights, r.kpi).to_numpy()
            base = summaries[(summaries["arm"] == "baseline")][r.kpi].astype(float)
            cells.append((r, vals, float(base.mean()) if len(base) else float("nan")))
        tests = [i for i, (r, _, _) in enumerate(cells) if not r.context]
        levels = [confidence] * len(cells)
        for i, level in zip(tests, holm_levels([t_p_value(cells[i][1]) for i in tests], confidence), strict=True):
            levels[i] = level
        for (r, vals, base_mean), level in zip(cells, levels, strict=True):
            effect, lo, hi, n = paired_ci(vals, level)
            kpi = KPIS[r.kpi]
            mid = kpi.mid.of(base_mean)
            rows.append({"claim_id": c.id, "test": r.experiment, "kpi": r.kpi, "effect": effect, "ci_low": lo,
                         "ci_high": hi, "ci_level": level, "p_value": t_p_value(vals), "mid": mid,
                         "baseline_mean": base_mean, "n": n,
                         "verdict": verdict(lo, hi, kpi.better, r.claimed, mid)})
    return pd.DataFrame(rows)


def findings_table(summaries: pd.DataFrame, claims=CLAIMS, confidence: float = 0.95,
                   members: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per test of every claim, across the ensemble.

    ``summaries`` has columns arm, replicate, the KPIs and, for a study over several calibrated
    parameter sets, ``member``; ``members`` (one row per member, its parameter values) lets a test
    that depends on parameters name those that decide it. With one member, the row is that
    member's test (effect, Holm-adjusted paired-t interval over its replicates, verdict). With
    several: ``effect`` is the mean of the members' effects and its interval a Holm-adjusted t
    interval over the members (the average effect across the calibrated uncertainty);
    ``member_q10``/``member_q90`` give the members' spread; ``support_share`` and
    ``reversed_share`` the share of members whose own verdict is supported or reversed; the
    verdict is ``ensemble_verdict`` of the members' verdicts.
    """
    if "member" not in summaries:
        summaries = summaries.assign(member=0)
    per_member = {m: member_tests(g, claims, confidence) for m, g in summaries.groupby("member")}
    n_members = len(per_member)
    stacked = pd.concat([t.assign(member=m) for m, t in per_member.items()], ignore_index=True)
    rows = []
    for c in claims:
        for r in c.rows:
            part = stacked[(stacked["claim_id"] == c.id) & (stacked["test"] == r.experiment)
                           & (stacked["kpi"] == r.kpi)]
            kpi = KPIS[r.kpi]
            effects = part["effect"].to_numpy(float)
            if n_members == 1:
                one = part.iloc[0]
                effect, lo, hi, level, mid = one["effect"], one["ci_low"], one["ci_high"], one["ci_level"], one["mid"]
                decided = one["verdict"]
                shares = {k: float(decided == k) for k in MEMBER_VERDICTS}
            else:
                level = float(part["ci_level"].median())
                effect, lo, hi, _ = paired_ci(effects, level)
                mid = float(np.nanmedian(part["mid"])) if part["mid"].notna().any() else float("nan")
                decided, shares = ensemble_verdict(part["verdict"])
            base_mean = float(part["baseline_mean"].mean())
            finite = effects[np.isfinite(effects)]
            rows.append({
                "claim_id": c.id, "claim": c.claim, "role": "context" if r.context else "test",
                "test": r.experiment, "contrast": contrast_text(r.weights),
                "kpi": r.kpi, "better": "higher" if kpi.better > 0 else "lower",
                "claimed": "better" if r.claimed > 0 else "worse",
                "expected_sign": "+" if kpi.better * r.claimed > 0 else "-",
                "effect": effect, "ci_low": lo, "ci_high": hi, "ci_level": level, "mid": mid,
                "baseline_mean": base_mean,
                "relative_effect": _relative(effect, base_mean), "relative_ci_low": _relative(lo, base_mean),
                "relative_ci_high": _relative(hi, base_mean),
                "member_q10": float(np.quantile(finite, 0.1)) if len(finite) else float("nan"),
                "member_q90": float(np.quantile(finite, 0.9)) if len(finite) else float("nan"),
                "n": int(part["n"].min()), "members": n_members,
                "support_share": shares["supported"], "reversed_share": shares["reversed"],
                "verdict": decided,
                "decided_by": deciding_parameters(part, members) if decided == "depends on parameters" else ""})
    return pd.DataFrame(rows)


def deciding_parameters(part: pd.DataFrame, members: pd.DataFrame | None) -> str:
    """The parameters whose values go with the members' effects (rank correlation at least
    ``DECIDES`` in size), strongest first: "handling.skill_street (+0.71)"; "" if none or unknown."""
    if members is None or len(part) < 3:
        return ""
    effects = part.set_index("member")["effect"].astype(float)
    found = []
    for name in members.columns:
        x = members[name].reindex(effects.index).astype(float)
        if x.nunique() > 1 and effects.nunique() > 1:
            rho = float(x.corr(effects, method="spearman"))
            if abs(rho) >= DECIDES:
                found.append((abs(rho), f"{name} ({rho:+.2f})"))
    return ", ".join(t for _, t in sorted(found, reverse=True))


def contrast_text(weights: dict) -> str:
    """``{"a": 1, "b": -1, "baseline": 4}`` -> "a − b + 4·baseline"."""
    parts = []
    for i, (name, w) in enumerate(weights.items()):
        sign = "−" if w < 0 else "+"
        mag = abs(w)
        term = name if mag == 1 else f"{mag:g}·{name}"
        parts.append((f"{sign} " if i else ("−" if w < 0 else "")) + term)
    return " ".join(parts)


# ------------------------------------------------------------------------------------------------
# Building and running the arms
# ------------------------------------------------------------------------------------------------


def build_arm(base: Scenario, name: str, arm: Arm) -> Scenario:
    """``base`` with the arm's changes, named after the arm; only ``ARM_SECTIONS`` may change."""
    data = base.model_dump()
    for section, values in arm.changes.items():
        if section not in ARM_SECTIONS:
            raise ValueError(f"arm {name!r} changes {section!r}; arms may change only {', '.join(ARM_SECTIONS)}")
        for key, value in values.items():
            if key not in data[section]:
                raise ValueError(f"arm {name!r}: unknown {section} field {key!r}")
            data[section][key] = data[section][key] * value.factor if isinstance(value, Scale) else value
    data["name"] = name
    data["description"], data["description_zh"] = arm.label, ""
    return load_scenario(data)


def build_arms(preset: str, days: int | None, claims=CLAIMS, base: Scenario | None = None) -> list[Scenario]:
    """Every arm of ``claims`` on ``base`` (default: the built-in baseline at ``preset`` and ``days``)."""
    base = base if base is not None else load_scenario("baseline", preset=preset, days=days)
    return [build_arm(base, n, ARMS[n]) for n in arm_names(claims)]


def build_study(preset: str, days: int | None, members: int = 0, seed: int = 1, posterior=None,
                claims=CLAIMS) -> tuple[list[list[Scenario]], pd.DataFrame | None]:
    """The arms of every member: with ``members`` 0, one set of arms on the baseline (the committed
    calibration's best point); else ``members`` parameter sets drawn from the calibrated ensemble
    (``sim.experiments.ensemble``), each with all the arms. Returns (arms per member, each member's
    parameter values or None)."""
    base = load_scenario("baseline", preset=preset, days=days)
    if not members:
        return [build_arms(preset, days, claims, base)], None
    from .ensemble import draw_members, load_posterior, member_scenario, parameter_columns

    table = load_posterior(posterior)
    rows = draw_members(table, members, seed)
    values = table.loc[rows, parameter_columns(table)].reset_index(drop=True)
    return [build_arms(preset, days, claims, member_scenario(base, table, r)) for r in rows], values


def study_spec(arms: list[list[Scenario]], reps: int, seed: int, values: pd.DataFrame | None = None) -> dict:
    first = arms[0]
    spec = {"kind": "reproduce", "arms": [a.name for a in first], "reps": reps, "seed": seed,
            "preset": first[0].preset, "days": first[0].days}
    if values is not None:
        spec["members"] = values.to_dict(orient="records")
    return spec


def study_tasks(arms: list[list[Scenario]], reps: int, seed: int) -> list[dict]:
    """Member m's arm a is point m × arms + a; replicate r has the same seed in every arm and member
    (common random numbers; a set drawn twice shares its runs)."""
    return compare_tasks([a for member in arms for a in member], reps, seed)


def run_study(arms: list[list[Scenario]], reps: int, out: Path, seed: int = 1, executor: str = "processes",
              workers: int | None = None, scheduler: str | None = None, progress: bool = True,
              values: pd.DataFrame | None = None):
    """Run (or resume) every member × arm × replicate into the store at ``out``."""
    tasks = study_tasks(arms, reps, seed)
    spec = study_spec(arms, reps, seed, values)
    manifest = {"name": "reproduce", "spec": spec, "root_seed": seed, "fingerprint": fingerprint(spec, tasks),
                "scenarios": [a.model_dump(mode="json") for a in arms[0]]}
    return run_tasks(tasks, out, manifest, executor, workers, scheduler, progress, "reproduce")


def load_summaries(out: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The stored runs' summaries with ``arm`` and ``member`` columns (from the store's tables only),
    and each member's parameter values (None for a study of the fitted point alone)."""
    store = SweepStore(out)
    spec = store.manifest()["spec"]
    names = spec["arms"]
    summaries = store.summaries()
    summaries["arm"] = [names[p % len(names)] for p in summaries["point"]]
    summaries["member"] = [p // len(names) for p in summaries["point"]]
    values = pd.DataFrame(spec["members"]) if spec.get("members") else None
    return summaries, values


def analyse(out: Path, claims=CLAIMS) -> pd.DataFrame:
    """The findings table of a finished study folder."""
    summaries, values = load_summaries(out)
    return findings_table(summaries, claims, members=values)

# ------------------------------------------------------------------------------------------------
# The study's settings and its cost
# ------------------------------------------------------------------------------------------------


def small_note(preset: str, reps: int, days: int, members: int = REFERENCE_MEMBERS) -> str:
    """How these settings fall short of the reference findings' (``REFERENCE``), in words; "" if they do not."""
    diffs = []
    if members < REFERENCE["members"]:
        diffs.append("the fitted point alone" if members <= 1 else f"{members} ensemble members")
    if preset != REFERENCE["preset"]:
        diffs.append(f"preset {preset}")
    if reps < REFERENCE["reps"]:
        diffs.append(f"{reps} replicates")
    if days < REFERENCE["days"]:
        diffs.append(f"{days} days")
    return ", ".join(diffs)


def record_timing(out: Path, seconds: float, computed: int) -> dict:
    """Add this invocation's run time to ``OUT/timing.json`` (wall seconds spent computing runs, summed
    over the invocations that computed any), so a resumed study still reports what its runs cost."""
    path = out / "timing.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {"run_seconds": 0.0, "invocations": 0}
    if computed:
        data = {"run_seconds": data["run_seconds"] + seconds, "invocations": data["invocations"] + 1}
        atomic_write_bytes(path, json.dumps(data).encode("utf-8"))
    return data


def arm_text(name: str, base: Scenario | None = None) -> str:
    """An arm in words: its name, label and changes (a ``Scale`` also as its value at ``base``)."""
    arm = ARMS[name]
    if not arm.changes:
        return f"`{name}`: {arm.label}"
    parts = []
    for section, values in arm.changes.items():
        for key, v in values.items():
            if isinstance(v, Scale):
                now = getattr(getattr(base, section), key) if base is not None else None
                shown = f"×{v.factor:g}" + (f" = {now * v.factor:g}" if now is not None else "")
            else:
                shown = f"{v:g}"
            parts.append(f"{key if section == 'levers' else f'{section}.{key}'} {shown}")
    return f"`{name}`: {arm.label} ({', '.join(parts)})"
