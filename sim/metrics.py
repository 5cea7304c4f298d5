"""Outputs (MODEL §7): daily rows, the case log and the run summary.

Daily figures come from counters the model bumps as events happen plus a few whole-array
reductions, so collecting them costs almost nothing (no reporter scans agents).

Everything here covers the reported period (MODEL §12.1): days are reported days (internal day
minus ``model.day0``); the case log and the summary's case counts hold the cases of the period,
those open at day 0 (created in the burn-in, ``created`` < 0) and those created since
(``in_period``); events are counted when they happen in the period (a case found in the burn-in
and resolved in the period counts as resolved, not as detected), rates are ratios of the
period's events; totals (budget, person-days, utilisation, turnover) start at day 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .disputes import TYPE_NAMES, Channel, Eruption, Handler, Level, State
from .registry import KPIS, RUN_TABLE

DAYS_PER_YEAR = 365.0

OUTCOME_COUNTER = {State.RESOLVED: "resolved", State.SUPERFICIAL: "closed_superficially",
                   State.ERUPTED: "erupted", State.WITHDRAWN: "withdrawn"}

#: Flows counted during a day (the first columns of timeseries.parquet after ``day``).
FLOWS = ("candidates", "new_cases", "needs_arisen", "needs_brought", "needs_hotline", "detected", "detected_report",
         "detected_patrol", "detected_data", "detected_hotline", "hotline_filed", "hotline_callbacks",
         "hotline_responded", "hotline_solved", "hotline_satisfied", "hotline_caught",
         "resolved", "closed_superficially", "erupted", "withdrawn", "petitions", "collective_incidents",
         "reopened", "exposed", "escalations", "escalations_to_street", "escalations_to_district", "escalations_to_city", "bounces", "whistles", "routings", "routings_correct", "whistle_answers",
         "whistle_delay_days", "whistle_passups", "passups", "passup_delay_days", "meeting_cases", "spontaneous", "push_backs", "joint_settled",
         "joint_meetings",
         "person_days", "finished", "rushed", "shortcuts", "outcomes", "outcomes_resolved", "satisfaction_sum", "dept_outcomes", "dept_resolved",
         "dept_satisfaction_sum")

#: 30-day rolling rates: name -> (numerator flow, denominator flow).
ROLLING = {"resolution_rate_30d": ("outcomes_resolved", "outcomes"),
           "satisfaction_30d": ("satisfaction_sum", "outcomes"),
           "dept_resolution_rate_30d": ("dept_resolved", "dept_outcomes"),
           "dept_satisfaction_30d": ("dept_satisfaction_sum", "dept_outcomes"),
           # the 三率 (MODEL §12.6): over the hotline callbacks of the last 30 days
           "hotline_response_rate_30d": ("hotline_responded", "hotline_callbacks"),
           "hotline_resolution_rate_30d": ("hotline_solved", "hotline_callbacks"),
           "hotline_satisfaction_rate_30d": ("hotline_satisfied", "hotline_callbacks"),
           "needs_brought_share_30d": ("needs_brought", "needs_arisen")}


def new_day() -> dict:
    return dict.fromkeys(FLOWS, 0)


@dataclass
class Totals:
    """Running totals that the case table cannot give back."""

    person_days: float = 0.0
    budget: float = 0.0
    worker_years: float = 0.0
    workers_left: float = 0.0
    staff_years: float = 0.0          # street and department staff present, over time
    staff_left: float = 0.0
    added_budget: float = 0.0         # yuan added to the baseline's budget (costs.funding)
    staff_cut: list = field(default_factory=list)  # daily share of staff cut to pay new spending
    utilisation: list = field(default_factory=list)

    def add_day(self, model) -> None:
        self.person_days += model.today["person_days"] * model.p.structure.population_scale
        self.budget += model.daily_cost()
        self.added_budget += model.costs.added_daily()
        self.staff_cut.append(model.costs.staff_cut())


def day_row(model) -> dict:
    """Flows of the day and stocks at its end."""
    cs, pop = model.table, model.population
    states = np.bincount(cs.state[: cs.n], minlength=len(State))
    ev = model.units.evaluated()
    kind = model.units.kind[ev]
    comm, dept = ev[kind == Handler.COMMUNITY], ev[kind == Handler.DEPARTMENT]
    row = {"day": model.day - model.day0, **model.today}  # reported day (negative in the burn-in)
    row.update(
        latent=int(states[State.LATENT]),
        active=int(states[State.ACTIVE]),
        open=int(states[State.LATENT] + states[State.ACTIVE]),
        backlog=int(cs.backlog[: cs.n][cs.state[: cs.n] == State.ACTIVE].sum()),
        mobilised=int(pop.mobilised.sum()),
        trust_mean=float(pop.trust.mean()),
        grievance_mean=float(pop.grievance.mean()),
        community_workers=model.workers_total(),
        effort_community=float(model.effort[comm].mean()),
        effort_department=float(model.effort[dept].mean()),
        paperwork_mean=float(model.paperwork[ev].mean()),
        superficial_mean=float(model.superficial[ev].mean()),
        conceal_mean=float(model.conceal[ev].mean()),
        tie_strength_mean=model.mechanisms.network.tie_strength_mean(),
    )
    return row


def timeseries(rows: list[dict]) -> pd.DataFrame:
    """One row per day with flows, stocks and the 30-day rolling rates."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["day", *FLOWS, *ROLLING])
    for name, (num, den) in ROLLING.items():
        n = df[num].rolling(30, min_periods=1).sum()
        d = df[den].rolling(30, min_periods=1).sum()
        df[name] = (n / d.where(d > 0)).astype(float)
    return df


def _levels_path(mask: np.ndarray) -> np.ndarray:
    names = [lv.name.lower() for lv in Level]
    paths = {m: ">".join(n for i, n in enumerate(names) if m & (1 << i)) for m in np.unique(mask)}
    return np.array([paths[m] for m in mask], dtype=object)


def in_period(model) -> np.ndarray:
    """Mask over the case table: the cases of the reported period (open at day 0, or created since)."""
    closed = model.table.column("closed")
    return (closed < 0) | (closed >= model.day0)


def _missing_where(values: np.ndarray, never: np.ndarray) -> pd.arrays.IntegerArray:
    """``values`` as a nullable integer column, missing (<NA>) where ``never``."""
    out = pd.array(values, dtype="Int32")
    out[never] = pd.NA
    return out


def case_log(model) -> pd.DataFrame:
    """One row per case of the reported period: what it was, how it was found, where it went, how
    it ended. Days are reported days (``created`` < 0: emerged in the burn-in, open at day 0);
    ``detected`` and ``closed`` are missing (<NA>) for a case not found or not closed."""
    cs = model.table
    keep = np.flatnonzero(in_period(model))

    def col(name):
        return cs.column(name)[keep]

    closed, detected, created = col("closed"), col("detected"), col("created")
    end = np.where(closed >= 0, closed, model.day)
    channel_names = np.array([c.name.lower() for c in Channel] + ["none"], dtype=object)
    state_names = np.array([s.name.lower() for s in State], dtype=object)
    level_names = np.array([lv.name.lower() for lv in Level] + ["none"], dtype=object)
    handler_names = np.array([h.name.lower() for h in Handler] + ["none"], dtype=object)
    eruption_names = np.array([e.name.lower() for e in Eruption], dtype=object)
    return pd.DataFrame({
        "case": keep,
        "type": pd.Categorical.from_codes(col("type"), TYPE_NAMES),
        "family": np.where(col("family") == 1, "demand", "dispute"),
        "severity_initial": col("severity0"),
        "severity": col("severity"),
        "needs_dept": col("needs_dept"),
        "n_depts": col("n_depts"),
        "n_parties": col("n_parties"),
        "community": col("community"),
        "street": col("street"),
        "district": col("district"),
        "created": created - model.day0,
        "detected": _missing_where(detected - model.day0, detected < 0),
        "closed": _missing_where(closed - model.day0, closed < 0),
        "channel": channel_names[col("channel")],
        "levels_visited": _levels_path(col("visited")),
        "escalations": col("escalations"),
        "bounces": col("bounces"),
        "whistled": col("whistled"),
        "concealed": col("concealed"),
        "reopened": col("reopened"),
        "days": end - created,  # from emergence to closure (or to the end of the run)
        "days_handled": _missing_where(end - detected, detected < 0),  # from detection (<NA>: never found)
        "outcome": state_names[col("state")],
        "outcome_level": level_names[col("outcome_level")],
        "outcome_handler": handler_names[col("outcome_handler")],
        "eruption": eruption_names[col("eruption")],
        "satisfaction": col("satisfaction"),
        "backlog": col("backlog"),
    })


@dataclass
class NetworkSnapshot:
    """The organisational network of a run on one day, as tables (what figures draw).

    ``nodes``: one row per organisation: ``node`` (stable name), ``kind``, ``level``, ``unit``
    (index into the model's units, -1 for party committees and the platform), ``district``,
    ``street``, ``community`` (-1 where none), ``domain`` (departments), and the unit's state
    that day: ``integrated`` (on the shared platform), ``queue`` (open cases held), ``capacity``
    (person-days for cases), ``effort``.
    ``edges``: one row per tie: ``source``, ``target``, ``relation`` (``leads``, ``belongs_to``,
    ``serves``, ``contract``, ``shares_data``, ``works_with``) and ``weight`` (a works_with tie's
    strength that day; 1 for the other relations).
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    day: int
    scenario: str
    seed: int


def network_snapshot(model) -> NetworkSnapshot:
    """The organisational network of ``model`` today, with each unit's queue, capacity and effort."""
    G = model.org_network
    rows = []
    for node, d in G.nodes(data=True):
        rows.append({"node": node, "kind": d["kind"], "level": d["level"], "unit": d.get("unit", -1),
                     "district": d.get("district", -1), "street": d.get("street", -1),
                     "community": d.get("community", -1), "domain": d.get("domain", ""),
                     "integrated": bool(d.get("integrated", False))})
    nodes = pd.DataFrame(rows)
    unit = nodes["unit"].to_numpy()
    has = unit >= 0
    queue, capacity, effort = np.zeros(len(nodes)), np.zeros(len(nodes)), np.full(len(nodes), np.nan)
    queue[has] = model.queue_lengths()[unit[has]]
    capacity[has] = model.capacity[unit[has]]
    effort[has] = model.effort[unit[has]]
    nodes = nodes.assign(queue=queue.astype(np.int64), capacity=capacity, effort=effort)
    edges = pd.DataFrame([{"source": u, "target": v, "relation": k, "weight": float(d.get("weight", 1.0))}
                          for u, v, k, d in G.edges(keys=True, data=True)],
                         columns=["source", "target", "relation", "weight"])
    return NetworkSnapshot(nodes, edges, int(model.day - model.day0), model.p.name, int(model.p.seed))


#: Columns of ``network.parquet`` (``network_table``): ``element`` is "node" or "edge".
NETWORK_COLUMNS = ("element", "node", "target", "relation", "weight", "kind", "level", "unit", "district", "street",
                   "community", "domain", "integrated", "queue", "capacity", "effort")


def network_table(snapshot: NetworkSnapshot) -> pd.DataFrame:
    """The snapshot as one table (``network.parquet``): node rows (``node`` and the unit's state),
    then edge rows (``node`` the source, ``target``, ``relation``, ``weight``); the other columns
    are empty (<NA>) on the rows they do not describe."""
    nodes = snapshot.nodes.assign(element="node")
    edges = snapshot.edges.rename(columns={"source": "node"}).assign(element="edge")
    frame = pd.concat([nodes, edges], ignore_index=True)
    frame = frame.astype({"unit": "Int64", "district": "Int64", "street": "Int64", "community": "Int64",
                          "queue": "Int64", "integrated": "boolean"})
    return frame[list(NETWORK_COLUMNS)]


def read_network(frame: pd.DataFrame, day: int = -1, scenario: str = "", seed: int = -1) -> NetworkSnapshot:
    """A ``NetworkSnapshot`` back from ``network.parquet``'s table (``network_table``)."""
    node_cols = ["node", "kind", "level", "unit", "district", "street", "community", "domain", "integrated", "queue",
                 "capacity", "effort"]
    nodes = frame[frame["element"] == "node"][node_cols].reset_index(drop=True)
    edges = frame[frame["element"] == "edge"][["node", "target", "relation", "weight"]]
    edges = edges.rename(columns={"node": "source"}).reset_index(drop=True)
    return NetworkSnapshot(nodes, edges, day, scenario, seed)


def _rate(num: float, den: float) -> float:
    return float(num / den) if den > 0 else float("nan")


class Period:
    """The case table restricted to the reported period (``in_period``), in internal days.

    ``col(name)`` is a column over the period's cases; ``found`` marks those detected in the
    period, ``closed_in`` those closed in it (every outcome of a period case is), ``judged``
    the outcomes someone experienced (faded cases excluded)."""

    def __init__(self, model):
        self.model = model
        self.index = np.flatnonzero(in_period(model))
        self.found = self.col("detected") >= model.day0
        self.judged = ~np.isnan(self.col("satisfaction"))  # closed in the period (or never judged)
        self.days = max(model.day - model.day0, 1)

    def col(self, name: str) -> np.ndarray:
        return self.model.table.column(name)[self.index]


LAND = TYPE_NAMES.index("land")


def collective_petitions(col) -> np.ndarray:
    """Cases that became collective incidents or group petitions (a petition by a group dispute,
    more than one party): the collective petitions of C10."""
    eruption = col("eruption")
    return (eruption == Eruption.COLLECTIVE_INCIDENT) | ((eruption == Eruption.PETITION) & (col("n_parties") > 1))


#: Columns of ``districts.parquet`` (``district_table``): the district's identity, then ``registry.DISTRICT_KPIS``.
DISTRICT_IDENTITY = ("district", "name", "name_zh", "type", "type_zh")


def district_table(model) -> pd.DataFrame:
    """One row per district (MODEL §12.7): its name, type and size, and the run's KPIs computed over
    the cases of the reported period in it (a case belongs to the district of its community; as in
    ``summary``: ``cases`` arose in the period, outcomes and detections are the period's) and its residents.
    Counts are of simulated cases and residents; per-resident figures are per simulated resident per
    year (the same at any ``population_scale``). ``staff_cost_per_resident_year`` is what the
    district's own units (community workers, street offices, social organisations' purchased
    services, the district centre and departments) cost a year at the run's end, plus the per-resident
    programmes (platform, automation, moral education); city units are not shared out."""
    from .params import DISTRICT_TYPE_ZH
    t, pop = model.territory, model.population
    p = Period(model)  # the reported period's cases (MODEL §12.1)
    col = p.col
    D = t.n_districts
    district, state = col("district"), col("state")

    def count(mask=None) -> np.ndarray:
        return np.bincount(district if mask is None else district[mask], minlength=D)

    residents = np.bincount(t.community_district[pop.community], minlength=D)
    years = p.days / 365.0
    judged = p.judged
    new = col("created") >= model.day0  # arose in the period
    resolved = state == State.RESOLVED
    erupted = state == State.ERUPTED
    eruption = col("eruption")
    group = collective_petitions(col)
    land = col("type") == LAND
    cases, outcomes, n_group = count(new), count(judged), count(group)
    trust = np.bincount(t.community_district[pop.community], weights=pop.trust, minlength=D) / np.maximum(residents, 1)
    # the district's own units' yearly cost (staff paid whether busy or not, as in costs.daily)
    u, c = model.units, model.p.costs
    staff = np.zeros(D)
    np.add.at(staff, t.community_district[[x.index for x in model.communities]], [x.workers for x in model.communities])
    np.add.at(staff, t.street_district[[x.index for x in model.streets]], [x.staff + x.moved_in for x in model.streets])
    for x in model.centres:
        if u.district[x.unit] >= 0:
            staff[u.district[x.unit]] += x.staff
    for x in model.departments:
        if x.district is not None:
            staff[x.district] += max(x.staff - x.moved_out, 0.0)
    lv = model.levers
    per_resident = (lv.social_org_funding * c.social_org_budget
                    + lv.automation * c.automation + lv.moral_education * c.moral_programme)
    platform = model.mechanisms.network.platform_cost_year(lv.info_sharing)[:D]  # the city's own units not shared out
    cost = (staff * c.staff_day * 365.0 + platform) / np.maximum(residents, 1) + per_resident
    frame = pd.DataFrame({
        "district": np.arange(D),
        "name": list(t.district_names),
        "name_zh": list(t.district_zh),
        "type": list(t.district_type_names),
        "type_zh": [DISTRICT_TYPE_ZH[k] for k in t.district_type_names],
        "residents": residents,
        "streets": np.bincount(t.street_district, minlength=D),
        "communities": np.bincount(t.community_district, minlength=D),
        "cases": cases,
        "land_share_new": count(land & new) / np.where(cases > 0, cases, np.nan),
        "cases_per_1000_year": 1000.0 * cases / np.maximum(residents, 1) / years,
        "detected": count(p.found),
        "resolved": count(resolved),
        "outcomes": outcomes,
        "resolution_rate": count(resolved & judged) / np.where(outcomes > 0, outcomes, np.nan),
        "erupted": count(erupted),
        "eruptions_per_100k_year": 1e5 * count(erupted) / np.maximum(residents, 1) / years,
        "petitions": count(eruption == Eruption.PETITION),
        "collective_incidents": count(eruption == Eruption.COLLECTIVE_INCIDENT),
        "collective_petitions": n_group,
        "collective_petitions_land_share": count(group & land) / np.where(n_group > 0, n_group, np.nan),
        "trust_mean_end": trust,
        "staff_cost_per_resident_year": cost,
    })
    return frame
def hotline_measures(model) -> dict:
    """The 三率 over the hotline demands called back (MODEL §12.6), and the needs brought forward
    (MODEL §12.5): ``hotline_response_rate`` (acknowledged within the time limit),
    ``hotline_resolution_rate`` (the caller says solved), ``hotline_satisfaction_rate``.
    Over the reported period (MODEL §12.1; ``day0`` is 0 without a burn-in): callbacks made in it,
    demands filed in it, and the days' flows of reported days (``day`` >= 0)."""
    col = model.table.column
    day0 = getattr(model, "day0", 0)
    called = col("hl_callback") >= day0
    n = called.sum()
    rows = [r for r in model.rows if r["day"] >= 0]
    arisen = sum(r["needs_arisen"] for r in rows)
    brought = sum(r["needs_brought"] for r in rows)
    return {
        "needs_arisen": int(arisen),
        "needs_brought_share": _rate(brought, arisen),
        "hotline_demands": int(((col("channel") == Channel.HOTLINE) & (col("detected") >= day0)).sum()),
        "hotline_response_rate": _rate((col("hl_responded") & called).sum(), n),
        "hotline_resolution_rate": _rate((col("hl_solved") & called).sum(), n),
        "hotline_satisfaction_rate": _rate((col("hl_satisfied") & called).sum(), n),
    }


def calibration_measures(model, period: Period | None = None) -> dict:
    """The quantities of CALIBRATION.md as the model measures them in the reported period (see
    docs/CALIBRATION.md).

    C1, C3, C4 and C5 are people's-mediation statistics: they count the interpersonal disputes
    that mediation can settle, i.e. those that need no department's decision (the others are in
    the department figures, C8). Department requests (C8) count every one detected in the
    period, so a request still open at the end is not resolved ("every request acknowledged");
    C13 counts the demands on units that reached one.
    """
    p = period or Period(model)
    col = p.col
    state, detected = col("state"), p.found
    dispute = (col("family") == 0) & ~col("needs_dept")
    judged = p.judged
    resolved = state == State.RESOLVED
    closed = resolved | (state == State.SUPERFICIAL)
    found = dispute & detected
    per_year = 365.0 / p.days
    dept = col("needs_dept") & detected
    return {
        "disputes_per_1000_year": 1000.0 * found.sum() / model.population.n * per_year,
        "disputes_found_proactively": _rate((found & (col("channel") != Channel.REPORT)).sum(), found.sum()),
        "disputes_front_line_share": _rate((dispute & resolved & (col("outcome_level") <= Level.STREET)).sum(),
                                           (dispute & resolved).sum()),
        "disputes_closure_rate_reported": _rate((dispute & closed & judged).sum(), (dispute & judged).sum()),
        "dept_resolved_share": _rate((dept & resolved).sum(), dept.sum()),
        # C13: actionable requests reaching units through the 12345 hotline (Beijing's figure counts its calls)
        "demands_per_resident_year": float(((col("family") == 1) & detected & (col("channel") == Channel.HOTLINE)).sum()
                                           / model.population.n * per_year),
        # C10: land acquisition and demolition behind > 70% of collective petitions
        "collective_petitions_land_share": _rate((collective_petitions(col) & (col("type") == LAND)).sum(),
                                                 collective_petitions(col).sum()),
        **hotline_measures(model),  # C8 through the hotline's own measures (CALIBRATION.md v2)
    }


def summary(model) -> dict:
    """The run's KPIs over the reported period. Rates over cases that reached an outcome in the
    period; ``dept_*`` over those that needed a department; counts of outcomes are the period's
    (a case open at day 0 counts when it closes); ``cases_total`` the cases created in the period,
    ``cases_open_start`` those open at day 0; stocks (``*_end``) at the end."""
    p, ts = Period(model), model.totals
    col = p.col
    state = col("state")
    judged = p.judged
    resolved = state == State.RESOLVED
    superficial = state == State.SUPERFICIAL
    dept = col("needs_dept") & judged
    res_level = col("outcome_level")[resolved]
    days = (col("closed") - np.maximum(col("detected"), col("created")))[resolved]
    found = p.found
    to_detect = (col("detected") - col("created"))[found]  # brewing time before a case was found
    flows = {k: sum(r[k] for r in model.rows) for k in FLOWS}
    n_res = int(resolved.sum())
    communities = col("community")[judged]
    per_comm_out = np.bincount(communities, minlength=model.territory.n_communities)
    per_comm_res = np.bincount(col("community")[resolved & judged], minlength=model.territory.n_communities)
    enough = per_comm_out >= 5
    comm_rates = per_comm_res[enough] / per_comm_out[enough]
    created = col("created") >= model.day0
    return {
        "scenario": model.p.name,
        "seed": model.p.seed,
        "preset": model.p.preset,
        "residents": int(model.population.n),
        "communities": int(model.territory.n_communities),
        "days": int(model.day - model.day0),
        "burn_in": int(model.day0),
        "cases_total": int(created.sum()),
        "cases_open_start": int((~created).sum()),
        "detected": int(found.sum()),
        "resolved": n_res,
        "closed_superficially": int(flows["closed_superficially"]),
        "reopened": int(flows["reopened"]),
        "superficial_end": int(superficial.sum()),
        "erupted": int((state == State.ERUPTED).sum()),
        "withdrawn": int((state == State.WITHDRAWN).sum()),
        "open_end": int((state <= State.ACTIVE).sum()),
        "resolution_rate": _rate(n_res, judged.sum()),
        "resolved_per_detected": _rate(n_res, found.sum()),
        "closure_rate_reported": _rate((resolved | superficial).sum(), judged.sum()),
        "median_days_to_resolve": float(np.median(days)) if len(days) else float("nan"),
        "p90_days_to_resolve": float(np.percentile(days, 90)) if len(days) else float("nan"),
        "median_days_to_detect": float(np.median(to_detect)) if len(to_detect) else float("nan"),
        "share_resolved_grassroots": _rate((res_level == Level.GRASSROOTS).sum(), n_res),
        "share_resolved_street": _rate((res_level == Level.STREET).sum(), n_res),
        "share_resolved_above_street": _rate((res_level >= Level.DISTRICT).sum(), n_res),
        "escalations": int(flows["escalations"]),
        "escalations_to_street": int(flows["escalations_to_street"]),
        "escalations_to_district": int(flows["escalations_to_district"]),
        "escalations_to_city": int(flows["escalations_to_city"]),
        "bounces": int(flows["bounces"]),
        "routing_accuracy": _rate(flows["routings_correct"], flows["routings"]),
        "whistles": int(flows["whistles"]),
        "whistle_answer_rate": _rate(flows["whistle_answers"], flows["whistles"]),
        "whistle_delay_mean": _rate(flows["whistle_delay_days"], flows["whistle_answers"]),
        "passup_delay_mean": _rate(flows["passup_delay_days"], flows["passups"]),
        "platform_share": model.mechanisms.network.platform_share(),
        "tie_strength_mean": model.mechanisms.network.tie_strength_mean(),
        "petitions": int(flows["petitions"]),
        "collective_incidents": int(flows["collective_incidents"]),
        "backlog_end": int((col("backlog") & (state == State.ACTIVE)).sum()),
        "trust_mean_end": float(model.population.trust.mean()),
        "grievance_mean_end": float(model.population.grievance.mean()),
        "satisfaction_mean": float(np.nanmean(col("satisfaction"))) if judged.any() else float("nan"),
        "dept_resolution_rate": _rate((resolved & dept).sum(), dept.sum()),
        "dept_satisfaction": float(col("satisfaction")[dept].mean()) if dept.any() else float("nan"),
        "community_resolution_gap": float(np.percentile(comm_rates, 90) - np.percentile(comm_rates, 10))
        if len(comm_rates) else float("nan"),
        **calibration_measures(model, p),
        "worker_utilisation_mean": float(np.mean(ts.utilisation)) if ts.utilisation else float("nan"),
        "worker_turnover": _rate(ts.workers_left, ts.worker_years),
        "staff_turnover": _rate(ts.staff_left, ts.staff_years),
        "rushed_share": _rate(flows["rushed"], flows["finished"]),
        "person_days": float(ts.person_days),
        "budget": float(ts.budget),
        "cost_per_resolved": _rate(ts.budget, n_res * model.p.structure.population_scale),
        "added_budget_per_resident": _rate(ts.added_budget * DAYS_PER_YEAR / max(model.day, 1),
                                           model.population.n * model.p.structure.population_scale),
        "staff_cut_share": float(np.mean(ts.staff_cut)) if ts.staff_cut else 0.0,
    }


def kpi_table(summaries: dict[str, dict]) -> str:
    """A plain-text table: one row per KPI of ``registry.RUN_TABLE`` (in its format), one column per run."""
    names = list(summaries)
    width = max(12, *(len(n) for n in names))
    lines = [f"{'KPI':<28}" + "".join(f"{n:>{width + 2}}" for n in names)]
    for key in RUN_TABLE:
        fmt = KPIS[key].fmt
        cells = []
        for n in names:
            v = summaries[n].get(key)
            cells.append("n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v))
        lines.append(f"{key:<28}" + "".join(f"{c:>{width + 2}}" for c in cells))
    return "\n".join(lines)
