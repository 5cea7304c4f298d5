"""Scenario schema: every parameter with its type, range, unit and source.

A scenario is a TOML file (see ``scenarios/``). It may ``extends`` another file; tables are
merged key by key, the child winning. Every value is validated here with pydantic
(``extra="forbid"``), so a typo or an out-of-range value stops the run before anything is
written, with a message naming the file, the key and what is allowed.

Each field's description reads "meaning [unit] (source)". The source is a seed paper
(``seed 000``..``seed 004``), a calibration target (``C1``..``C13`` in CALIBRATION.md) or
"assumption". ``docs/ODD.md`` lists them all (``python -m sim.docs`` regenerates the table).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Share = Annotated[float, Field(ge=0.0, le=1.0)]
#: A name that can be part of a file name: word characters (any script), dots, dashes and # (a
#: scenario compared with itself is NAME#2), first a word character.
NAME_PATTERN = r"^[^\W][\w.\-#]*$"
#: A run key in a study's manifest (``experiments.store``): a file name without a dot.
KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
#: Patterns in words, for the error messages.
PATTERN_WORDS = {NAME_PATTERN: "letters, digits, _ . - and #, beginning with a letter, a digit or _",
                 KEY_PATTERN: "1 to 64 of the letters A-Z and a-z, digits, _ and -"}


class ScenarioError(ValueError):
    """A scenario file cannot be used. The message names the file, the key and what is allowed."""


def F(default, description: str, ge=None, le=None, gt=None, lt=None, fit: tuple[float, float] | None = None):
    """A documented, bounded field. ``fit`` marks an uncertain parameter that ``cogov calibrate``
    fits, with the range it searches."""
    extra = {"fit": list(fit)} if fit is not None else None
    return Field(default, description=description, ge=ge, le=le, gt=gt, lt=lt, json_schema_extra=extra)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True)


# ---------------------------------------------------------------------------------------------
# Structure (MODEL §2.1)
# ---------------------------------------------------------------------------------------------

PRESETS: dict[str, dict[str, int]] = {
    "classroom": dict(districts=1, streets=3, communities=12, grids=48, population=3_000),
    "city": dict(districts=4, streets=24, communities=240, grids=960, population=240_000),
    # seed 004 and C11: Tianjin 2020 census and its 2019 grid reform
    "tianjin": dict(districts=16, streets=248, communities=5_205, grids=22_000,
                    population=13_866_009),
}
PresetName = Literal["classroom", "city", "tianjin"]

# ---------------------------------------------------------------------------------------------
# Districts (MODEL §12.7): each district has a type; the types differ in density, dispute mix
# and staffing per resident (the ``[districts]`` section).
# ---------------------------------------------------------------------------------------------

#: District types: central urban (中心城区), inner suburb (环城/近郊区), outer suburb and rural
#: (远郊区), and a new area (新区: Tianjin's Binhai, ports, industry and development zones).
DISTRICT_TYPES: tuple[str, ...] = ("central", "inner", "outer", "new_area")
DISTRICT_TYPE_ZH: dict[str, str] = {"central": "中心城区", "inner": "环城区", "outer": "远郊区", "new_area": "新区"}
DistrictTypeName = Literal["central", "inner", "outer", "new_area"]

#: Districts of each preset: (name, zh, type, population). Tianjin: the seventh census (2020-11-01),
#: 天津市第七次全国人口普查公报 (Tianjin Municipal Bureau of Statistics, 2021), district figures as
#: tabulated by citypopulation.de ("China: Tiānjīn, Districts", source NBS and the Tianjin bureau);
#: they sum by region to the bulletin's 中心城区 4,057,215, 环城四区 3,889,860, 滨海新区 2,067,318 and
#: 远郊五区 3,851,616, and in all to 13,866,009 (C11). ``city``: Tianjin's regional shares in four
#: districts (assumption): the centre's 29.3% in two, the surrounding districts' 28.1% plus Binhai's
#: 14.9% as the inner suburb, the outer districts' 27.8%. ``classroom``: one central district.
PRESET_DISTRICTS: dict[str, tuple[tuple[str, str, str, int], ...]] = {
    "classroom": (("centre", "中心区", "central", 3_000),),
    "city": (("centre_east", "城东区", "central", 2_028_608), ("centre_west", "城西区", "central", 2_028_607),
             ("inner_suburb", "近郊区", "inner", 5_957_178), ("outer_county", "远郊区", "outer", 3_851_616)),
    "tianjin": (
        ("heping", "和平区", "central", 355_000), ("hedong", "河东区", "central", 858_787),
        ("hexi", "河西区", "central", 822_174), ("nankai", "南开区", "central", 890_422),
        ("hebei", "河北区", "central", 647_702), ("hongqiao", "红桥区", "central", 483_130),
        ("dongli", "东丽区", "inner", 857_027), ("xiqing", "西青区", "inner", 1_195_124),
        ("jinnan", "津南区", "inner", 928_066), ("beichen", "北辰区", "inner", 909_643),
        ("wuqing", "武清区", "outer", 1_151_313), ("baodi", "宝坻区", "outer", 722_367),
        ("ninghe", "宁河区", "outer", 395_314), ("jinghai", "静海区", "outer", 787_106),
        ("jizhou", "蓟州区", "outer", 795_516),
        ("binhai", "滨海新区", "new_area", 2_067_318),
    ),
}


class Structure(Section):
    """Territory, staffing and the residents' social network. Counts left unset come from the preset."""

    districts: int | None = F(None, "districts (区县) [count] (preset; C11 for tianjin)", ge=1, le=100)
    streets: int | None = F(None, "streets/towns (街道/乡镇) [count] (preset; C11)", ge=1, le=10_000)
    communities: int | None = F(None, "communities/villages (社区/村) [count] (preset; C11)", ge=1, le=200_000)
    grids: int | None = F(None, "grids (网格) [count] (preset; C7, C11)", ge=1, le=1_000_000)
    population: int | None = F(None, "real residents represented [people] (preset; C11; at most 50 million: China's largest city-level unit, Chongqing, has 32 million)", ge=1, le=50_000_000)
    population_scale: float = F(1.0, "real people per simulated resident [people] (MODEL §2.1)", ge=1.0, le=10_000)
    residents_per_worker: float = F(350.0, "residents per community worker [people] (C6)", ge=10, le=100_000)
    street_staff_per_10k: float = F(6.0, "street-office case staff per 10,000 residents [people] (assumption)", ge=0, le=1_000)
    centre_staff_per_100k: float = F(5.0, "district mediation-centre staff per 100,000 residents [people] (assumption)", ge=0, le=10_000)
    city_staff_per_1m: float = F(10.0, "city centre staff per million residents [people] (assumption)", ge=0, le=100_000)
    dept_staff_per_100k: float = F(5.0, "case staff per district department per 100,000 residents [people] (assumption)", ge=0.01, le=10_000)
    city_dept_staff_per_1m: float = F(10.0, "case staff per city department per million residents [people] (assumption)", ge=0.01, le=100_000)
    social_orgs_per_street: int = F(2, "social organisations serving each street [count] (assumption)", ge=1, le=100)
    party_member_share: Share = F(0.066, "residents who are party members [share] (national 2022: 98 M of 1.41 bn)")
    mean_degree: int = F(8, "mean social ties per resident [count] (assumption)", ge=2, le=64)
    p_rewire: Share = F(0.1, "share of ties rewired to a random member of the same community (small world) (assumption)")
    p_cross_community: Share = F(0.05, "share of ties to another community of the same street (assumption)")

    def resolved(self, preset: str) -> dict[str, int]:
        """Counts of this structure: explicit values, else the preset's."""
        counts = {k: getattr(self, k) if getattr(self, k) is not None else v
                  for k, v in PRESETS[preset].items()}
        return counts


class Districts(Section):
    """District types and what differs between them (MODEL §12.7). Which district has which type,
    and its share of the population, come from the preset (``PRESET_DISTRICTS``) unless ``types`` and
    ``population_shares`` are given. Streets and communities are shared out among districts in
    proportion to residents / residents per street (per community) of the district's type; the
    dispute mix of a district is the city's mix (C2, ``sim/disputes.py``) with the type's land and
    property shares multiplied, renormalised; staffing per resident of the district's communities,
    street offices, mediation centre and departments is multiplied by the type's staffing."""

    types: list[DistrictTypeName] | None = F(None, "type of each district, in order: central, inner, outer or new_area (preset)")
    population_shares: list[Annotated[float, Field(ge=1e-6, le=1e9)]] | None = F(
        None, "each district's weight in the population, in order; normalised (preset; census 2020 for tianjin)")
    # density: residents per community (社区 in the centre are large, 村 in the outer districts small)
    # and per street/town. Tianjin has 1,646 urban communities and 3,680 villages (c. 2020) and
    # 5,205 in all (C11); the central districts are urban communities only.
    central_residents_per_community: float = F(6000.0, "residents per community in central districts [people] (assumption: large urban 社区)", ge=100, le=100_000)
    inner_residents_per_community: float = F(3000.0, "residents per community or village in inner suburbs [people] (assumption)", ge=100, le=100_000)
    outer_residents_per_community: float = F(1300.0, "residents per community or village in outer districts [people] (assumption: mostly 村)", ge=100, le=100_000)
    new_area_residents_per_community: float = F(4000.0, "residents per community or village in a new area [people] (assumption)", ge=100, le=100_000)
    central_residents_per_street: float = F(65000.0, "residents per street in central districts [people] (assumption)", ge=1_000, le=1_000_000)
    inner_residents_per_street: float = F(60000.0, "residents per street or town in inner suburbs [people] (assumption)", ge=1_000, le=1_000_000)
    outer_residents_per_street: float = F(35000.0, "residents per town or township in outer districts [people] (assumption)", ge=1_000, le=1_000_000)
    new_area_residents_per_street: float = F(60000.0, "residents per street or town in a new area [people] (assumption)", ge=1_000, le=1_000_000)
    # social ties: a multiplier on structure.mean_degree (rural villages are acquaintance societies,
    # 熟人社会, but no figure was found: 1 everywhere until one is, to be varied in sensitivity analysis)
    central_ties: float = F(1.0, "social ties per resident in central districts, relative to mean_degree [multiplier] (assumption)", ge=0.01, le=4)
    inner_ties: float = F(1.0, "social ties per resident in inner suburbs, relative to mean_degree [multiplier] (assumption)", ge=0.01, le=4)
    outer_ties: float = F(1.0, "social ties per resident in outer districts, relative to mean_degree [multiplier] (assumption: 熟人社会 would raise it; no figure found)", ge=0.01, le=4)
    new_area_ties: float = F(1.0, "social ties per resident in a new area, relative to mean_degree [multiplier] (assumption)", ge=0.01, le=4)
    # dispute mix: land acquisition and demolition (征地拆迁) is suburban and rural (C10); property
    # (物业) disputes come from managed housing estates, mostly urban
    central_land_mix: float = F(0.2, "multiplier on the land (征地拆迁) share of new cases in central districts [multiplier] (C10; assumption: little land left to acquire)", ge=0, le=20)
    inner_land_mix: float = F(1.5, "multiplier on the land share of new cases in inner suburbs [multiplier] (C10; assumption)", ge=0, le=20)
    outer_land_mix: float = F(2.5, "multiplier on the land share of new cases in outer districts [multiplier] (C10; assumption)", ge=0, le=20)
    new_area_land_mix: float = F(2.0, "multiplier on the land share of new cases in a new area [multiplier] (C10; assumption: development zones)", ge=0, le=20)
    central_property_mix: float = F(1.3, "multiplier on the property (物业) share of new cases in central districts [multiplier] (assumption)", ge=0, le=20)
    inner_property_mix: float = F(1.0, "multiplier on the property share of new cases in inner suburbs [multiplier] (assumption)", ge=0, le=20)
    outer_property_mix: float = F(0.5, "multiplier on the property share of new cases in outer districts [multiplier] (assumption: few managed estates)", ge=0, le=20)
    new_area_property_mix: float = F(1.0, "multiplier on the property share of new cases in a new area [multiplier] (assumption)", ge=0, le=20)
    # staffing per resident of the district's own units (community workers, street offices, the
    # district mediation centre and departments); city-level units are not multiplied
    central_staffing: float = F(1.0, "staff per resident in central districts, relative to [structure] [multiplier] (C6)", ge=0.01, le=5)
    inner_staffing: float = F(0.9, "staff per resident in inner suburbs, relative to [structure] [multiplier] (assumption)", ge=0.01, le=5)
    outer_staffing: float = F(0.8, "staff per resident in outer districts, relative to [structure] [multiplier] (assumption: part-time village committees; C6's target is per urban resident)", ge=0.01, le=5)
    new_area_staffing: float = F(1.0, "staff per resident in a new area, relative to [structure] [multiplier] (assumption)", ge=0.01, le=5)

    def of_type(self, kind: str, what: str) -> float:
        """The parameter ``what`` (``residents_per_community``, ``land_mix``...) of district type ``kind``."""
        return float(getattr(self, f"{kind}_{what}"))


def district_layout(preset: str, n_districts: int, d: Districts) -> list[tuple[str, str, str, float]]:
    """The districts of a scenario: (name, zh, type, population weight) each. The preset's list when
    it has ``n_districts`` districts; else the preset's list repeated in order to that length (an
    explicit count of districts keeps the preset's mix of types); ``types`` and ``population_shares``
    replace the types and weights."""
    base = PRESET_DISTRICTS[preset]
    if len(base) == n_districts:
        rows = [(n, z, k, float(p)) for n, z, k, p in base]
    else:
        rows = [(f"district_{i + 1}", f"第{i + 1}区", base[i % len(base)][2], float(base[i % len(base)][3]))
                for i in range(n_districts)]
    if d.types is not None:
        rows = [(n, z, k, p) for (n, z, _, p), k in zip(rows, d.types, strict=True)]
    if d.population_shares is not None:
        rows = [(n, z, k, float(w)) for (n, z, k, _), w in zip(rows, d.population_shares, strict=True)]
    return rows


# ---------------------------------------------------------------------------------------------
# Levers (MODEL §5): what a reform changes. All are shares in [0, 1] unless stated.
# ---------------------------------------------------------------------------------------------


class Levers(Section):
    """The levers; their defaults are the baseline's (``scenarios/baseline.toml``), which also run the burn-in."""

    authority_devolution: Share = F(0.1, "赋权: authority moved to communities and streets [0-1] (seed 001, 004)")
    resources_follow: Share = F(0.0, "人随事走钱随事拨: share of the devolved work's staff moved down from departments [0-1] (seed 001)")
    whistle_power: Share = F(0.0, "吹哨报到: how surely and fast departments answer a street's whistle [0-1] (seed 004)")
    burden_reduction: Share = F(0.0, "减负: share of community workers' administrative burden removed [0-1] (seed 004)")
    w_process: Share = F(0.6, "考核 weight on process traces (痕迹) [0-1] (seed 002)")
    w_closures: Share = F(0.3, "考核 weight on closures counted against finished cases (closure rate) [0-1] (seed 002)")
    w_satisfaction: Share = F(0.1, "考核 weight on satisfaction callbacks [0-1] (seed 002)")
    w_local: Share = F(0.0, "weight of the street's rating in departments' evaluation [0-1] (seed 004)")
    accountability: Share = F(0.3, "penalty weight per escalation or eruption (问责) [0-1] (seed 002)")
    incentive_strength: float = F(1.0, "how much evaluation scores matter to units [multiplier] (assumption)", ge=0, le=10)
    info_sharing: Share = F(0.0, "一网统管: platform membership: each integrable unit (community, street, centre, department) joins the shared platform when its fixed propensity is below this, so raising it adds units [0-1] (seed 002, 004)")
    automation: Share = F(0.0, "share of data entry done automatically [0-1] (seed 003: 智治)")
    party_attention: Share = F(0.3, "党委 coordination attention: joint-meeting capacity and referrals [0-1] (seed 004)")
    party_integration: Share = F(0.5, "share of party effort reaching governance, not paperwork (两张皮) [0-1] (seed 004)")
    social_org_funding: Share = F(0.1, "购买服务: purchased services, 1 = reference budget [0-1] (seed 004)")
    volunteer_rate: float = F(0.05, "志愿者: residents registered as volunteers [share] (C11: Tianjin 13%)", ge=0, le=0.5)
    self_governance: Share = F(0.2, "自治: capacity of resident councils (议事会) [0-1] (seed 001: 枫桥经验)")
    responsibility_clarity: Share = F(0.2, "法治: clarity of responsibility lists [0-1] (seed 003)")
    moral_education: Share = F(0.1, "德治: moral education effort [0-1] (seed 003)")
    hotline_reach: Share = F(0.3, "接诉即办: share of residents for whom the 12345 hotline is the one number they call with a need (a fixed per-resident propensity) [0-1] (assumption; C13: Beijing 12345 before 2019)")
    ranking_pressure: Share = F(0.0, "weight of the monthly 三率 ranking (hotline response, resolution, satisfaction) in units' evaluation [0-1] (MODEL §12.6)")


LEVER_NAMES: tuple[str, ...] = tuple(Levers.model_fields)


# ---------------------------------------------------------------------------------------------
# Mechanism parameters (MODEL §3-§5): the uncertain inputs that calibration may fit.
# ---------------------------------------------------------------------------------------------


class Emergence(Section):
    disputes_per_1000_year: float = F(9.0, "interpersonal disputes arising per 1,000 residents per year (C1: 6-11)", ge=0, le=1_000, fit=(6.0, 15.0))
    demands_per_resident_year: float = F(0.07, "needs (actionable demands on a unit) arising per resident per year; only those brought forward become cases, and C13 counts those brought through the 12345 hotline (C13: 0.05-0.1 hotline requests) [per resident per year]", ge=0, le=20, fit=(0.05, 0.6))
    grievance_hazard: float = F(2.0, "relative rise of a resident's hazard per unit of grievance [multiplier] (assumption)", ge=0, le=20)
    moral_effect: Share = F(0.3, "emergence reduction at full moral education, once matured [share] (assumption)")
    moral_ramp_days: float = F(365.0, "time for moral education to mature [days] (assumption: slow)", ge=1, le=36_500)
    severity_concentration: float = F(2.0, "shape a of the initial severity, Beta(a, a) x 2 x the type's mean severity [count] (assumption)", ge=0.1, le=100)
    severity_min: Share = F(0.02, "lowest initial severity of a case [0-1] (assumption)")
    group_min_parties: int = F(3, "parties of a group dispute, at least [count] (assumption)", ge=2, le=6)
    demand_dept_floor: Share = F(0.5, "a demand needs a department with chance floor + (1 - floor) x the type's p_dept [share] (assumption)")
    p_third_dept: Share = F(0.3, "chance a cross-department case needs a third department, where its type has two co-domains [share] (assumption)")
    dept_authority_spread: Share = F(0.45, "authority a department case needs is uniform on [1 - spread, 1] [0-1] (assumption)")
    authority_severity_weight: Share = F(0.6, "authority other cases need: weight x severity + (1 - weight) x uniform [share] (assumption)")


class Detection(Section):
    p_report: Share = F(0.03, "daily chance a party reports a latent case at trust 1 and severity 1 [per day] (C3)", fit=(0.01, 0.12))
    patrol_share: Share = F(0.15, "share of grid-worker time spent on patrols [share] (seed 004)")
    patrol_efficacy: float = F(1.5, "patrol detection intensity per patrol-day per 100 residents [per day] (C3)", ge=0, le=100, fit=(0.3, 3.0))
    p_data: Share = F(0.05, "daily chance data early warning flags a latent case whose community's data reach a unit that acts (its street or its district centre on the platform), at full reporting and severity 1 [per day] (assumption)")
    report_trust_floor: Share = F(0.25, "reporting chance of a party with no trust, relative to one with full trust [share] (assumption)")
    visibility_offset: float = F(0.5, "report and patrol chances scale with (offset + severity): 1 at severity 1 - offset [0-1] (assumption)", ge=0, le=10)


class Lifecycle(Section):
    latent_growth: float = F(0.006, "severity growth of an undetected case [per day] (seed 000: brewing)", ge=0, le=0.2)
    handled_growth: Share = F(0.3, "growth while handled, relative to latent [share] (assumption)")
    eruption_severity: float = F(0.9, "severity at which mobilised parties erupt [0-1] (assumption)", ge=0.01, le=1)
    collective_min_parties: int = F(3, "parties a case needs to erupt as a collective incident [count] (assumption)", ge=1, le=6)
    collective_min_mobilised: int = F(2, "mobilised parties a collective incident needs [count] (assumption)", ge=1, le=6)
    fade_below: Share = F(0.3, "latent cases below this severity may fade away [0-1] (assumption)")
    p_fade: Share = F(0.01, "daily chance a latent low-severity case fades away (withdrawn) [per day] (assumption)")
    p_withdraw: Share = F(0.002, "daily chance parties give up an open case, scaled by distrust [per day] (assumption)")
    escalation_severity: Share = F(0.05, "severity added by each escalation (矛盾上交) (assumption)")
    p_reopen: Share = F(0.01, "daily chance a superficially closed case reopens [per day] (assumption)")
    reopen_window: int = F(180, "days during which a superficial closure may reopen [days] (assumption)", ge=0, le=3_650)
    reopen_severity: Share = F(0.15, "severity added on reopening (worse) (assumption)")


class Handling(Section):
    work_scale: float = F(1.0, "multiplier on each type's person-days of work (assumption)", ge=0.01, le=100)
    work_severity_offset: float = F(0.5, "a case's work scales with (offset + severity): the type's work at severity 1 - offset [0-1] (assumption)", ge=0, le=10)
    extra_dept_work: float = F(0.5, "extra work per department beyond the first [share] (assumption)", ge=0, le=10)
    skill_self: Share = F(0.55, "resident council success on locally settleable types (seed 001) ")
    skill_social_org: Share = F(0.7, "social-organisation mediators' success on mediation types (seed 004)")
    skill_community: Share = F(0.6, "community workers' success (assumption)", fit=(0.4, 0.9))
    skill_street: Share = F(0.65, "street office success (assumption)", fit=(0.4, 0.9))
    skill_district: Share = F(0.7, "district centre success (assumption)")
    skill_city: Share = F(0.7, "city centre success (assumption)")
    skill_department: Share = F(0.75, "department success in its own domain (assumption)", fit=(0.4, 0.95))
    trust_weight: Share = F(0.4, "weight of the parties' trust in the success chance (assumption)")
    max_success: Share = F(0.99, "highest chance that finished work succeeds [share] (assumption)")
    deadline_community: int = F(15, "time limit at community level [days] (C12: assumption within)", ge=1, le=3_650)
    deadline_street: int = F(15, "time limit at street level [days] (C12)", ge=1, le=3_650)
    deadline_district: int = F(30, "time limit at district level [days] (C12)", ge=1, le=3_650)
    backlog_days: int = F(90, "days at city level before a case counts as backlog (积案) [days] (assumption)", ge=1, le=3_650)
    so_min_trust: Share = F(0.3, "parties below this trust refuse social-organisation mediation (MODEL §2.2) (assumption)")
    so_min_local: Share = F(0.4, "social organisations take only types at least this settleable by local means [0-1] (assumption)")
    moral_acceptance: Share = F(0.1, "success gain of mediation at full, matured moral education (德治) (assumption)")
    max_queue_days: float = F(10.0, "a handler takes a new case only while its queue is below this many days of capacity [days] (assumption)", ge=0.1, le=3_650)
    authority_self: Share = F(0.25, "authority of resident councils (assumption)")
    authority_social_org: Share = F(0.35, "authority of social organisations (assumption)")
    authority_community: Share = F(0.4, "authority of communities before devolution (assumption)", fit=(0.25, 0.8))
    authority_street: Share = F(0.6, "authority of streets before devolution (assumption)", fit=(0.45, 0.95))
    devolution_reach: Share = F(0.4, "authority added to communities and streets at full devolution (seed 004: 权下放)")
    routing_accuracy: Share = F(0.6, "chance a case reaches the right department without shared data, with full reporting (seed 004: 信息孤岛)")
    routing_clarity_weight: Share = F(0.3, "share of the routing errors that fully clear responsibility lists remove (assumption)")
    bounce_delay: int = F(5, "days before a misrouted case comes back (推诿) [days] (assumption)", ge=1, le=365)
    p_push_back: Share = F(0.03, "daily chance a department pushes back a cross-department case it holds, at zero clarity and no ties [per day] (seed 002)")
    p_coordinate: Share = F(0.03, "daily chance of spontaneous cross-department coordination without shared data, ties or lists [per day] (assumption)")
    coordinate_clarity_gain: float = F(2.0, "relative rise of the odds of spontaneous coordination at fully clear responsibility lists [multiplier] (assumption)", ge=0, le=100)
    meeting_interval: int = F(7, "days between joint meetings (联席会议) [days] (assumption)", ge=1, le=365)
    meeting_slots: float = F(10.0, "cases a committee's joint meeting settles per 100,000 residents of its territory, at full attention and integration [cases] (assumption)", ge=0, le=10_000)
    referral_meetings: int = F(2, "joint meetings a referred case waits for before the referral lapses [count] (assumption)", ge=1, le=100)
    whistle_local_weight: float = F(0.5, "share of departments' whistle response that depends on the street's rating weight w_local; below 1, so that departments answer some whistles without it [share] (seed 004)", ge=0, lt=1)
    p_exposed_inspection: Share = F(0.01, "daily chance an inspection finds a concealed case nobody works on (压案 found out) [per day] (assumption)")
    p_exposed_hotline: Share = F(0.05, "daily chance that the first party of a concealed case, if the 12345 hotline reaches them, calls it in [per day] (assumption: about three weeks of nothing happening)")
    triage_days: int = F(2, "days a district or city centre takes to dispatch a case [days] (assumption)", ge=0, le=365)


class Network(Section):
    """The organisational network acts (MODEL §12.2): shared data (``shares_data``) and working ties
    (``works_with``) that routing, detection, whistles and coordination read."""

    routing_accuracy_data: Share = F(0.88, "chance a dispatcher (the whistling street, a district or the city centre) sends a case to the right department when it sees the lead department's data (both on the platform), with full reporting (assumption: v1's accuracy at full platform information, 0.6 + 0.4 x 0.7)")
    tie_initial: Share = F(0.1, "initial strength of every works_with tie (street - department, department - department) [0-1] (assumption)")
    tie_gain: Share = F(0.1, "share of the way to 1 a works_with tie grows with each jointly settled case or joint meeting [share] (assumption; Ansell & Gash 2008: trust built by small wins)")
    tie_decay: Share = F(0.005, "daily decay of a works_with tie on a day without contact [per day] (assumption: half-life about 140 days)")
    whistle_days: float = F(3.0, "mean days before departments report to a whistle at full power, full weight of the street's rating and a full tie [days] (C12)", ge=0.1, le=365)
    whistle_tie_floor: Share = F(0.5, "departments' whistle response with no street - department tie, relative to a full tie [share] (assumption)")
    whistle_deadline: int = F(2, "days a street waits for departments to report to its whistle before it passes the case up (escalated without penalty; the district centre dispatches it at once, the whistle having named the departments) [days] (assumption: handling.triage_days, so that a whistle is never slower than passing the case up)", ge=1, le=365)
    coordinate_tie_odds: float = F(3.0, "odds multiplier of spontaneous coordination between departments with a full tie (tie^strength: 1 with no tie) [multiplier] (assumption)", ge=1, le=100)
    coordinate_data_odds: float = F(4.0, "odds multiplier of spontaneous coordination when every department of the case is on the platform (they see each other's data) [multiplier] (assumption: v1's 1 + coordinate_info_gain 3)", ge=1, le=100)
    pushback_tie_cut: Share = F(0.5, "share of push-back (推诿) removed between departments with a full tie [share] (assumption)")


class Overload(Section):
    """Rationing, rushed work and shortcuts (MODEL §12.3, §12.4)."""

    overload_days: float = F(5.0, "a handler whose workable queue exceeds this many days of its capacity is overloaded and rushes: it gives each case only overload_days / queue_days of the work it still needs [days] (assumption)", ge=0.1, le=3_650)
    min_work_share: Share = F(0.2, "the least share of its remaining work a rushing handler still gives a case (assumption)", ge=0.01)
    rush_exponent: float = F(1.0, "finished work succeeds with the full chance x (share of the needed work done) ** rush_exponent [exponent] (assumption: proportional)", ge=0, le=10)
    deadline_priority: float = F(1.0, "weight of deadline urgency (elapsed share of the level's time limit) beside severity in triage [multiplier] (assumption)", ge=0, le=100)
    superficial_work: Share = F(0.3, "share of a case's needed work after which a unit that takes a shortcut closes it superficially (走过场) (assumption)", ge=0.01)


class Residents(Section):
    trust_mean: Share = F(0.6, "initial mean trust in the governance system (assumption)")
    trust_beta_a: float = F(6.0, "shape a of the initial trust, Beta(a, b) rescaled to trust_mean [count] (assumption)", ge=0.1, le=1000)
    trust_beta_b: float = F(4.0, "shape b of the initial trust, Beta(a, b) rescaled to trust_mean [count] (assumption)", ge=0.1, le=1000)
    grievance_mean: Share = F(0.05, "initial mean grievance (assumption)")
    grievance_decay: Share = F(0.02, "daily decay of grievance [per day] (assumption)")
    grievance_open: Share = F(0.01, "daily grievance rise for parties of an open case [per day] (assumption)")
    grievance_spread: Share = F(0.03, "daily pull towards neighbours' grievance, weighted by distrust [per day] (seed 000)")
    grievance_escalation: Share = F(0.1, "grievance added to parties at each escalation (assumption)")
    trust_learning: Share = F(0.3, "parties' trust moves this far towards their satisfaction at an outcome (assumption)")
    word_of_mouth: Share = F(0.05, "neighbours' trust moves this far towards the parties' satisfaction (assumption)")
    threshold_mean: Share = F(0.35, "mean mobilisation threshold (Granovetter) (assumption)")
    threshold_sd: Share = F(0.12, "spread of mobilisation thresholds (assumption)")
    threshold_min: Share = F(0.01, "lowest mobilisation threshold (assumption)")
    neighbour_boost: Share = F(0.4, "threshold lowering when all neighbours are mobilised (Granovetter) (assumption)")
    sat_resolved: Share = F(0.95, "satisfaction with a quick real resolution (assumption)")
    sat_slow: Share = F(0.2, "satisfaction lost when a resolution takes sat_slow_days or more (assumption)")
    sat_slow_days: float = F(60.0, "resolution time at which sat_slow is lost in full [days] (assumption)", ge=1, le=3_650)
    sat_min: Share = F(0.05, "lowest satisfaction with a real resolution (assumption)")
    sat_per_step: Share = F(0.05, "satisfaction lost per escalation or bounce (assumption)")
    sat_superficial: Share = F(0.25, "satisfaction with a superficial closure (C5 vs C8 gap) (assumption)")
    sat_withdrawn: Share = F(0.2, "satisfaction of parties who give up (assumption)")
    grievance_relief: Share = F(0.5, "share of the parties' grievance removed by a real resolution (assumption)")
    volunteer_days_year: float = F(12.0, "days a volunteer gives per year [days] (assumption)", ge=0, le=365)
    volunteer_reliability: Share = F(0.6, "share of pledged volunteer days actually given (MODEL §5)")
    # expectations and latent demand (MODEL §12.5): trust is the expectation that asking helps
    need_value_offset: float = F(0.5, "a need's value to its resident is (offset + severity): what asking could gain [gain] (assumption)", ge=0, le=10)
    ask_cost_community: float = F(0.6, "mean cost of bringing a need to the community or grid worker, in units of the expected gain trust x value; each need's cost is exponential with this mean [gain] (assumption)", ge=0.001, le=10)
    ask_cost_hotline: float = F(0.3, "mean cost of bringing a need through the 12345 hotline, for a resident it reaches (one number, any hour) [gain] (assumption)", ge=0.001, le=10)
    grievance_unmet: Share = F(0.1, "grievance added to a resident per unit severity of a need not brought forward (an unmet need) (assumption)")
    # waiting costs (MODEL §12.3) and what else moves trust (MODEL §12.5)
    wait_norm_days: int = F(15, "days a detected case may wait before its parties count the wait against the system [days] (C12: 15-day limit at community and street level)", ge=0, le=36_500)  # up to the longest run: a wait norm never reached
    trust_wait: Share = F(0.005, "share of trust lost per day a detected case waits beyond the norm [per day] (assumption)")
    grievance_wait: Share = F(0.005, "grievance added per day a detected case waits beyond the norm [per day] (assumption)")
    trust_per_step: Share = F(0.05, "share of trust lost at each bounce (推诿) or escalation of the parties' case (assumption)")
    grievance_per_step: Share = F(0.02, "grievance added at each bounce or escalation of the parties' case (assumption)")
    trust_discovered: Share = F(0.2, "share of trust lost when a superficial closure is discovered: it reopens or the hotline callback catches it (assumption)")
    grievance_discovered: Share = F(0.1, "grievance added when a superficial closure is discovered (assumption)")
    trust_memory_years: float = F(2.0, "years over which an experience's effect on trust fades: trust returns towards the resident's initial disposition at 1/(years x 365) of the distance a day [years] (assumption: effects of contacts with public services on institutional trust fade within a few years)", ge=0.1, le=100)
    trust_eruption_nearby: Share = F(0.05, "share of trust lost by the neighbours of an eruption's parties (assumption; seed 000: conflicts spread fast and wide)")


class Workforce(Section):
    admin_share: Share = F(0.45, "community workers' time on administrative burden (事多人少, seed 001)")
    data_entry_days: float = F(0.15, "person-days of data entry per case at full info sharing, no automation [days] (assumption)", ge=0, le=10)
    reporting_loss: Share = F(0.5, "loss of reporting when burden reduction is full and nothing is automated: platform data and dispatchers' routing suffer (减负 cost) (assumption)")
    turnover_base: Share = F(0.12, "yearly turnover of front-line workers without burnout (C9: ~20% overall)", fit=(0.05, 0.2))
    burnout_turnover: float = F(0.5, "extra yearly turnover at full burnout [share] (C9)", ge=0, le=2, fit=(0.05, 1.0))
    staff_turnover_base: Share = F(0.05, "yearly turnover of street and department staff (civil servants) without burnout (assumption: below community workers')")
    burnout_gain: Share = F(0.3, "burnout gained per period of overload (utilisation above overload_utilisation) (assumption)")
    overload_utilisation: Share = F(0.9, "utilisation above which a period counts as overload [share] (assumption)")
    burnout_recovery: Share = F(0.2, "burnout lost per period without overload (assumption)")
    vacancy_days: float = F(60.0, "mean days to refill a vacancy [days] (assumption)", ge=1, le=3_650)
    new_worker_skill: Share = F(0.8, "skill of a new worker or staff member relative to an experienced one, for a year (assumption)")
    transferable_dept_staff: Share = F(0.5, "share of department staff that can move down with devolved work (assumption)")
    moved_to_streets: Share = F(0.5, "share of the staff moved down that goes to streets; the rest goes to communities (assumption)")


class Evaluation(Section):
    period: int = F(30, "evaluation period [days] (MODEL §5)", ge=1, le=36_500)  # up to the longest run: never evaluated
    intrinsic: Share = F(0.5, "weight of real resolutions in a unit's own motivation (public service) (assumption)")
    effort_cost: Share = F(0.1, "cost of effort, quadratic [score units] (assumption; ODD D35)")
    learning_step: Share = F(0.1, "size of a trial change of effort, paperwork, closure or concealment (assumption)")
    trial_periods: int = F(3, "evaluation periods a unit runs its choices before judging a trial by their mean payoff; peers are compared by their mean payoff over as many periods [periods] (assumption)", ge=1, le=24)
    learning_noise: Share = F(0.05, "noise in how units perceive payoff differences (assumption)")
    imitation_rate: Share = F(1.0, "chance per period that a unit compares itself with a random peer of its kind: 1, as the period's ranking is published to all (social learning, Bevan & Hood 2006) [per period] (assumption)")
    imitation_gain: float = F(2.0, "chance of copying the peer's choices per unit of payoff by which the peer did better (proportional imitation, Schlag 1998) [per payoff unit] (assumption)", ge=0, le=100)
    callback_share: Share = F(1.0, "share of closures that get a satisfaction callback (回访) [share] (assumption)")
    callback_catch: Share = F(0.5, "chance a callback on a superficial closure reveals it (the caller says it is not solved); uncaught, it is recorded as a resolution [share] (assumption)")
    territory_blame: Share = F(1.0, "weight with which a case's community and street answer for its escalations for want of authority and its eruptions, where they did not hold it (权小责大, 属地管理) [share] (seed 002)")
    initial_effort: Share = F(0.7, "initial effort of units (assumption)")
    initial_paperwork: Share = F(0.2, "initial share of evaluated units' time on paperwork (traces) (assumption)")
    initial_superficial: Share = F(0.1, "initial propensity to take a shortcut on a case and to close a failed case superficially (assumption)")
    initial_conceal: Share = F(0.1, "initial propensity to conceal a case at its deadline (assumption)")
    min_effort: Share = F(0.2, "lowest effort a unit can choose (assumption)")
    max_paperwork: Share = F(0.5, "highest paperwork share a unit can choose (assumption)")
    trace_full: float = F(0.3, "paperwork share that earns a full process score [share] (assumption)", ge=0.01, le=1)
    eruption_penalty: float = F(2.0, "accountability penalty of an eruption, in escalations [multiplier] (assumption)", ge=0, le=100)
    exposure_penalty: float = F(2.0, "accountability penalty of a concealment found out (瞒报), in escalations, on top of the escalation it becomes [multiplier] (assumption: hiding is punished at least as hard as an eruption)", ge=0, le=100)
    no_callback_score: Share = F(0.5, "satisfaction or street rating score of a unit with no callbacks in the period (assumption)")


class Hotline(Section):
    """The 12345 hotline (接诉即办): dispatch, time limits and callbacks (MODEL §12.6)."""

    dispatch_days: int = F(0, "days the city dispatcher takes to send a demand to a street or a department (派单) [days] (C12: orders dispatched the same day)", ge=0, le=30)
    response_days: int = F(1, "time limit to acknowledge a hotline demand: the unit that has it must hold it ready to act [days] (C12: general requests 1 working day)", ge=0, le=30)
    callback_days: int = F(30, "days after filing at which the hotline calls back a caller whose demand is still open (the month's demands) [days] (assumption; MODEL §12.6)", ge=1, le=365)
    p_superficial_seen: Share = F(0.7, "chance a caller perceives a superficial closure as unsolved at the callback [share] (assumption; C5 vs C8)")
    sat_open: Share = F(0.1, "satisfaction of a caller whose demand is still open at the callback (assumption)")


class Costs(Section):
    funding: Literal["funded", "budget_neutral"] = F("funded", "funded: new spending relative to the baseline's levers (purchased services, platform, automation, moral programme, staff moved down as new posts) is added money; budget_neutral: staff moved down leave their departments and the rest of the new spending is cut from existing staff (MODEL §12.3)")
    staff_day: float = F(300.0, "cost of one staff day [yuan] (assumption)", ge=0, le=1e6)
    social_org_budget: float = F(20.0, "reference purchased-services budget [yuan per resident per year] (assumption)", ge=0, le=1e5)
    social_org_day: float = F(400.0, "cost of one purchased mediator day [yuan] (assumption)", ge=0, le=1e6)
    platform: float = F(1.5, "information platform: data infrastructure per resident of an integrated community [yuan per resident per year] (assumption: half of v1's 3 yuan per resident at full sharing, the other half now platform_unit)", ge=0, le=1e5)
    platform_unit: float = F(2250.0, "information platform: interfaces, terminals and upkeep per integrated unit (community, street, centre, department) [yuan per unit per year] (assumption: the other half of v1's 3 yuan per resident at full sharing, over the city preset's 319 integrable units per 240,000 residents)", ge=0, le=1e8)
    automation: float = F(2.0, "automated data entry at full automation [yuan per resident per year] (assumption)", ge=0, le=1e5)
    moral_programme: float = F(1.0, "moral education at full effort [yuan per resident per year] (assumption)", ge=0, le=1e5)
    drafting_days: float = F(200.0, "person-days per district to draft responsibility lists at full clarity, once [days] (assumption)", ge=0, le=1e6)


class ScheduleEntry(Section):
    """Lever values that take effect from ``day`` on (a reform switched on after a warm-up)."""

    day: int = F(..., "first reported day the values apply (day 0 follows the burn-in) [day]", ge=0, le=36_500)
    levers: dict[str, float] = Field(..., description="lever name -> new value")

    @model_validator(mode="after")
    def _known_levers(self):
        for name, value in self.levers.items():
            if name not in Levers.model_fields:
                raise ValueError(f"unknown lever {name!r}; allowed: {', '.join(LEVER_NAMES)}")
            Levers.model_validate({name: value})
        return self


class Scenario(Section):
    """One scenario file, fully resolved."""

    name: str = Field("scenario", description="short name: letters, digits, _ . - # (names output folders)",
                      pattern=NAME_PATTERN, max_length=80)
    description: str = Field("", description="what the scenario represents", max_length=10_000)
    description_zh: str = Field("", description="the same in Chinese (the zh report shows it; empty: the English one)",
                                max_length=10_000)
    preset: PresetName = F("city", "structure preset: classroom, city or tianjin (MODEL §2.1)")
    days: int = F(365, "reported days to simulate, after the burn-in [days]", ge=1, le=36500)
    burn_in: int = F(730, "days the city runs before reported day 0 under the baseline's levers (the schema's lever "
                          "defaults), so a run starts from a city that has been running; not reported [days] "
                          "(MODEL §12.1)", ge=0, le=36500)
    seed: int = F(1, "run seed (MODEL §8)", ge=0, le=2**63 - 1)
    structure: Structure = Structure()
    districts: Districts = Districts()
    levers: Levers = Levers()
    emergence: Emergence = Emergence()
    detection: Detection = Detection()
    lifecycle: Lifecycle = Lifecycle()
    handling: Handling = Handling()
    network: Network = Network()
    overload: Overload = Overload()
    residents: Residents = Residents()
    workforce: Workforce = Workforce()
    evaluation: Evaluation = Evaluation()
    hotline: Hotline = Hotline()
    costs: Costs = Costs()
    schedule: list[ScheduleEntry] = Field(default_factory=list, description="lever changes by day", max_length=10_000)

    @model_validator(mode="after")
    def _consistent_structure(self):
        c = self.counts()
        for lower, upper in (("streets", "districts"), ("communities", "streets"), ("grids", "communities")):
            if c[lower] < c[upper]:
                raise ValueError(f"structure: {lower} ({c[lower]}) must be at least {upper} ({c[upper]}) "
                                 f"with preset {self.preset!r}")
        for key in ("types", "population_shares"):
            given = getattr(self.districts, key)
            if given is not None and len(given) != c["districts"]:
                raise ValueError(f"districts: {key} lists {len(given)} districts; the structure has "
                                 f"{c['districts']} (preset {self.preset!r})")
        n = int(round(c["population"] / self.structure.population_scale))
        if n < c["communities"]:
            raise ValueError(f"structure: population / population_scale ({n}) must be at least communities "
                             f"({c['communities']})")
        return self

    def counts(self) -> dict[str, int]:
        return self.structure.resolved(self.preset)

    def n_residents(self) -> int:
        c = self.counts()
        return int(round(c["population"] / self.structure.population_scale))

    def levers_on(self, day: int) -> Levers:
        """The levers in force on ``day``: base values, then every schedule entry up to that day."""
        values = self.levers.model_dump()
        for entry in sorted(self.schedule, key=lambda e: e.day):
            if entry.day <= day:
                values.update(entry.levers)
        return Levers(**values)

    def to_toml_dict(self) -> dict:
        """Plain data for writing a fully resolved, re-runnable file."""
        data = self.model_dump(mode="json")
        data["structure"].update(self.counts())
        data["structure"] = {k: v for k, v in data["structure"].items() if v is not None}
        data["districts"] = {k: v for k, v in data["districts"].items() if v is not None}
        return data

    def district_layout(self) -> list[tuple[str, str, str, float]]:
        """The districts: (name, zh, type, population weight) each (``params.district_layout``)."""
        return district_layout(self.preset, self.counts()["districts"], self.districts)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


#: At most this many problems are listed, then how many more there are.
MAX_ERRORS = 20

#: What a strict type error expected, by pydantic's error type.
EXPECTED = {"float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
            "string_type": "a string", "list_type": "a list [...]", "dict_type": "a table",
            "model_type": "a table", "model_attributes_type": "a table", "literal_error": None}


def _described(value) -> str:
    """A user's value as they wrote it, with what kind of value it is (TOML's names)."""
    kind = {bool: "boolean", str: "string", int: "integer", float: "number", list: "list", dict: "table"}
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    if len(text) > 60:
        text = text[:57] + "..."
    return f"the {kind.get(type(value), type(value).__name__)} {text}"


def format_error(path: Path | str, err: ValidationError, root: type[BaseModel] | None = None) -> str:
    """One line per error: the file, the dotted key, what is wrong and what is allowed (keys of ``root``'s
    tables, by default a scenario's); the first ``MAX_ERRORS``, then how many more."""
    lines = []
    errors = err.errors()
    for e in errors[:MAX_ERRORS]:
        key = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            section = _section_for(e["loc"][:-1], root or Scenario)
            allowed = ", ".join(section.model_fields) if section else ""
            msg = f"unknown key; allowed here: {allowed}"
        elif e["type"] in EXPECTED and EXPECTED[e["type"]]:
            msg = f"expected {EXPECTED[e['type']]}, got {_described(e.get('input'))}"
        elif e["type"] == "string_pattern_mismatch":
            pattern = e.get("ctx", {}).get("pattern")
            msg = f"got {_described(e.get('input'))}; allowed: {PATTERN_WORDS.get(pattern, f'text matching {pattern}')}"
        elif "ctx" in e and e["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than",
                                          "finite_number", "too_long"):
            msg = f"{msg} (got {_described(e.get('input'))})" if e["type"] != "too_long" else msg
        lines.append(f"{path}: key '{key}': {msg}" if key else f"{path}: {msg}")
    if len(errors) > MAX_ERRORS:
        lines.append(f"{path}: ... and {len(errors) - MAX_ERRORS:,} more problem(s)")
    return "\n".join(lines)


def _section_for(loc, model: type[BaseModel]) -> type[BaseModel] | None:
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        inner = getattr(ann, "__args__", None)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        elif inner and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            model = inner[0]
        else:
            return None
    return model


def _deep_merge(base: dict, child: dict) -> dict:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


#: The largest scenario or spec file read (a long schedule is a few hundred kB): a guard against
#: a file that is not one, whose millions of keys would take minutes and gigabytes to check.
MAX_FILE_BYTES = 2_000_000


def read_toml(path: Path, error: type[Exception]) -> dict:
    """A TOML file's tables; ``error`` (naming the file) if it is too large, not UTF-8 or not valid TOML."""
    try:
        if (size := Path(path).stat().st_size) > MAX_FILE_BYTES:
            raise error(f"{path}: {size:,} bytes; a scenario or sweep spec file is at most {MAX_FILE_BYTES:,} "
                        "bytes")
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text: {exc}") from None


def _read_raw(path: Path, chain: tuple[Path, ...]) -> dict:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ScenarioError(f"{path}: key 'extends': cycle of extends ({cycle})")
    if not path.is_file():
        where = f"{chain[-1]}: key 'extends': " if chain else ""
        raise ScenarioError(f"{where}scenario file not found: {path}")
    raw = read_toml(path, ScenarioError)
    parent = raw.pop("extends", None)
    try:  # validate this file's own keys so errors name the file that has them
        Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(format_error(path, exc)) from None
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ScenarioError(f"{path}: key 'extends': must be a path string, got {parent!r}")
    base = _read_raw(_resolve_extends(path, parent), (*chain, path))
    base.pop("name", None)
    base.pop("description", None)
    base.pop("description_zh", None)
    return _deep_merge(base, raw)


def builtin_names() -> list[str]:
    return sorted(f.stem for f in scenarios_dir().glob("*.toml"))


def builtin_path(name: str) -> Path | None:
    """The built-in scenario file called ``name`` (with or without .toml), if there is one."""
    p = Path(name)
    if p.parent != Path(".") or p.suffix not in ("", ".toml"):
        return None
    f = scenarios_dir() / f"{p.stem}.toml"
    return f if f.is_file() else None


def _resolve_extends(path: Path, parent: str) -> Path:
    """``extends`` is a path relative to the file, or the name of a built-in scenario."""
    candidate = path.parent / parent
    if not candidate.exists():
        builtin = builtin_path(parent)
        if builtin is not None:
            return builtin
    return candidate


def load_scenario(source: str | Path | dict | Scenario | None = None, **overrides) -> Scenario:
    """Load and validate a scenario.

    Args:
        source: a TOML path, a built-in scenario name (``baseline``, ``wuzhi``...), a dict, a
            ``Scenario``, or None for the built-in defaults.
        overrides: top-level fields to replace (``preset``, ``days``, ``seed``...) or sections to
            update (``levers={"whistle_power": 0.8}`` changes that lever and keeps the others).
            Setting ``preset`` drops any explicit structure counts (and district types and shares)
            so the preset's apply.

    Raises:
        ScenarioError: with a message naming the file, the key and what is allowed.
    """
    label = "<dict>"
    if isinstance(source, Scenario):
        raw = source.model_dump()
    elif source is None:
        raw = {}
    elif isinstance(source, dict):
        raw = dict(source)
    else:
        path = Path(source)
        if not path.exists():
            builtin = builtin_path(str(source))
            if builtin is not None:
                path = builtin
            elif not path.suffix:
                raise ScenarioError(f"no scenario file or built-in scenario named {str(source)!r}; "
                                    f"built-in: {', '.join(builtin_names())}")
        label = str(path)
        raw = _read_raw(path, ())
    unknown = [k for k in overrides if k not in Scenario.model_fields]
    if unknown:
        raise ScenarioError(f"unknown scenario field(s) {', '.join(map(repr, unknown))} passed as keyword; "
                            f"allowed: {', '.join(Scenario.model_fields)} (levers go in levers={{...}})")
    if "preset" in overrides and overrides["preset"] is not None:
        struct = dict(raw.get("structure", {}))
        for key in PRESETS["city"]:
            struct.pop(key, None)
        raw["structure"] = struct
        dist = dict(raw.get("districts", {}))  # the preset's districts, like its counts
        for key in ("types", "population_shares"):
            dist.pop(key, None)
        raw["districts"] = dist
    for key, value in overrides.items():  # a section's table is merged into the scenario's, key by key
        if value is not None:
            raw[key] = _deep_merge(raw[key], value) if isinstance(value, dict) and isinstance(raw.get(key), dict) \
                else value
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        given = [k for k, v in overrides.items() if v is not None]
        where = f"{label} (with {', '.join(given)} given as options)" if given else label
        raise ScenarioError(format_error(where, exc)) from None


def scenarios_dir() -> Path:
    """The built-in scenario files: the repository's ``scenarios/`` or the installed copy."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "scenarios", here / "scenarios"):
        if candidate.is_dir():
            return candidate
    return here.parent / "scenarios"
