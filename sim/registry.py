"""The lever registry and the KPI registry: what each lever and each KPI is, declared once.

``LEVERS`` has one ``Lever`` per field of ``params.Levers`` (its range and unit are read from
the schema, so they cannot disagree with what a scenario may set); ``KPIS`` has one ``Kpi`` per
number that ``metrics.summary`` returns, plus the daily-series columns that the report and the
app label. The CLI (``cogov run``, ``results``, ``sensitivity``, ``levers``, ``kpis``), the
comparison report, ``cogov reproduce``, the app and the text catalogue (``sim.report.i18n``) read
them; named KPI lists (which KPIs a table shows, in which order) are defined here too.

This module imports nothing under ``sim`` but ``params`` and nothing heavy, so anything may read
it cheaply.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

from .params import Levers, Scenario

#: The mechanism modules of ``sim/mechanisms/`` (one per stage of the day, MODEL §8, plus the
#: completeness of reporting that several stages read).
MECHANISMS: tuple[str, ...] = ("emergence", "residents", "detection", "hotline", "capacity", "routing", "handling",
                               "coordination", "deadlines", "closures", "network", "evaluation", "information")

#: Stages that read the completeness of reporting that ``burden_reduction`` and ``automation`` set
#: in ``information``.
INFORMATION_READERS: tuple[str, ...] = ("detection", "routing")

#: Units of levers and KPIs, in English and Chinese (``cogov levers``/``kpis``, report headers).
UNIT_LABELS: dict[str, dict[str, str]] = {
    # levers
    "0-1": {"en": "0-1", "zh": "0-1"},
    "multiplier": {"en": "multiplier", "zh": "倍数"},
    "share": {"en": "share", "zh": "比例"},
    # KPIs
    "cases": {"en": "cases", "zh": "件"},
    "events": {"en": "events", "zh": "次"},
    "residents": {"en": "residents", "zh": "人"},
    "communities": {"en": "communities", "zh": "个"},
    "streets": {"en": "streets", "zh": "个"},
    "days": {"en": "days", "zh": "天"},
    "person-days": {"en": "person-days", "zh": "人天"},
    "yuan": {"en": "yuan", "zh": "元"},
    "yuan per resolved case": {"en": "yuan per resolved case", "zh": "元/件"},
    "per worker-year": {"en": "per worker-year", "zh": "每人每年"},
    "per staff-year": {"en": "per staff-year", "zh": "每人每年"},
    "yuan per resident per year": {"en": "yuan per resident per year", "zh": "元/人/年"},
    "per 1,000 residents per year": {"en": "per 1,000 residents per year", "zh": "每千人每年"},
    "per resident per year": {"en": "per resident per year", "zh": "每人每年"},
    "per 100,000 residents per year": {"en": "per 100,000 residents per year", "zh": "每十万人每年"},
}


#: The languages of labels and texts.
LANGS = ("en", "zh")


def check_lang(lang: str) -> str:
    """``lang`` if it is one of ``LANGS``, else ValueError."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: use one of {', '.join(LANGS)}")
    return lang


def unit_label(unit: str, lang: str) -> str:
    """A unit's text in ``lang``; an unknown unit is shown as it is."""
    return UNIT_LABELS.get(unit, {}).get(check_lang(lang), unit)


# ------------------------------------------------------------------------------------------------
# levers
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lever:
    """A reform lever (MODEL §5).

    Attributes:
        name: the field of ``params.Levers`` (and of a scenario's ``[levers]`` table).
        en, zh: its label.
        low, high: the values a scenario may set (the schema's bounds).
        unit: the unit of its value (the schema description's ``[...]``).
        mechanisms: the modules of ``MECHANISMS`` whose rules read it. ``information`` stands
            for the information quality, which ``INFORMATION_READERS`` read in turn.
        cost_en, cost_zh: the cost or risk it must carry (MODEL §5's "cost / risk that must
            exist"), in words.
        cost_params: the schema fields (``section.field``) that set the size of that cost or
            risk; empty where it is not priced by a parameter but emerges from the mechanisms
            (queues, learning).
    """

    name: str
    en: str
    zh: str
    low: float
    high: float
    unit: str
    mechanisms: tuple[str, ...]
    cost_en: str
    cost_zh: str
    cost_params: tuple[str, ...]

    def label(self, lang: str) -> str:
        return self.zh if check_lang(lang) == "zh" else self.en

    def cost(self, lang: str) -> str:
        return self.cost_zh if check_lang(lang) == "zh" else self.cost_en


def _bounds(name: str) -> tuple[float, float]:
    """The [low, high] a ``Levers`` field accepts (its ge/gt and le/lt constraints)."""
    low, high = -math.inf, math.inf
    for m in Levers.model_fields[name].metadata:
        for attr in ("ge", "gt"):
            if getattr(m, attr, None) is not None:
                low = float(getattr(m, attr))
        for attr in ("le", "lt"):
            if getattr(m, attr, None) is not None:
                high = float(getattr(m, attr))
    return low, high


def _unit(name: str) -> str:
    """The unit in brackets in a ``Levers`` field's description ("... [0-1] (seed 004)")."""
    found = re.search(r"\[([^\]]+)\]", Levers.model_fields[name].description or "")
    if not found:
        raise ValueError(f"levers.{name}: its description names no [unit]")
    return found.group(1)


def _lever(name, en, zh, mechanisms, cost_en, cost_zh, cost_params=()) -> Lever:
    low, high = _bounds(name)
    return Lever(name, en, zh, low, high, _unit(name), tuple(mechanisms), cost_en, cost_zh, tuple(cost_params))


#: Every lever, in the schema's order. Where each acts is read from the code: authority
#: thresholds in placement (routing) and staff moved (capacity); whistles in placement and
#: queue priority (handling); data entry is added to a case's work when a grassroots handler
#: takes it, which placement does (routing).
LEVERS: dict[str, Lever] = {lv.name: lv for lv in (
    _lever("authority_devolution", "Authority to the grassroots", "赋权：权力下放到街道社区",
           ("routing", "capacity"),
           "more work lands on grassroots staff", "更多工作落到基层人员身上"),
    _lever("resources_follow", "Staff and money follow the work", "人随事走、钱随事拨",
           ("capacity",),
           "budget-neutral: taken from departments' capacity; funded: new posts (added money)",
           "预算中性：从职能部门的人力中抽调；追加投入：新增编制（新增财政资金）",
           ("workforce.transferable_dept_staff", "costs.funding", "costs.staff_day")),
    _lever("whistle_power", "Streets' whistles", "街乡吹哨、部门报到",
           ("routing", "handling"),
           "departments' own queues wait", "部门自身的案件排队等待"),
    _lever("burden_reduction", "Burden reduction", "减负：减轻社区行政负担",
           ("capacity", "information"),
           "less top-down reporting: platform data and dispatchers' routing suffer unless automated",
           "自上而下的报送减少：除非自动采集，平台数据和派单准确性受损",
           ("workforce.reporting_loss",)),
    _lever("w_process", "Evaluation weight: process traces", "考核权重：痕迹",
           ("evaluation",),
           "process weight eats time (paperwork)", "痕迹权重占用工作时间（填表留痕）"),
    _lever("w_closures", "Evaluation weight: closure rate", "考核权重：办结率",
           ("evaluation",),
           "count-based weights invite superficial closure", "按数量考核诱发表面办结"),
    _lever("w_satisfaction", "Evaluation weight: satisfaction", "考核权重：群众满意度",
           ("evaluation",),
           "the effort it calls for costs the units (MODEL §5 names no cost of its own)",
           "所要求的工作投入对单位有成本（MODEL §5未列其特有成本）",
           ("evaluation.effort_cost",)),
    _lever("w_local", "Weight of the street's rating of departments", "街道评价部门的考核权重",
           ("evaluation", "routing"),
           "departments answer whistles sooner, so their own queues wait", "部门更快响应吹哨，自身排队案件等待"),
    _lever("accountability", "Accountability for escalations", "问责：上交与激化扣分",
           ("evaluation",),
           "heavy accountability for escalation invites concealment (cases held that then erupt)",
           "对上交问责过重诱发瞒报（压案不报，终致激化）"),
    _lever("incentive_strength", "Strength of incentives", "考核激励强度",
           ("evaluation",),
           "amplifies whatever the weights reward, gaming included", "放大考核所奖励的一切，包括表面文章"),
    _lever("info_sharing", "Information sharing", "信息共享（一网统管）",
           ("network", "routing", "detection", "coordination"),
           "data-entry time per case unless automated; platform cost per resident and per unit",
           "除非自动采集，每件案件需录入数据；平台按人口和接入单位计费",
           ("workforce.data_entry_days", "costs.platform", "costs.platform_unit")),
    _lever("automation", "Automated data entry", "自动采集数据（智治）",
           ("information", "routing"),
           "cost of the automation", "自动采集的费用",
           ("costs.automation",)),
    _lever("party_attention", "Party coordination attention", "党委统筹协调力度",
           ("coordination", "capacity", "routing"),
           "attention is finite; over-centralising queues cases (referred cases wait for a meeting)",
           "注意力有限；过度集中使案件排队等待联席会议",
           ("handling.meeting_slots", "handling.meeting_interval")),
    _lever("party_integration", "Party work reaching governance", "党建引领融入治理（避免两张皮）",
           ("coordination", "capacity"),
           "attention is finite (meeting slots)", "注意力有限（联席会议名额）",
           ("handling.meeting_slots",)),
    _lever("social_org_funding", "Purchased social services", "购买社会组织服务",
           ("capacity",),
           "budget", "财政预算",
           ("costs.social_org_budget",)),
    _lever("volunteer_rate", "Volunteers (share of residents)", "志愿者占居民比例",
           ("capacity",),
           "volunteers' reliability: only part of the pledged days is given", "志愿者不稳定：承诺的服务天数只兑现一部分",
           ("residents.volunteer_reliability",)),
    _lever("self_governance", "Resident councils", "自治：居民议事会",
           ("capacity",),
           "councils fail on types they cannot settle", "议事会无法化解超出其能力的纠纷",
           ("handling.authority_self", "handling.skill_self")),
    _lever("responsibility_clarity", "Clear responsibility lists", "法治：权责清单清晰度",
           ("routing", "coordination"),
           "drafting cost (fixed, once)", "编制清单的一次性成本",
           ("costs.drafting_days", "costs.staff_day")),
    _lever("moral_education", "Moral education", "德治：道德教化",
           ("emergence", "handling"),
           "slow, small; programme cost", "见效慢、作用小；项目费用",
           ("emergence.moral_ramp_days", "emergence.moral_effect", "costs.moral_programme")),
    _lever("hotline_reach", "12345 hotline as the one number", "接诉即办：12345热线覆盖",
           ("emergence", "hotline"),
           "needs brought forward load the units' queues (induced demand); waits then cost trust",
           "更多诉求被提出，加重各单位排队（诱发需求）；等待又损耗信任",
           ("residents.ask_cost_hotline",)),
    _lever("ranking_pressure", "Monthly ranking by the three rates", "“三率”月度排名压力",
           ("evaluation", "hotline"),
           "units answer to the callbacks: superficial closures that callers do not see through pay",
           "各单位对回访负责：未被来电人识破的表面办结反而得分",
           ("hotline.p_superficial_seen",)),
)}


def schema_field(dotted: str):
    """The pydantic field of a scenario at ``section.field`` (KeyError if there is none)."""
    section, _, name = dotted.partition(".")
    model = Scenario.model_fields[section].annotation
    return model.model_fields[name]


# ------------------------------------------------------------------------------------------------
# KPIs
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mid:
    """A minimum important difference (issue 14): the smallest change of a KPI that a policy team
    would act on. ``value`` is in the KPI's own units, or, when ``relative``, a share of the
    baseline's value (for totals that grow with the city); ``reason`` says where it comes from."""

    value: float
    relative: bool
    reason: str

    def of(self, baseline: float) -> float:
        """The MID in the KPI's units, given the baseline's value (NaN if relative and it is unknown)."""
        if not self.relative:
            return self.value
        return self.value * abs(baseline) if math.isfinite(baseline) else float("nan")

    def text(self) -> str:
        return f"{self.value:.0%} of the baseline" if self.relative else f"{self.value:g}"


@dataclass(frozen=True)
class Kind:
    """How the numbers of a kind of KPI are shown: ``scale`` (rates are shown in per cent), the
    decimals of the report, the plain-text format of ``cogov run``, the values a KPI of the kind
    can take (the report cuts confidence intervals of levels to them), and the kind's minimum
    important difference (``mid``; a KPI may declare its own)."""

    name: str
    scale: float
    decimals: int
    fmt: str
    low: float
    high: float
    mid: Mid


#: rate: a fraction, shown in per cent (differences in percentage points); days; count: a total
#: per run; index: 0-1; per_year: a yearly rate per resident or worker; yuan.
#: The minimum important differences are judgements, each with its reason; ``cogov kpis`` lists them
#: and docs/FINDINGS.md states them beside the verdicts that use them.
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("rate", 100.0, 1, "{:.3f}", 0.0, 1.0,
         Mid(0.01, False, "1 percentage point: the published rates (C3, C5, C8) are given to about a point, and a "
                          "smaller change would not show in any official statistic")),
    Kind("days", 1.0, 1, "{:.1f}", 0.0, math.inf,
         Mid(1.0, False, "1 day: time limits and the hotline's deadlines are counted in whole days (C12)")),
    Kind("count", 1.0, 1, "{:,.0f}", 0.0, math.inf,
         Mid(0.05, True, "5% of the baseline: yearly official counts vary by about that much without any reform "
                         "(C1: 8.4-9 M disputes a year, about ±3.5% around the mean)")),
    Kind("index", 1.0, 3, "{:.3f}", 0.0, 1.0,
         Mid(0.02, False, "0.02 on the 0-1 scale: the 95% sampling error of a satisfaction survey of about "
                          "2,000 respondents (±2 points), below which a survey could not tell the change")),
    Kind("per_year", 1.0, 3, "{:.3f}", 0.0, math.inf,
         Mid(0.01, False, "0.01 a year: one point of turnover, the precision of the published ~20% (C9)")),
    Kind("yuan", 1.0, 0, "{:,.0f}", 0.0, math.inf,
         Mid(0.05, True, "5% of the baseline: below a typical year's change of a district's budget line")),
)}


@dataclass(frozen=True)
class Kpi:
    """A KPI (MODEL §7).

    Attributes:
        name: the key of ``summary()`` (or, with ``daily``, the column of ``timeseries()``).
        en, zh: its label.
        unit: the unit of the raw value (a rate is a share 0-1, though shown in per cent).
        better: +1 higher is better, -1 lower is better, 0 neither (a context figure, an input,
            or a measure whose direction depends on why it moved).
        fmt: ``str.format`` spec for plain-text tables (``cogov run``).
        kind: one of ``KINDS``: how the report shows it.
        scales_with_population: an extensive total, growing in proportion to the size of the
            simulated city (counts of simulated cases and events, person-days, yuan); false for
            rates, shares, days, indices and per-resident figures. Counts are of simulated
            cases (each stands for ``population_scale`` real ones); person-days and yuan are
            at real scale.
        daily: a column of the daily time series, not a key of ``summary()``.
        own_mid: the KPI's own minimum important difference, where its kind's does not fit.
        group: the ``GROUPS`` family it belongs to ("" if none): KPIs of one family measure one
            fact, so the comparison report counts the family once.
    """

    name: str
    en: str
    zh: str
    unit: str
    better: int
    fmt: str
    kind: str
    scales_with_population: bool
    daily: bool = False
    own_mid: Mid | None = None
    group: str = ""

    def label(self, lang: str) -> str:
        return self.zh if check_lang(lang) == "zh" else self.en

    @property
    def mid(self) -> Mid:
        """The minimum important difference of this KPI (its own, else its kind's)."""
        return self.own_mid or KINDS[self.kind].mid

    @property
    def range(self) -> tuple[float, float]:
        """The values the KPI can take."""
        return KINDS[self.kind].low, KINDS[self.kind].high


def _kpi(name, en, zh, unit, better, kind, scales, fmt=None, daily=False, group="") -> Kpi:
    return Kpi(name, en, zh, unit, better, fmt or KINDS[kind].fmt, kind, scales, daily, group=group)


@dataclass(frozen=True)
class Group:
    """A family of KPIs that measure one fact from several sides (issue 15): the comparison report
    judges an option on the family once, not once per member. ``reason`` says why they are one fact."""

    name: str
    en: str
    zh: str
    reason: str

    def label(self, lang: str) -> str:
        return self.zh if check_lang(lang) == "zh" else self.en


#: The families of ``Kpi.group``.
GROUPS: dict[str, Group] = {g.name: g for g in (
    Group("resolution", "Resolution", "实际解决",
          "the resolution rate and resolution per detected case count the same resolved cases"),
    Group("speed", "Time to resolve", "办理时效", "the median and the 90th percentile of one distribution of times"),
    Group("containment", "Containment at the grassroots", "矛盾就地化解",
          "where cases are resolved and how often they are passed up are one fact: a case escalated is one the "
          "grassroots did not settle"),
    Group("eruptions", "Eruptions", "矛盾激化", "an eruption is a petition or a collective incident"),
    Group("trust", "Residents' trust and satisfaction", "群众信任与满意",
          "trust and grievance move with the satisfaction of residents' cases and with their waits"),
    Group("workforce", "Community workers' burden", "社区工作者负担",
          "turnover follows burnout, which follows a load above 0.9, and so does rushed work"),
    Group("departments", "Cases needing departments", "涉部门案件",
          "resolution and satisfaction of the same cases that needed a department"),
    Group("coordination", "Passing the buck", "推诿扯皮",
          "a case routed to the wrong department comes back as a bounce"),
)}


KPIS: dict[str, Kpi] = {k.name: k for k in (
    # the run
    _kpi("residents", "Residents (simulated)", "模拟居民数", "residents", 0, "count", True),
    _kpi("communities", "Communities", "社区数", "communities", 0, "count", True),
    _kpi("days", "Days reported", "报告天数", "days", 0, "days", False, fmt="{:,.0f}"),
    _kpi("burn_in", "Burn-in days before day 0 (not reported)", "第0天前的预热天数（不报告）", "days", 0, "days", False,
         fmt="{:,.0f}"),
    # counts of cases and events (directions on counts that depend on how many cases arose are 0)
    _kpi("cases_total", "New cases in the period", "期内新发案件", "cases", 0, "count", True),
    _kpi("cases_open_start", "Open at day 0 (from the burn-in)", "第0天未结案件（预热期遗留）", "cases", 0, "count", True),
    _kpi("detected", "Cases detected", "已发现案件", "cases", 0, "count", True),
    _kpi("resolved", "Resolved", "实际解决", "cases", 0, "count", True),
    # a superficial closure is a failure reported as a success; every reopening is one coming back worse
    _kpi("closed_superficially", "Superficial closures (events)", "表面办结次数", "events", -1, "count", True),
    _kpi("reopened", "Reopened after superficial closure", "表面办结后重新启动", "events", -1, "count", True),
    _kpi("superficial_end", "Closed superficially", "表面办结", "cases", -1, "count", True),
    _kpi("erupted", "Erupted (petition or incident)", "激化（上访或群体性事件）", "cases", -1, "count", True,
         group="eruptions"),
    # fading is harmless, giving up is not: no direction
    _kpi("withdrawn", "Faded or given up", "自行消散或放弃", "cases", 0, "count", True),
    # fewer open cases can mean more outcomes or more eruptions and withdrawals: no direction
    _kpi("open_end", "Still open", "仍未办结", "cases", 0, "count", True),
    # rates and times
    _kpi("resolution_rate", "Resolution rate", "实际解决率", "share", 1, "rate", False, group="resolution"),
    _kpi("resolved_per_detected", "Resolved per detected case", "已发现案件解决率", "share", 1, "rate", False,
         group="resolution"),
    # what an agency would report: superficial closures inflate it, so higher is not better in itself
    _kpi("closure_rate_reported", "Reported closure rate", "上报办结率", "share", 0, "rate", False),
    _kpi("median_days_to_resolve", "Median days to resolve", "解决用时中位数", "days", -1, "days", False,
         group="speed"),
    _kpi("p90_days_to_resolve", "90th percentile of days to resolve", "解决用时90百分位数", "days", -1, "days", False,
         group="speed"),
    _kpi("median_days_to_detect", "Median days to detect", "发现用时中位数", "days", -1, "days", False),
    _kpi("share_resolved_grassroots", "Resolved at grassroots", "基层解决占比", "share", 1, "rate", False,
         group="containment"),
    # between the grassroots (better) and above the street (worse): no direction
    _kpi("share_resolved_street", "Resolved at street", "街道解决占比", "share", 0, "rate", False, group="containment"),
    _kpi("share_resolved_above_street", "Resolved above street", "街道以上解决占比", "share", -1, "rate", False,
         group="containment"),
    _kpi("escalations", "Escalations", "逐级上报次数", "events", -1, "count", True, group="containment"),
    _kpi("escalations_to_street", "Escalations to the street", "上报至街道次数", "events", -1, "count", True,
         group="containment"),
    _kpi("escalations_to_district", "Escalations to the district", "上报至区次数", "events", -1, "count", True,
         group="containment"),
    _kpi("escalations_to_city", "Escalations to the city", "上报至市次数", "events", -1, "count", True,
         group="containment"),
    _kpi("bounces", "Bounces (passing the buck)", "推诿退回次数", "events", -1, "count", True, group="coordination"),
    _kpi("routing_accuracy", "Routing accuracy", "派单准确率", "share", 1, "rate", False, group="coordination"),
    # a tool, not an outcome
    _kpi("whistles", "Whistles", "吹哨次数", "events", 0, "count", True),
    # the network acts (MODEL §12.2): whistles answered, how fast, against the pass-up route
    _kpi("whistle_answer_rate", "Whistles answered in time", "吹哨按时报到率", "share", 1, "rate", False),
    _kpi("whistle_delay_mean", "Days to a department's answer to a whistle", "吹哨后部门报到天数", "days", -1, "days",
         False),
    _kpi("passup_delay_mean", "Days to a department on the pass-up route", "上交途径到达部门天数", "days", -1, "days",
         False),
    # inputs and state of the network: judged by what they do, so no direction for the platform
    _kpi("platform_share", "Units on the shared platform (end)", "接入共享平台的单位占比（期末）", "share", 0, "rate",
         False),
    _kpi("tie_strength_mean", "Working ties between units (end)", "单位间协作关系强度（期末）", "0-1", 1, "index", False),
    _kpi("petitions", "Petitions", "越级上访", "cases", -1, "count", True, group="eruptions"),
    _kpi("collective_incidents", "Collective incidents", "群体性事件", "cases", -1, "count", True, group="eruptions"),
    _kpi("backlog_end", "Long-pending cases at city level (end)", "积案数（期末）", "cases", -1, "count", True),
    _kpi("trust_mean_end", "Residents' trust (end)", "居民信任度（期末）", "0-1", 1, "index", False, group="trust"),
    _kpi("grievance_mean_end", "Residents' grievance (end)", "居民怨气（期末）", "0-1", -1, "index", False,
         group="trust"),
    _kpi("satisfaction_mean", "Satisfaction", "群众满意度", "0-1", 1, "index", False, group="trust"),
    _kpi("dept_resolution_rate", "Resolution rate, cases needing departments", "涉部门案件解决率", "share", 1, "rate",
         False, group="departments"),
    _kpi("dept_satisfaction", "Satisfaction, cases needing departments", "涉部门案件满意度", "0-1", 1, "index", False,
         group="departments"),
    _kpi("community_resolution_gap", "Resolution gap between communities (p90 − p10)",
         "社区间解决率差距（90与10百分位之差）", "share", -1, "rate", False),
    # the calibration targets as the model measures them (C1, C3, C4, C5, C8, C10, C13): matched to
    # published figures, not goals of a reform, so no direction
    _kpi("disputes_per_1000_year", "Disputes found per 1,000 residents a year", "每千人每年发现纠纷数",
         "per 1,000 residents per year", 0, "per_year", False),
    _kpi("disputes_found_proactively", "Disputes found proactively", "主动发现纠纷占比", "share", 0, "rate", False),
    _kpi("disputes_front_line_share", "Disputes resolved at the front line", "纠纷在基层一线化解占比", "share", 0, "rate",
         False),
    _kpi("disputes_closure_rate_reported", "Reported closure rate of disputes", "纠纷上报调解成功率", "share", 0, "rate",
         False),
    _kpi("dept_resolved_share", "Department requests resolved", "部门诉求解决占比", "share", 0, "rate", False),
    _kpi("demands_per_resident_year", "12345 requests per resident a year", "每人每年12345诉求数", "per resident per year", 0,
         "per_year", False),
    # C10: share of collective incidents and group petitions whose dispute is land acquisition or demolition
    _kpi("collective_petitions_land_share", "Collective petitions over land", "群体性上访中征地拆迁占比", "share", 0,
         "rate", False),
    # expectations and latent demand (MODEL §12.5): needs that arose and the share brought forward
    _kpi("needs_arisen", "Needs that arose", "产生的诉求", "cases", 0, "count", True),
    _kpi("needs_brought_share", "Needs brought forward", "诉求提出率", "share", 1, "rate", False),
    # the 12345 hotline and its 三率 (MODEL §12.6; C8 through the hotline's measures)
    _kpi("hotline_demands", "Demands through the 12345 hotline", "12345热线诉求", "cases", 0, "count", True),
    _kpi("hotline_response_rate", "Hotline response rate", "热线响应率", "share", 1, "rate", False),
    _kpi("hotline_resolution_rate", "Hotline resolution rate (callbacks)", "热线解决率（回访）", "share", 1, "rate", False),
    _kpi("hotline_satisfaction_rate", "Hotline satisfaction rate (callbacks)", "热线满意率（回访）", "share", 1, "rate",
         False),
    # lower is better: utilisation is what drives burnout (above 0.9) and so turnover (C9); the
    # burden-reduction reform (减负) and claim 5 (MODEL §10) read relief as a lower load. Idle
    # capacity would be a cost too, but in this model utilisation is floored by administration
    # and patrols, and the outcomes are judged by their own KPIs. (Was 0 in the report, -1 in
    # reproduce.)
    _kpi("worker_utilisation_mean", "Community workers' load", "社区工作者负荷", "share", -1, "rate", False,
         group="workforce"),
    _kpi("worker_turnover", "Community worker turnover", "社区工作者流失率", "per worker-year", -1, "per_year", False,
         group="workforce"),
    _kpi("staff_turnover", "Street and department staff turnover", "街道与部门人员流失率", "per staff-year", -1,
         "per_year", False),
    # rushed work (MODEL §12.3): real work finished with less than it needs, because the handler was overloaded
    _kpi("rushed_share", "Work finished in a rush", "超负荷赶工办结占比", "share", -1, "rate", False,
         group="workforce"),
    # inputs: judge them by cost_per_resolved and the outcomes
    _kpi("person_days", "Staff days on cases", "办案人天", "person-days", 0, "count", True),
    _kpi("budget", "Budget spent", "财政支出", "yuan", 0, "yuan", True),
    _kpi("cost_per_resolved", "Cost per resolved case", "每件解决成本", "yuan per resolved case", -1, "yuan", False),
    # money can bind (MODEL §12.3, costs.funding): new money beyond the baseline's levers, and in a
    # budget-neutral scenario the share of staff cut to pay for new spending
    _kpi("added_budget_per_resident", "Money added to the baseline budget", "新增财政投入（相对基线）",
         "yuan per resident per year", 0, "yuan", False, fmt="{:,.2f}"),
    _kpi("staff_cut_share", "Staff cut to pay for new spending", "为新增支出削减的人员比例", "share", 0, "rate", False),
    # daily series the report and the app draw
    _kpi("open", "Open cases (backlog)", "未结案件（积压）", "cases", 0, "count", True, daily=True),
    _kpi("mobilised", "Residents mobilised now", "当前被动员居民", "residents", -1, "count", True, daily=True),
    _kpi("resolution_rate_30d", "Resolution rate, last 30 days", "近30天解决率", "share", 1, "rate", False, daily=True),
    _kpi("trust_mean", "Residents' mean trust", "居民平均信任度", "0-1", 1, "index", False, daily=True),
    _kpi("hotline_resolution_rate_30d", "Hotline resolution rate, last 30 days", "近30天热线解决率", "share", 1, "rate",
         False, daily=True),
    _kpi("hotline_satisfaction_rate_30d", "Hotline satisfaction rate, last 30 days", "近30天热线满意率", "share", 1,
         "rate", False, daily=True),
)}

#: The columns of ``districts.parquet`` (``metrics.district_table``, MODEL §12.7) after the district's
#: identity (``district``, ``name``, ``name_zh``, ``type``, ``type_zh``): one row per district, counts of
#: simulated cases and residents, rates per simulated resident.
DISTRICT_KPIS: dict[str, Kpi] = {k.name: k for k in (
    _kpi("residents", "Residents (simulated)", "模拟居民数", "residents", 0, "count", True),
    _kpi("streets", "Streets and towns", "街道乡镇数", "streets", 0, "count", True),
    _kpi("communities", "Communities and villages", "社区村数", "communities", 0, "count", True),
    _kpi("cases", "Cases so far", "累计案件", "cases", 0, "count", True),
    _kpi("land_share_new", "Land disputes among new cases", "新发案件中征地拆迁占比", "share", 0, "rate", False),
    _kpi("cases_per_1000_year", "Cases per 1,000 residents a year", "每千人每年案件数", "per 1,000 residents per year",
         0, "per_year", False),
    _kpi("detected", "Cases detected", "已发现案件", "cases", 0, "count", True),
    _kpi("resolved", "Resolved", "实际解决", "cases", 0, "count", True),
    _kpi("outcomes", "Cases with an outcome someone judged", "有评价的办结案件", "cases", 0, "count", True),
    _kpi("resolution_rate", "Resolution rate", "实际解决率", "share", 1, "rate", False),
    _kpi("erupted", "Erupted (petition or incident)", "激化（上访或群体性事件）", "cases", -1, "count", True),
    _kpi("eruptions_per_100k_year", "Eruptions per 100,000 residents a year", "每十万人每年激化数",
         "per 100,000 residents per year", -1, "per_year", False),
    _kpi("petitions", "Petitions", "越级上访", "cases", -1, "count", True),
    _kpi("collective_incidents", "Collective incidents", "群体性事件", "cases", -1, "count", True),
    _kpi("collective_petitions", "Collective incidents and group petitions", "群体性事件与集体上访", "cases", -1,
         "count", True),
    _kpi("collective_petitions_land_share", "Collective petitions over land", "群体性上访中征地拆迁占比", "share", 0,
         "rate", False),
    _kpi("trust_mean_end", "Residents' trust (end)", "居民信任度（期末）", "0-1", 1, "index", False),
    _kpi("staff_cost_per_resident_year", "Staff cost per resident a year", "每人每年人员经费", "yuan per resident per year",
         0, "yuan", False),
)}

# ------------------------------------------------------------------------------------------------
# named lists: which KPIs a table shows, in order
# ------------------------------------------------------------------------------------------------

#: ``cogov run``'s table.
RUN_TABLE: tuple[str, ...] = (
    "residents", "cases_total", "detected", "resolved", "closed_superficially", "reopened", "erupted", "open_end",
    "resolution_rate", "resolved_per_detected", "closure_rate_reported", "median_days_to_resolve",
    "p90_days_to_resolve", "share_resolved_grassroots", "share_resolved_street", "share_resolved_above_street",
    "escalations", "bounces", "routing_accuracy", "petitions", "collective_incidents", "trust_mean_end",
    "satisfaction_mean", "dept_resolution_rate", "dept_satisfaction", "worker_utilisation_mean", "worker_turnover",
    "person_days", "budget", "cost_per_resolved")

#: The comparison report's KPI table (``cogov compare``), in order: the members of a ``GROUPS`` family
#: together, as the report judges them together.
REPORT_KPIS: tuple[str, ...] = (
    "resolution_rate", "median_days_to_resolve", "share_resolved_grassroots", "share_resolved_street",
    "share_resolved_above_street", "escalations", "petitions", "collective_incidents", "trust_mean_end",
    "satisfaction_mean", "worker_utilisation_mean", "worker_turnover", "cost_per_resolved", "dept_resolution_rate",
    "dept_satisfaction", "bounces", "closure_rate_reported")

#: The comparison report's district results (``districts.parquet`` columns that are also city KPIs of the
#: same meaning): each option's difference in each district beside its city-wide verdict.
DISTRICT_REPORT: tuple[str, ...] = ("resolution_rate", "petitions", "trust_mean_end")

#: Daily series the comparison report draws with bands.
REPORT_SERIES: tuple[str, ...] = ("open", "resolution_rate_30d", "trust_mean")

#: KPIs that ``cogov results`` prints per point and ``cogov sensitivity`` prints and plots.
SWEEP_KPIS: tuple[str, ...] = ("resolution_rate", "median_days_to_resolve", "escalations", "petitions",
                               "trust_mean_end", "cost_per_resolved")


#: KPIs whose reform effects ``cogov sensitivity`` analyses in a sweep with effects: the three levers'
#: outcomes (resolution, time, coordination, gaming, satisfaction, escalation).
EFFECT_KPIS: tuple[str, ...] = ("resolved_per_detected", "median_days_to_resolve", "bounces", "closed_superficially",
                                "satisfaction_mean", "escalations")


def families(kpis) -> dict[str, list[str]]:
    """The families of ``kpis`` that carry a direction, in order of first appearance: a family of
    ``GROUPS`` with its members among ``kpis``, and a KPI of no family alone (named by itself). KPIs
    with no direction stay with their family (shown, not judged); alone they are left out."""
    out: dict[str, list[str]] = {}
    for k in kpis:
        if k in KPIS and (KPIS[k].group or KPIS[k].better):
            out.setdefault(KPIS[k].group or k, []).append(k)
    return {name: members for name, members in out.items() if any(KPIS[k].better for k in members)}


def family_label(name: str, lang: str) -> str:
    """The label of a family of ``families``: its group's, or its one KPI's."""
    return GROUPS[name].label(lang) if name in GROUPS else KPIS[name].label(lang)


def summary_kpis() -> list[str]:
    """The KPIs that ``summary()`` returns, in its order."""
    return [k for k, v in KPIS.items() if not v.daily]


def records(registry: dict) -> list[dict]:
    """The entries of ``LEVERS`` or ``KPIS`` as plain dicts (for JSON)."""
    out = []
    for entry in registry.values():
        d = asdict(entry)
        if isinstance(entry, Kpi):  # the MID in force, whether the KPI's own or its kind's
            d.pop("own_mid")
            d["mid"] = asdict(entry.mid)
        for key, value in d.items():
            if isinstance(value, tuple):
                d[key] = list(value)
            elif isinstance(value, float) and math.isinf(value):
                d[key] = None
        out.append(d)
    return out


__all__ = ["DISTRICT_KPIS", "EFFECT_KPIS", "GROUPS", "INFORMATION_READERS", "KINDS", "KPIS", "LEVERS", "MECHANISMS",
           "REPORT_KPIS", "REPORT_SERIES", "RUN_TABLE", "SWEEP_KPIS", "UNIT_LABELS", "Group", "Kind", "Kpi", "Lever",
           "families", "family_label", "records", "schema_field", "summary_kpis", "unit_label"]
