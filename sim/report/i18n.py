"""Labels of the comparison report in English and Chinese, and the font that draws Chinese.

Every piece of text the report shows comes from here: KPI and scenario names, figure titles,
axis labels, table headers, section headings and the sentence templates of the summary
(``str.format`` fields, filled from the tables by ``sim.report.report``).

Chinese glyphs come from Noto Sans CJK SC, shipped by the ``mplfonts`` package (a dependency),
or from any font with CJK glyphs that matplotlib already knows.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

LANGS = ("en", "zh")

#: KPI labels (REPORT_KPIS, the outcome counts of the escalation ladder, and the band columns).
KPI_LABELS: dict[str, dict[str, str]] = {
    "resolution_rate": {"en": "Resolution rate", "zh": "实际解决率"},
    "median_days_to_resolve": {"en": "Median days to resolve", "zh": "解决用时中位数"},
    "share_resolved_grassroots": {"en": "Resolved at grassroots", "zh": "基层解决占比"},
    "share_resolved_street": {"en": "Resolved at street", "zh": "街道解决占比"},
    "share_resolved_above_street": {"en": "Resolved above street", "zh": "街道以上解决占比"},
    "escalations": {"en": "Escalations", "zh": "逐级上报次数"},
    "petitions": {"en": "Petitions", "zh": "越级上访"},
    "collective_incidents": {"en": "Collective incidents", "zh": "群体性事件"},
    "trust_mean_end": {"en": "Residents' trust (end)", "zh": "居民信任度（期末）"},
    "satisfaction_mean": {"en": "Satisfaction", "zh": "群众满意度"},
    "worker_utilisation_mean": {"en": "Community workers' load", "zh": "社区工作者负荷"},
    "worker_turnover": {"en": "Community worker turnover", "zh": "社区工作者流失率"},
    "cost_per_resolved": {"en": "Cost per resolved case", "zh": "每件解决成本"},
    "closure_rate_reported": {"en": "Reported closure rate", "zh": "上报办结率"},
    "dept_resolution_rate": {"en": "Resolution rate, cases needing departments", "zh": "涉部门案件解决率"},
    "bounces": {"en": "Bounces (passing the buck)", "zh": "推诿退回次数"},
    # outcome counts (escalation ladder) and daily series (bands)
    "resolved": {"en": "Resolved", "zh": "实际解决"},
    "superficial_end": {"en": "Closed superficially", "zh": "表面办结"},
    "erupted": {"en": "Erupted (petition or incident)", "zh": "激化（上访或群体性事件）"},
    "withdrawn": {"en": "Faded or given up", "zh": "自行消散或放弃"},
    "open_end": {"en": "Still open", "zh": "仍未办结"},
    "open": {"en": "Open cases (backlog)", "zh": "未结案件（积压）"},
    "resolution_rate_30d": {"en": "Resolution rate, last 30 days", "zh": "近30天解决率"},
    "trust_mean": {"en": "Residents' mean trust", "zh": "居民平均信任度"},
}

#: How each KPI's numbers are shown: rate (a fraction, shown in per cent; differences in
#: percentage points), days, count (mean count per run), index (0-1), per_year, yuan.
KPI_KIND: dict[str, str] = {
    "resolution_rate": "rate", "median_days_to_resolve": "days", "share_resolved_grassroots": "rate",
    "share_resolved_street": "rate", "share_resolved_above_street": "rate", "escalations": "count",
    "petitions": "count", "collective_incidents": "count", "trust_mean_end": "index", "satisfaction_mean": "index",
    "worker_utilisation_mean": "rate", "worker_turnover": "per_year", "cost_per_resolved": "yuan",
    "closure_rate_reported": "rate", "dept_resolution_rate": "rate", "bounces": "count",
    "resolved": "count", "superficial_end": "count", "erupted": "count", "withdrawn": "count", "open_end": "count",
    "open": "count", "resolution_rate_30d": "rate", "trust_mean": "index",
}

#: Unit after a KPI label in a table header.
HEADER_UNITS: dict[str, dict[str, str]] = {
    "rate": {"en": " (%)", "zh": "（%）"},
    "days": {"en": " (days)", "zh": "（天）"},
    "count": {"en": " (per run)", "zh": "（每次运行）"},
    "index": {"en": " (0–1)", "zh": "（0–1）"},
    "per_year": {"en": " (per worker-year)", "zh": "（每人每年）"},
    "yuan": {"en": " (yuan)", "zh": "（元）"},
}

#: Unit after a number in a sentence: (after a level, after a difference).
INLINE_UNITS: dict[str, dict[str, tuple[str, str]]] = {
    "rate": {"en": ("%", " pp"), "zh": ("%", "个百分点")},
    "days": {"en": (" days", " days"), "zh": ("天", "天")},
    "count": {"en": ("", ""), "zh": ("", "")},
    "index": {"en": ("", ""), "zh": ("", "")},
    "per_year": {"en": ("", ""), "zh": ("", "")},
    "yuan": {"en": (" yuan", " yuan"), "zh": ("元", "元")},
}

#: Digits after the decimal point, by kind (rates after scaling to per cent).
DECIMALS = {"rate": 1, "days": 1, "count": 1, "index": 3, "per_year": 3, "yuan": 0}

#: Scenario names of scenarios/*.toml.
SCENARIO_LABELS: dict[str, dict[str, str]] = {
    "baseline": {"en": "Baseline (fragmented)", "zh": "基线(碎片化)"},
    "empowerment_only": {"en": "Empowerment only", "zh": "仅赋权"},
    "empowerment": {"en": "Empowerment + staff", "zh": "赋权+人随事走"},
    "whistle": {"en": "Whistle & report", "zh": "吹哨报到"},
    "whistle_after_warmup": {"en": "Whistle after warm-up", "zh": "预热后吹哨报到"},
    "incentives": {"en": "Evaluation reform", "zh": "考核改革"},
    "info_sharing": {"en": "One-network platform", "zh": "一网统管"},
    "fengqiao": {"en": "Fengqiao model", "zh": "枫桥经验"},
    "social_mobilisation": {"en": "Social mobilisation", "zh": "社会动员"},
    "wuzhi": {"en": "Five-mode integration", "zh": "五治融合"},
    "tianjin": {"en": "Tianjin", "zh": "天津"},
    "beijing_reform": {"en": "Beijing reform 2018-19", "zh": "北京改革(2018-2019)"},
}

#: Levels of the organisational network, and kinds of its nodes.
LEVEL_LABELS = {
    "city": {"en": "City", "zh": "市"},
    "district": {"en": "District", "zh": "区"},
    "street": {"en": "Street", "zh": "街道"},
    "community": {"en": "Community", "zh": "社区"},
}
KIND_LABELS = {
    "party": {"en": "Party committee", "zh": "党委"},
    "centre": {"en": "Governance centre", "zh": "治理中心"},
    "department": {"en": "Department", "zh": "职能部门"},
    "street": {"en": "Street office", "zh": "街道办"},
    "social_org": {"en": "Social organisation", "zh": "社会组织"},
    "community": {"en": "Community", "zh": "社区"},
    "platform": {"en": "Shared platform", "zh": "一网统管平台"},
}

TEXT: dict[str, dict[str, str]] = {
    # ---- report frame ---------------------------------------------------------------------
    "report.title": {"en": "Comparison of reform scenarios", "zh": "改革方案对比报告"},
    "report.generated": {"en": "Generated by cogov compare.", "zh": "由 cogov compare 生成。"},
    "section.settings": {"en": "Run settings", "zh": "运行设置"},
    "section.summary": {"en": "Summary", "zh": "结论摘要"},
    "section.table": {"en": "Key indicators", "zh": "主要指标"},
    "section.figures": {"en": "Figures", "zh": "图表"},
    "section.scorecard": {"en": "Scorecard", "zh": "总体对比"},
    "section.kpis": {"en": "Indicator by indicator", "zh": "分指标结论"},
    "section.reported": {"en": "Reported versus real", "zh": "上报与实际"},
    "settings.scenarios": {"en": "Scenarios", "zh": "方案"},
    "settings.reference": {"en": "reference", "zh": "参照"},
    "settings.reps": {"en": "Replicates per scenario", "zh": "每个方案的重复次数"},
    "settings.days": {"en": "Simulated days", "zh": "模拟天数"},
    "settings.preset": {"en": "City preset", "zh": "城市规模预设"},
    "settings.seed": {"en": "Root seed", "zh": "根随机种子"},
    "settings.method": {"en": "Statistical method", "zh": "统计方法"},
    "settings.method_text": {
        "en": "paired differences from {ref} with paired t 95% CIs on common random numbers "
              "(replicate r uses the same seed in every scenario, so each difference is measured on the "
              "same city, residents and stream of disputes)",
        "zh": "以{ref}为参照的配对差值，基于共同随机数的配对t检验95%置信区间"
              "（第r次重复在每个方案中使用相同的随机种子，因此每个差值都在相同的城市、居民和纠纷序列上测得）"},
    "preset.classroom": {"en": "classroom (3,000 residents)", "zh": "classroom（3,000名居民）"},
    "preset.city": {"en": "city (240,000 residents)", "zh": "city（24万居民）"},
    "preset.tianjin": {"en": "tianjin (13.9 million residents)", "zh": "tianjin（1,387万居民）"},
    # ---- KPI table --------------------------------------------------------------------------
    "table.kpi": {"en": "Indicator", "zh": "指标"},
    "table.better": {"en": "better", "zh": "更优方向"},
    "table.higher": {"en": "higher", "zh": "越高越好"},
    "table.lower": {"en": "lower", "zh": "越低越好"},
    "table.neither": {"en": "—", "zh": "—"},
    "table.reference": {"en": "reference", "zh": "参照"},
    "table.note": {
        "en": "Cells: mean over {reps} replicates [95% CI]. Δ: paired difference from {ref} [95% CI] "
              "(rates and shares in percentage points). ° marks a difference within noise (its CI contains 0). "
              "★ and bold: best value of the row, where a direction of better exists and not every difference "
              "is within noise. Intervals of levels are cut to the values a KPI can take.",
        "zh": "单元格：{reps}次重复的均值 [95%置信区间]。Δ：相对{ref}的配对差值 [95%置信区间]（比率和占比以百分点计）。"
              "°表示差值在噪声范围内（置信区间包含0）。★加粗：该行最优值（仅限有优劣方向、且并非所有差值都在噪声范围内的指标）。"
              "水平值的置信区间截断在指标可取值的范围内。"},
    "table.na": {"en": "n/a", "zh": "无"},
    # ---- figures ----------------------------------------------------------------------------
    "fig.bands.title": {"en": "Over time: mean of replicates with 95% band",
                        "zh": "随时间变化：各次重复的均值与95%置信带"},
    "fig.bands.open": {"en": "Backlog: open cases", "zh": "积压：未结案件数"},
    "fig.bands.resolution_rate_30d": {"en": "Resolution rate, last 30 days", "zh": "近30天实际解决率"},
    "fig.bands.trust_mean": {"en": "Residents' mean trust", "zh": "居民平均信任度"},
    "fig.bands.ylabel.open": {"en": "open cases", "zh": "未结案件（件）"},
    "fig.bands.ylabel.resolution_rate_30d": {"en": "resolved / outcomes (%)", "zh": "解决数/结案数（%）"},
    "fig.bands.ylabel.trust_mean": {"en": "trust (0–1)", "zh": "信任度（0–1）"},
    "axis.day": {"en": "day", "zh": "天"},
    "fig.ladder.title": {"en": "Where cases ended (share of all cases, mean of replicates)",
                         "zh": "案件去向（占全部案件的比例，各次重复均值）"},
    "fig.ladder.xlabel": {"en": "share of cases (%)", "zh": "占全部案件比例（%）"},
    "ladder.grassroots": {"en": "Resolved at grassroots", "zh": "基层解决"},
    "ladder.street": {"en": "Resolved at street", "zh": "街道解决"},
    "ladder.above_street": {"en": "Resolved above street", "zh": "街道以上解决"},
    "fig.cost.title": {"en": "Cost-effectiveness (95% CI both ways)", "zh": "成本效益（两个方向均为95%置信区间）"},
    "fig.cost.xlabel": {"en": "resolution rate (%)", "zh": "实际解决率（%）"},
    "fig.cost.ylabel": {"en": "cost per resolved case (yuan)", "zh": "每件解决成本（元）"},
    "fig.cost.better": {"en": "better ↘", "zh": "更优 ↘"},
    "fig.reported.title": {"en": "Reported closure vs real resolution (95% CI)",
                           "zh": "上报办结率与实际解决率（95%置信区间）"},
    "fig.reported.xlabel": {"en": "real resolution rate (%)", "zh": "实际解决率（%）"},
    "fig.reported.ylabel": {"en": "closure rate an agency would report (%)", "zh": "部门上报的办结率（%）"},
    "fig.reported.diagonal": {"en": "reported = real", "zh": "上报 = 实际"},
    "fig.reported.overstated": {"en": "above the line: reported overstates", "zh": "线上方：上报高于实际"},
    "fig.network.title": {"en": "Organisational network: backlog by unit at day {day}",
                          "zh": "组织网络：第{day}天各单位积压案件"},
    "fig.network.subtitle": {"en": "{scenario}, seed {seed}", "zh": "{scenario}，随机种子{seed}"},
    "fig.network.colorbar": {"en": "open cases held", "zh": "持有未结案件数"},
    "fig.network.nounit": {"en": "holds no cases", "zh": "不持有案件"},
    "fig.network.platform_edges": {"en": "platform links not drawn ({n})", "zh": "平台连线未画出（{n}条）"},
    "fig.network.community_edges": {"en": "communities' links not drawn ({n})", "zh": "社区连线未画出（{n}条）"},
    "cap.bands": {
        "en": "Figure 1. Open cases, 30-day resolution rate and residents' mean trust over {days} days; "
              "lines are means of {reps} replicates, shaded bands their 95% confidence intervals.",
        "zh": "图1. {days}天内的未结案件数、近30天解决率和居民平均信任度；线为{reps}次重复的均值，阴影为95%置信带。"},
    "cap.ladder": {
        "en": "Figure 2. Where the cases ended at day {days}: resolved (by the level that owned them), "
              "closed superficially, erupted, faded or given up, or still open; shares of all cases, "
              "mean of {reps} replicates.",
        "zh": "图2. 第{days}天时案件的去向：实际解决（按解决层级）、表面办结、激化、自行消散或放弃、仍未办结；"
              "占全部案件的比例，{reps}次重复的均值。"},
    "cap.cost": {
        "en": "Figure 3. Cost per resolved case against resolution rate; bars are 95% confidence intervals. "
              "Lower right is better; dashed lines mark {ref}.",
        "zh": "图3. 每件解决成本与实际解决率；误差线为95%置信区间。越靠右下越好；虚线为{ref}。"},
    "cap.reported": {
        "en": "Figure 4. The closure rate an agency would report (resolved plus superficially closed) against "
              "the real resolution rate; points above the diagonal overstate performance.",
        "zh": "图4. 部门上报的办结率（实际解决加表面办结）与实际解决率；对角线上方的点表示上报高于实际。"},
    "cap.network": {
        "en": "Figure 5. The organisational network of one run ({scenario}, seed {seed}), by level; colour: "
              "open cases each unit holds at day {day}; grey: units that hold no cases (party committees, "
              "the platform).",
        "zh": "图5. 一次运行（{scenario}，随机种子{seed}）的组织网络，按层级排列；"
              "颜色：第{day}天各单位持有的未结案件数；"
              "灰色：不持有案件的单位（党委、平台）。"},
    "cap.network_missing": {"en": "Figure 5 (organisational network) needs a model run and was not drawn.",
                            "zh": "图5（组织网络）需要一次模型运行，本报告未绘制。"},
    # ---- summary sentences --------------------------------------------------------------------
    "sum.overview_best": {
        "en": "Overall, {best} does best against {ref}: clearly better on {b} of {n} indicators with a direction "
              "of better, clearly worse on {w}, within noise on {k}.",
        "zh": "总体而言，{best}相对{ref}表现最好：在{n}项有优劣方向的指标中，{b}项明显更优，{w}项明显更差，"
              "{k}项差异在噪声范围内。"},
    "sum.overview_none": {
        "en": "No scenario is clearly better than {ref} on any of the {n} indicators with a direction of better.",
        "zh": "在{n}项有优劣方向的指标中，没有任何方案明显优于{ref}。"},
    "sum.only_reference": {
        "en": "Only one scenario ({ref}) was run, so there is nothing to compare; the table gives its levels.",
        "zh": "只运行了一个方案（{ref}），无从比较；下表给出其各项指标水平。"},
    "sum.one_rep": {
        "en": "With one replicate per scenario no confidence interval can be computed: differences below are "
              "point estimates and cannot be told from noise.",
        "zh": "每个方案只有一次重复，无法计算置信区间：以下差值只是点估计，无法与噪声区分。"},
    "sum.scorecard_row": {
        "en": "{s}: better on {better}, worse on {worse}, within noise on {noise}.",
        "zh": "{s}：更优{better}，更差{worse}，在噪声范围内{noise}。"},
    "sum.count": {"en": "{n}", "zh": "{n}项"},
    "sum.count_list": {"en": "{n} ({items})", "zh": "{n}项（{items}）"},
    "sum.none": {"en": "none", "zh": "无"},
    "sum.kpi_leader": {
        "en": "{kpi}: {leader} leads with {value} against {ref_value} for {ref}, a difference of {diff}{ci}; "
              "{verdict}.",
        "zh": "{kpi}：{leader}领先，为{value}，{ref}为{ref_value}，差值{diff}{ci}，{verdict}。"},
    "sum.ci": {"en": " (95% CI {lo} to {hi})", "zh": "（95%置信区间{lo}至{hi}）"},
    "sum.kpi_ref_leads": {
        "en": "{kpi}: no scenario beats {ref} ({ref_value}); the closest is {best} with {value}, "
              "a difference of {diff}{ci}.",
        "zh": "{kpi}：没有方案优于{ref}（{ref_value}）；最接近的是{best}，为{value}，差值{diff}{ci}。"},
    "sum.kpi_all_equal": {
        "en": "{kpi}: every scenario has the same mean ({value}).",
        "zh": "{kpi}：所有方案均值相同（{value}）。"},
    "sum.kpi_missing": {"en": "{kpi}: not defined in these runs.", "zh": "{kpi}：这些运行中无法计算。"},
    "sum.verdict_clear": {"en": "a clear improvement", "zh": "改善明显"},
    "sum.verdict_noise": {"en": "within noise (the CI contains 0)", "zh": "但在噪声范围内（置信区间包含0）"},
    "sum.verdict_unknown": {"en": "no CI with one replicate", "zh": "仅一次重复，无置信区间"},
    "sum.verdict_unclear": {"en": "but not a clear improvement when compared replicate by replicate",
                            "zh": "但逐次重复配对比较并非明显改善"},
    "sum.group_better": {"en": "Clearly better than {ref}: {items}.", "zh": "明显优于{ref}的有：{items}。"},
    "sum.group_worse": {"en": "Clearly worse than {ref}: {items}.", "zh": "明显差于{ref}的有：{items}。"},
    "sum.group_noise": {"en": "Within noise of {ref}: {items}.", "zh": "与{ref}的差异在噪声范围内的有：{items}。"},
    "sum.gap_all": {
        "en": "Reported closure rates exceed real resolution in every scenario, from {min_gap} in {min_s} "
              "to {max_gap} in {max_s}.",
        "zh": "所有方案的上报办结率都高于实际解决率，差距从{min_s}的{min_gap}到{max_s}的{max_gap}。"},
    "sum.gap_some": {
        "en": "Reported closure rates exceed real resolution in {k} of {n} scenarios; the gap ranges from {min_gap} "
              "in {min_s} to {max_gap} in {max_s}.",
        "zh": "{n}个方案中有{k}个的上报办结率高于实际解决率；差距从{min_s}的{min_gap}到{max_s}的{max_gap}。"},
    "sum.gap_none": {
        "en": "Reported closure rates equal real resolution in every scenario (no superficial closures).",
        "zh": "所有方案的上报办结率均等于实际解决率（没有表面办结）。"},
    "sum.gap_ref": {"en": "For {ref} the gap is {gap}{ci}.", "zh": "{ref}的差距为{gap}{ci}。"},
    "sum.gap_narrower": {"en": "Compared with {ref}, the gap clearly narrows in {items}.",
                         "zh": "与{ref}相比，差距明显缩小的有：{items}。"},
    "sum.gap_wider": {"en": "Compared with {ref}, the gap clearly widens in {items}.",
                      "zh": "与{ref}相比，差距明显扩大的有：{items}。"},
    "sum.gap_noise": {"en": "In {items} the gap differs from {ref}'s only within noise.",
                      "zh": "{items}的差距与{ref}相比仅在噪声范围内变化。"},
    "list.sep": {"en": "; ", "zh": "、"},  # some KPI names hold a comma
}


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: use one of {', '.join(LANGS)}")
    return lang


def t(key: str, lang: str) -> str:
    """The text of ``key`` in ``lang`` ("en" or "zh"); KPI keys are looked up too."""
    _check_lang(lang)
    for table in (TEXT, KPI_LABELS):
        if key in table:
            return table[key][lang]
    raise KeyError(f"no report text {key!r}")


def kpi_label(kpi: str, lang: str) -> str:
    """A KPI's label; an unknown KPI is shown by its name."""
    _check_lang(lang)
    return KPI_LABELS[kpi][lang] if kpi in KPI_LABELS else kpi


def scenario_label(name: str, lang: str) -> str:
    """A scenario's label; unknown names are shown as they are. A repeated scenario's suffix
    (``baseline#2``) is kept."""
    _check_lang(lang)
    base, sep, suffix = name.partition("#")
    if base in SCENARIO_LABELS:
        return SCENARIO_LABELS[base][lang] + (f" #{suffix}" if sep else "")
    return name


def level_label(level: str, lang: str) -> str:
    return LEVEL_LABELS.get(level, {}).get(_check_lang(lang), level)


def kind_label(kind: str, lang: str) -> str:
    return KIND_LABELS.get(kind, {}).get(_check_lang(lang), kind)


def kpi_header(kpi: str, lang: str) -> str:
    """A KPI's label with its unit, for table rows: "Resolution rate (%)"."""
    return kpi_label(kpi, lang) + HEADER_UNITS[KPI_KIND.get(kpi, "index")][lang]


def fmt_number(kpi: str, value, lang: str, signed: bool = False, unit: bool = False, diff: bool = False,
               digits: int | None = None) -> str:
    """A KPI value (or, with ``diff``, a difference of two values) as shown in the report.

    Rates and shares are shown in per cent (differences in percentage points), counts with
    thousands separators. ``signed`` adds "+" to positive numbers; ``unit`` appends the unit
    ("%", " pp", "天"...); ``digits`` overrides the kind's decimals. NaN and None are shown as
    "n/a" ("无").
    """
    _check_lang(lang)
    if value is None or value != value:  # None or NaN
        return t("table.na", lang)
    kind = KPI_KIND.get(kpi, "index")
    v = float(value) * (100.0 if kind == "rate" else 1.0)
    digits = DECIMALS[kind] if digits is None else digits
    if round(v, digits) == 0:
        v = 0.0  # no "-0.0"
    text = f"{v:{'+' if signed and v != 0 else ''},.{digits}f}"
    if unit:
        text += INLINE_UNITS[kind][lang][1 if diff else 0]
    return text


def join(items: list[str], lang: str) -> str:
    """Items joined by the language's list separator, or "none"."""
    return t("list.sep", lang).join(items) if items else t("sum.none", lang)


# ------------------------------------------------------------------------------------------------
# fonts
# ------------------------------------------------------------------------------------------------

MPLFONTS_FILE = "NotoSansCJKsc-Regular.otf"
PROBE = "治"  # a character every CJK font for this report must draw
OTHER = "国"  # ...with a glyph of its own: a last-resort font maps a whole block to one box


def _has_cjk(path: str | Path) -> bool:
    from matplotlib.ft2font import FT2Font
    try:
        cmap = FT2Font(str(path)).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return ord(PROBE) in cmap and ord(OTHER) in cmap and cmap[ord(PROBE)] != cmap[ord(OTHER)]


def _mplfonts_file() -> Path | None:
    """The Noto Sans CJK font shipped by mplfonts, found without importing the package."""
    try:
        spec = importlib.util.find_spec("mplfonts")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for root in spec.submodule_search_locations or []:
        path = Path(root) / "fonts" / MPLFONTS_FILE
        if path.is_file():
            return path
    try:  # a zipped or otherwise unusual install
        from importlib.resources import as_file, files
        res = files("mplfonts") / "fonts" / MPLFONTS_FILE
        if res.is_file():
            with as_file(res) as p:
                return Path(p)
    except Exception:  # noqa: BLE001 (any failure here means "not available")
        return None
    return None


@lru_cache(maxsize=1)
def cjk_font() -> Path:
    """A font file that draws Chinese: mplfonts' Noto Sans CJK SC, else a CJK font matplotlib knows.

    Raises:
        RuntimeError: no such font (install one with ``pip install mplfonts``).
    """
    path = _mplfonts_file()
    if path is not None and _has_cjk(path):
        return path
    from matplotlib import font_manager
    hints = ("cjk", "hei", "song", "ming", "kai", "wenquanyi", "wqy", "droidsansfallback", "sc", "cn",
             "source han", "sourcehan", "yahei", "pingfang", "fang")
    entries = sorted(font_manager.fontManager.ttflist,
                     key=lambda f: not any(h in (f.name + Path(f.fname).name).lower() for h in hints))
    for entry in entries:
        if _has_cjk(entry.fname):
            return Path(entry.fname)
    raise RuntimeError("no font that can draw Chinese was found: install one with `pip install mplfonts` "
                       "(it ships Noto Sans CJK SC), or install a CJK font known to matplotlib")


@lru_cache(maxsize=None)
def _register(path: str) -> str:
    from matplotlib import font_manager
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


def use_font(lang: str) -> str:
    """Register the font for ``lang`` with matplotlib and return its family name.

    zh: the CJK font of ``cjk_font()`` (``RuntimeError`` if there is none). en: DejaVu Sans,
    matplotlib's own.
    """
    if _check_lang(lang) == "zh":
        return _register(str(cjk_font()))
    return "DejaVu Sans"


def font_families(lang: str) -> list[str]:
    """The rcParams ``font.family`` list for ``lang``: its font first, then fallbacks, so that
    glyphs missing from one (a Chinese scenario name in an English report, a minus sign) come
    from another."""
    first = use_font(lang)
    families = [first]
    if lang == "en":
        try:
            families.append(_register(str(cjk_font())))
        except RuntimeError:
            pass
    else:
        families.append("DejaVu Sans")
    return families
