"""Each mechanism in isolation moves the way MODEL §3-§5 says it should.

Every test changes one lever (or one group of emergence parameters) and compares against the
same scenario and seed with the lever at another value. Unless a test says otherwise it runs
the ``classroom`` preset (3,000 residents, ~250 cases a year) for one year with
``grievance_hazard = 0``: the emerging disputes are then the same in both arms (common random
numbers, MODEL §8), so a difference comes from the lever, not from a different case load.

Tolerances are derived from sampling theory, never "looks about right":

* a share (routing accuracy, share resolved at the grassroots) is compared with a one-sided
  two-proportion z-test, pooled over seeds, and must clear z > 3 (the 3-SD rule; the chance
  of a false alarm under "no effect" is ~0.1%);
* a count of events (bounces, resolutions at the grassroots) is compared as two Poisson
  counts: (a - b) / sqrt(a + b) > 3; bounces of one case are not independent (a case can
  bounce several times), so every such test also asks for the direction in each seed;
* waiting times are compared with a one-sided Mann-Whitney U test at p < 0.001.

Boundary tests ("lever at 0 => the mechanism never fires") are checked every simulated day and
come with a positive control (the lever on => it fires), so that neither can pass vacuously.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from conftest import make_model
from scipy import stats

from sim.disputes import Handler
from sim.mechanisms.information import reporting

SEEDS = (1, 2, 3)
QUIET = {"grievance_hazard": 0.0}  # emergence independent of the residents' state: identical cases in both arms


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _freeze(sections: dict) -> tuple:
    return tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v) for k, v in sections.items()))


@functools.lru_cache(maxsize=None)
def _run_cached(base: str, days: int, seed: int, frozen: tuple):
    sections = {k: dict(v) if isinstance(v, tuple) else v for k, v in frozen}
    return make_model(base, days=days, seed=seed, **sections).run()


def run(base: str = "baseline", days: int = 365, seed: int = 1, **sections):
    """A finished classroom run, shared between tests of this module (runs are deterministic)."""
    return _run_cached(base, days, seed, _freeze(sections))


def run_watching(model, days: int, watch):
    """Step ``model`` ``days`` times, calling ``watch(model)`` after every step."""
    for _ in range(days):
        model.step()
        watch(model)
    return model


def z_two_proportions(x1: int, n1: int, x2: int, n2: int) -> float:
    """z of p1 - p2 (pooled standard error)."""
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se


def z_poisson(a: int, b: int) -> float:
    """z of a - b for two Poisson counts."""
    return (a - b) / math.sqrt(a + b)


# ---------------------------------------------------------------------------------------------
# emergence
# ---------------------------------------------------------------------------------------------


def test_no_emergence_means_no_cases_ever():
    m = make_model(days=120, emergence={"disputes_per_1000_year": 0.0, "demands_per_resident_year": 0.0})
    run_watching(m, 120, lambda m: None)
    ts = m.timeseries()
    assert len(ts) == 120
    for col in ("candidates", "new_cases", "detected", "routings", "outcomes"):
        assert (ts[col] == 0).all(), col
    assert m.table.n == 0
    assert m.summary()["cases_total"] == 0
    # positive control: the same seed with default emergence does create cases in that time
    assert run(days=120).table.n > 0


def test_moral_education_thins_accepted_disputes_slowly():
    """德治 lowers the acceptance of candidate disputes, maturing over ``moral_ramp_days``.

    With grievance_hazard = 0 the candidates and their uniform draws are identical in both arms,
    and a candidate is accepted when u < 1 - moral_effect * matured_moral. The accepted disputes
    at moral_education = 1 are therefore a thinning of those at 0: never more on any day, and
    in total Binomial with day-t retention q_t = 1 - moral_effect * m_t, where
    m_t = 1 - (1 - 1/ramp)^(t+1) (the matured level on day t). Tolerance: 3 SD of that thinning.
    """
    days = 730
    off = make_model(days=days, levers={"moral_education": 0.0}, emergence=QUIET).run()
    on = make_model(days=days, levers={"moral_education": 1.0}, emergence=QUIET).run()
    a, b = off.timeseries(), on.timeseries()
    for ts in (a, b):  # accepted candidates: disputes and needs, brought forward or not (MODEL §12.5)
        ts["new_cases"] = ts["new_cases"] - ts["needs_brought"] + ts["needs_arisen"]
    assert (a["candidates"].to_numpy() == b["candidates"].to_numpy()).all()
    assert (b["new_cases"].to_numpy() <= a["new_cases"].to_numpy()).all()

    e = off.p.emergence
    t = np.arange(days)
    q = 1.0 - e.moral_effect * (1.0 - (1.0 - 1.0 / e.moral_ramp_days) ** (t + 1))
    n0 = a["new_cases"].to_numpy()
    expected = float((n0 * q).sum())
    sd = math.sqrt(float((n0 * q * (1 - q)).sum()))
    observed = int(b["new_cases"].sum())
    assert observed < n0.sum()
    assert abs(observed - expected) < 3 * sd, (observed, expected, sd)

    # slow: the effect in the first 90 days is far smaller than in the second year
    early = 1 - b["new_cases"][:90].sum() / a["new_cases"][:90].sum()
    late = 1 - b["new_cases"][365:].sum() / a["new_cases"][365:].sum()
    assert late > early + 0.08, (early, late)


@pytest.mark.slow
def test_moral_education_fewer_disputes_with_grievance_feedback():
    """The same over two years with the default grievance feedback (cases no longer common):
    pooled over two seeds, fewer cases arise in the reported days at moral_education = 1
    (Poisson z > 3; the burn-in's cases are the same in both arms and are not counted)."""
    def arisen(seed: int, level: float) -> int:
        m = make_model(days=730, seed=seed, levers={"moral_education": level}).run()
        return int(m.timeseries()["new_cases"].sum())

    a = b = 0
    for seed in (1, 2):
        a += arisen(seed, 0.0)
        b += arisen(seed, 1.0)
    assert z_poisson(a, b) > 3, (a, b)


# ---------------------------------------------------------------------------------------------
# information sharing (一网统管)
# ---------------------------------------------------------------------------------------------


def test_info_sharing_raises_routing_accuracy():
    """Routing is right with a chance that rises with shared data (MODEL §3.6)."""
    x = {0.0: [0, 0], 1.0: [0, 0]}
    for level in x:
        for seed in SEEDS:
            ts = run(seed=seed, levers={"info_sharing": level}, emergence=QUIET).timeseries()
            x[level][0] += int(ts["routings_correct"].sum())
            x[level][1] += int(ts["routings"].sum())
        assert x[level][1] > 200  # enough routings for the test to have power
    z = z_two_proportions(*x[1.0], *x[0.0])
    assert z > 3, (x, z)
    for seed in SEEDS:  # and the summary KPI agrees in every seed
        hi = run(seed=seed, levers={"info_sharing": 1.0}, emergence=QUIET).summary()["routing_accuracy"]
        lo = run(seed=seed, levers={"info_sharing": 0.0}, emergence=QUIET).summary()["routing_accuracy"]
        assert hi > lo


def test_info_sharing_reduces_bounces():
    """Fewer misroutings and push-backs (推诿) with shared data (claim 1 of MODEL §10, mechanism level)."""
    lo = [run(seed=s, levers={"info_sharing": 0.0}, emergence=QUIET).summary()["bounces"] for s in SEEDS]
    hi = [run(seed=s, levers={"info_sharing": 1.0}, emergence=QUIET).summary()["bounces"] for s in SEEDS]
    assert all(h < l for h, l in zip(hi, lo)), (lo, hi)
    assert z_poisson(sum(lo), sum(hi)) > 3, (lo, hi)


def test_no_info_sharing_no_data_detections():
    """The data channel (智治 early warning) exists only with shared data."""
    for seed in SEEDS:
        off = run(seed=seed, levers={"info_sharing": 0.0}, emergence=QUIET)
        on = run(seed=seed, levers={"info_sharing": 1.0}, emergence=QUIET)
        ts_off, ts_on = off.timeseries(), on.timeseries()
        assert (ts_off["detected_data"] == 0).all()
        assert (off.cases()["channel"] != "data").all()
        assert ts_on["detected_data"].sum() > 0
        for ts in (ts_off, ts_on):  # the four channels partition the detections, every day
            channels = ts["detected_report"] + ts["detected_patrol"] + ts["detected_data"] + ts["detected_hotline"]
            assert (channels == ts["detected"]).all()


# ---------------------------------------------------------------------------------------------
# whistles (吹哨报到)
# ---------------------------------------------------------------------------------------------


#: Street - department ties held at full strength and a deadline no whistle reaches: the report
#: delay is then the plain geometric one of ``Department.whistle_response`` at a full tie
#: (tests/test_network.py tests the ties and the deadline themselves).
FULL_TIES = {"tie_initial": 1.0, "tie_gain": 0.0, "tie_decay": 0.0, "whistle_deadline": 365}


def _whistle_run(seed: int, whistle_power: float, days: int = 365, w_local: float = 0.0):
    """Run (ties held at full strength, ``FULL_TIES``) and record, for every whistled case, the day it
    was whistled, the department's report delay set at the whistle (correctly routed cases only) and
    the first day a department spent work on it (the handling stage's ``step`` is wrapped on the
    instance, sim/ is untouched)."""
    m = make_model(days=days, seed=seed, levers={"whistle_power": whistle_power, "w_local": w_local},
                   emergence=QUIET, network=FULL_TIES)
    cs = m.table
    first_work: dict[int, int] = {}
    handling = m.mechanisms.handling
    handle = handling.step

    def handle_and_record():
        n = cs.n
        handler0, work0 = cs.handler[:n].copy(), cs.work[:n].copy()
        handle()
        for i in np.flatnonzero((handler0 == Handler.DEPARTMENT) & (cs.work[:n] < work0)):
            first_work.setdefault(int(i), m.reported_day)

    handling.step = handle_and_record
    whistled_on: dict[int, int] = {}
    report_delay: list[int] = []
    for day in range(days):
        before = cs.whistled[: cs.n].copy()
        m.step()
        new = cs.whistled[: cs.n].copy()
        new[: len(before)] &= ~before
        new = np.flatnonzero(new)
        for i in new:
            whistled_on[int(i)] = day
        ok = new[(cs.handler[new] == Handler.DEPARTMENT) & ~cs.misrouted[new]]
        report_delay += (cs.wait_until[ok] - (m.day0 + day)).tolist()  # wait_until is an internal day
    return m, whistled_on, first_work, np.array(report_delay)


@functools.lru_cache(maxsize=None)
def whistle_run(seed: int, whistle_power: float):
    return _whistle_run(seed, whistle_power)


def test_whistle_power_speeds_department_response():
    """More whistle power: departments come sooner to a street's whistle (MODEL §3.5).

    Both arms can whistle (0.2 vs 1.0). Response = days from the whistle to the first day a
    department works on the case; cases whistled in the last 120 days are left out and the rest
    censored at the run's end (equal censoring in both arms). Pooled over three seeds, a one-sided
    Mann-Whitney test at p < 0.001, and the median is shorter in every seed.
    """
    days = 365
    pooled = {}
    medians = {}
    for wp in (0.2, 1.0):
        resp_all = []
        medians[wp] = []
        for seed in SEEDS:
            _, whistled_on, first_work, _ = whistle_run(seed, wp)
            resp = np.array([first_work.get(i, days) - d for i, d in whistled_on.items() if d < days - 120])
            # enough for a median per seed (24-31 cases at the adopted fit; fewer since needs not brought
            # forward leave no case, MODEL §12.5); the pooled test below has some 85 a side
            assert len(resp) >= 20
            resp_all.append(resp)
            medians[wp].append(float(np.median(resp)))
        pooled[wp] = np.concatenate(resp_all)
    assert all(h < lo for h, lo in zip(medians[1.0], medians[0.2])), medians
    p = stats.mannwhitneyu(pooled[1.0], pooled[0.2], alternative="less").pvalue
    assert p < 1e-3, (p, medians)


def test_whistle_power_shortens_report_delay():
    """The mechanism's direct input: the delay before departments report to a whistle is
    geometric (days until the first success, >= 1) with daily chance, at a full street - department
    tie, p = whistle_power * (0.5 + 0.5 w_local) / whistle_days. Its mean 1/p must match within
    3 standard errors (SE from the geometric variance (1-p)/p^2),
    and be shorter at higher power."""
    n = make_model().p.network
    means = {}
    for wp in (0.2, 1.0):
        delays = np.concatenate([whistle_run(seed, wp)[3] for seed in SEEDS])
        p = min(1.0, wp * 0.5 / n.whistle_days)
        mu, se = 1 / p, math.sqrt((1 - p) / p**2 / len(delays))
        assert abs(delays.mean() - mu) < 3 * se, (wp, delays.mean(), mu, se)
        means[wp] = delays.mean()
    assert means[1.0] < means[0.2]


def test_whistle_days_parameter_is_the_mean_report_delay_at_full_power():
    """params.Network.whistle_days: "mean days before departments report to a whistle at full
    power, full weight of the street's rating and a full tie [days]" (C12). At whistle_power = 1,
    w_local = 1 and ties held at 1 the observed mean delay must be within 3 SE of it."""
    delays = np.concatenate([_whistle_run(seed, 1.0, w_local=1.0)[3] for seed in SEEDS])
    n = make_model().p.network
    p = 1.0 / n.whistle_days
    se = math.sqrt((1 - p) / p**2 / len(delays))
    assert abs(delays.mean() - n.whistle_days) < 3 * se, (delays.mean(), se)


def test_no_whistle_power_no_whistles():
    for seed in SEEDS[:2]:
        m = run(seed=seed, levers={"whistle_power": 0.0}, emergence=QUIET)
        assert (m.timeseries()["whistles"] == 0).all()
        assert not m.cases()["whistled"].any()
        # positive control: any whistle power lets streets whistle
        on = run(seed=seed, levers={"whistle_power": 0.8}, emergence=QUIET)
        assert on.timeseries()["whistles"].sum() > 0
        assert on.cases()["whistled"].any()


# ---------------------------------------------------------------------------------------------
# empowerment (赋权, 人随事走, 减负)
# ---------------------------------------------------------------------------------------------


def test_authority_devolution_more_resolutions_at_the_grassroots():
    """Communities settle what their authority list covers: more devolution, more cases settled
    at grid/community level (小事不出村). Counts: Poisson z > 3; shares: two-proportion z > 3 and
    the summary KPI higher in every seed. Pooled over eight seeds: at the adopted fit the shares are
    about 14% and 21% of some 300 resolved cases a seed-arm pair, for which three seeds give an
    expected z of only 2.4 (measured 2.36) and eight about 3.9."""
    res = {}
    for ad in (0.0, 1.0):
        grass = total = 0
        for seed in range(1, 9):
            m = run(seed=seed, levers={"authority_devolution": ad, "resources_follow": 0.0}, emergence=QUIET,
                    burn_in=0)  # the rule in isolation: every case settled under the lever
            c = m.cases()
            resolved = c["outcome"] == "resolved"
            grass += int((resolved & (c["outcome_level"] == "grassroots")).sum())
            total += int(resolved.sum())
        res[ad] = (grass, total)
    assert z_poisson(res[1.0][0], res[0.0][0]) > 3, res
    assert z_two_proportions(*res[1.0], *res[0.0]) > 3, res
    for seed in SEEDS:
        lo = run(seed=seed, levers={"authority_devolution": 0.0, "resources_follow": 0.0}, emergence=QUIET, burn_in=0)
        hi = run(seed=seed, levers={"authority_devolution": 1.0, "resources_follow": 0.0}, emergence=QUIET, burn_in=0)
        assert hi.summary()["share_resolved_grassroots"] > lo.summary()["share_resolved_grassroots"]


def test_resources_follow_moves_staff_from_departments_down():
    """人随事走, budget-neutral: with devolution, department staff move to communities and streets;
    nothing is created or lost on the way; without devolution or without resources_follow nothing
    moves. Funded: the same staff arrive as new posts and the departments keep theirs."""
    neutral = {"funding": "budget_neutral"}
    for levers in ({"authority_devolution": 1.0, "resources_follow": 0.0},
                   {"authority_devolution": 0.0, "resources_follow": 1.0}):
        m = make_model(levers=levers, costs=neutral)
        assert all(d.moved_out == 0 for d in m.departments)
        assert all(c.moved_in == 0 for c in m.communities) and all(s.moved_in == 0 for s in m.streets)

    funded = make_model(levers={"authority_devolution": 1.0, "resources_follow": 1.0}, costs={"funding": "funded"})
    assert all(d.moved_out == 0 for d in funded.departments) and all(c.moved_in > 0 for c in funded.communities)
    # from the empty city (burn_in 0): day 0 with every post filled, so capacity differs only by the move
    still = make_model(levers={"authority_devolution": 1.0, "resources_follow": 0.0}, costs=neutral, burn_in=0)
    moved = make_model(levers={"authority_devolution": 1.0, "resources_follow": 1.0}, costs=neutral, burn_in=0)
    assert all(0 < d.moved_out <= d.staff for d in moved.departments)
    assert all(c.moved_in > 0 for c in moved.communities)
    assert all(s.moved_in > 0 for s in moved.streets)
    out = sum(d.moved_out for d in moved.departments)
    into = sum(c.moved_in for c in moved.communities) + sum(s.moved_in for s in moved.streets)
    assert into == pytest.approx(out, rel=1e-9)
    assert moved.workers_total() > still.workers_total()
    # the cost: departments have less case capacity, communities and streets more (day 0, same effort)
    still.step()
    moved.step()
    dept = [d.unit for d in moved.departments]
    comm = [c.unit for c in moved.communities]
    street = [s.unit for s in moved.streets]
    assert (moved.capacity[dept] < still.capacity[dept]).all()
    assert (moved.capacity[comm] > still.capacity[comm]).all()
    assert (moved.capacity[street] > still.capacity[street]).all()


def quality(m) -> float:
    """The completeness of reporting in ``m`` (sim.mechanisms.information), which feeds the platform."""
    return reporting(m.levers, m.p.workforce)


def test_burden_reduction_raises_community_case_capacity():
    """减负 frees community workers' time from administration for cases; it can free at most the
    administrative share itself. Its cost: less top-down reporting degrades shared information
    unless data entry is automated."""
    lo = make_model(levers={"burden_reduction": 0.0})
    hi = make_model(levers={"burden_reduction": 1.0})
    lo.step()
    hi.step()
    comm = np.array([c.unit for c in hi.communities])
    gain = hi.capacity[comm] - lo.capacity[comm]
    assert (gain > 0).all()
    admin = hi.p.workforce.admin_share
    workers = np.array([c.workers * c.effort for c in hi.communities])
    assert (gain <= admin * workers + 1e-6).all()
    assert all(h.fixed_share < low.fixed_share for h, low in zip(hi.communities, lo.communities))

    shared = {"info_sharing": 1.0, "automation": 0.0}
    assert (quality(make_model(levers={**shared, "burden_reduction": 1.0}))
            < quality(make_model(levers={**shared, "burden_reduction": 0.0})))
    automated = {"info_sharing": 1.0, "automation": 1.0}
    assert (quality(make_model(levers={**automated, "burden_reduction": 1.0}))
            == quality(make_model(levers={**automated, "burden_reduction": 0.0})))


# ---------------------------------------------------------------------------------------------
# rule of law (法治), party leadership (政治)
# ---------------------------------------------------------------------------------------------


def test_responsibility_clarity_reduces_bounces():
    """Clear responsibility lists: fewer misroutings and push-backs (MODEL §5)."""
    lo = [run(seed=s, levers={"responsibility_clarity": 0.0}, emergence=QUIET) for s in SEEDS]
    hi = [run(seed=s, levers={"responsibility_clarity": 1.0}, emergence=QUIET) for s in SEEDS]
    b_lo = [m.summary()["bounces"] for m in lo]
    b_hi = [m.summary()["bounces"] for m in hi]
    assert all(h < low for h, low in zip(b_hi, b_lo)), (b_lo, b_hi)
    assert z_poisson(sum(b_lo), sum(b_hi)) > 3, (b_lo, b_hi)
    x_lo = [sum(int(m.timeseries()[c].sum()) for m in lo) for c in ("routings_correct", "routings")]
    x_hi = [sum(int(m.timeseries()[c].sum()) for m in hi) for c in ("routings_correct", "routings")]
    assert z_two_proportions(*x_hi, *x_lo) > 3, (x_lo, x_hi)


def test_no_party_attention_no_joint_meetings():
    """Joint meetings (联席会议) need the committees' attention; with none, no case is referred
    to one and none is unblocked by one."""
    referred_ever = []

    def watch(m):
        referred_ever.append(bool(m.table.referred[: m.table.n].any()))

    # from the empty city (burn_in 0): no referral of the burn-in's meetings is still pending
    m = run_watching(make_model(days=365, burn_in=0, levers={"party_attention": 0.0}, emergence=QUIET), 365, watch)
    assert (m.timeseries()["meeting_cases"] == 0).all()
    assert not any(referred_ever)
    assert all(c.slots == 0 and c.cases_unblocked == 0 for c in m.committees)
    # positive control
    on = run(levers={"party_attention": 1.0}, emergence=QUIET, burn_in=0)  # committees count from day 0 of the city
    assert on.timeseries()["meeting_cases"].sum() > 0
    assert sum(c.cases_unblocked for c in on.committees) == on.timeseries()["meeting_cases"].sum()
    # 两张皮: attention that never reaches governance (integration 0) convenes no useful meeting either
    lost = run(levers={"party_attention": 1.0, "party_integration": 0.0}, emergence=QUIET)
    assert (lost.timeseries()["meeting_cases"] == 0).all()


# ---------------------------------------------------------------------------------------------
# social forces (购买服务, 自治, 志愿者)
# ---------------------------------------------------------------------------------------------


def _handlers_seen(levers: dict, seed: int, days: int = 365):
    """Run and return the set of handler codes any case had at the end of any day, and the model."""
    seen = set()

    def watch(m):
        h = m.table.handler[: m.table.n]
        seen.update(int(x) for x in np.unique(h))

    # from the empty city (burn_in 0): the lever holds from the first day, so no case is left
    # with a handler of the burn-in's baseline levers
    m = run_watching(make_model(days=days, seed=seed, burn_in=0, levers=levers), days, watch)
    return seen, m


def test_no_social_org_funding_no_social_org_handling():
    """Social organisations are paid from purchased services: without funding they have no
    mediators and never hold or settle a case."""
    for seed in SEEDS[:2]:
        seen, m = _handlers_seen({"social_org_funding": 0.0}, seed)
        assert Handler.SOCIAL_ORG not in seen
        assert (m.cases()["outcome_handler"] != "social_org").all()
        assert all(so.staff == 0 for so in m.social_orgs)
    # positive control: at the reference budget they hold cases
    held = 0
    for seed in SEEDS[:2]:
        seen, m = _handlers_seen({"social_org_funding": 1.0}, seed)
        held += Handler.SOCIAL_ORG in seen
    assert held == 2


def test_no_self_governance_no_council_handling():
    """Resident councils work with self-governance capacity and volunteers' days. Party members
    registered in their community (双报到) volunteer too, in proportion to party attention and
    integration, so all three are switched off here."""
    off = {"self_governance": 0.0, "volunteer_rate": 0.0, "party_attention": 0.0}
    council_capacity = []
    for seed in SEEDS[:2]:
        seen = set()

        def watch(m, seen=seen):
            seen.update(int(x) for x in np.unique(m.table.handler[: m.table.n]))
            council_capacity.append(float(m.capacity[m.units.council(np.arange(len(m.communities)))].sum()))

        m = run_watching(make_model(days=365, seed=seed, burn_in=0, levers=off), 365, watch)  # as _handlers_seen
        assert Handler.COUNCIL not in seen
        assert (m.cases()["outcome_handler"] != "council").all()
    assert max(council_capacity) == 0
    # positive control: full self-governance alone gives councils cases
    seen, _ = _handlers_seen({"self_governance": 1.0, "volunteer_rate": 0.0, "party_attention": 0.0}, 1)
    assert Handler.COUNCIL in seen


def test_party_members_and_volunteers_staff_councils():
    """Council capacity beyond self-governance comes from volunteers' and party members' days:
    each of volunteer_rate and party attention alone gives councils days that they lack without both."""
    base = {"self_governance": 0.0, "volunteer_rate": 0.0, "party_attention": 0.0}
    days = 60

    def council_days(levers):
        total = []
        m = make_model(days=days, levers={**base, **levers})
        run_watching(m, days, lambda m: total.append(float(m.mechanisms.capacity.volunteer_days.sum())))
        return sum(total)

    assert council_days({}) == 0
    assert council_days({"volunteer_rate": 0.2}) > 0
    assert council_days({"party_attention": 1.0, "party_integration": 1.0}) > 0


def test_scheduled_volunteer_rate_takes_effect():
    """A lever switched on by a schedule entry acts from that day like the same lever set from
    the start. Volunteer days are Poisson draws from the per-day ``workforce`` stream, so after
    the switch the scheduled run must draw exactly what the from-the-start run draws."""
    days, switch = 40, 10
    base = {"self_governance": 0.0, "volunteer_rate": 0.0, "party_attention": 0.0}
    scheduled = make_model(days=days, levers=base, schedule=[{"day": switch, "levers": {"volunteer_rate": 0.3}}])
    from_start = make_model(days=days, levers={**base, "volunteer_rate": 0.3})
    a, b = [], []
    run_watching(scheduled, days, lambda m: a.append(m.mechanisms.capacity.volunteer_days.copy()))
    run_watching(from_start, days, lambda m: b.append(m.mechanisms.capacity.volunteer_days.copy()))
    assert np.sum(a[switch:]) > 0
    np.testing.assert_array_equal(np.array(a[switch:]), np.array(b[switch:]))


# ---------------------------------------------------------------------------------------------
# costs of information sharing (MODEL §5: data-entry time per case unless automation)
# ---------------------------------------------------------------------------------------------


def _takes(levers: dict, days: int = 240) -> dict:
    """Run and record, for each case's first placement with a handler, (day, handler, severity, work)."""
    m = make_model(days=days, levers=levers, emergence=QUIET)
    routing = m.mechanisms.routing
    take = routing.take
    first: dict[int, tuple] = {}

    def take_and_record(idx, handler, holder):
        take(idx, handler, holder)
        cs = m.table
        for i in idx:
            first.setdefault(int(i), (m.day, int(handler), float(cs.severity[i]), float(cs.work[i])))

    routing.take = take_and_record
    m.run(days)
    return first


def test_info_sharing_costs_grassroots_data_entry_unless_automated():
    """Each case taken at the grassroots carries data entry for the platform (一网统管), which
    automation removes; cases taken above the grassroots carry none. Compared case by case on
    common random numbers: same case, same day, same handler, same severity."""
    manual = _takes({"info_sharing": 1.0, "automation": 0.0})
    auto = _takes({"info_sharing": 1.0, "automation": 1.0})
    entry = make_model().p.workforce.data_entry_days
    grass = above = 0
    for i, (day, handler, sev, work) in manual.items():
        other = auto.get(i)
        if other is None or other[:3] != (day, handler, sev):
            continue
        if handler in (Handler.COUNCIL, Handler.SOCIAL_ORG, Handler.COMMUNITY):
            assert work - other[3] == pytest.approx(entry, abs=1e-5), i
            grass += 1
        else:
            assert work == other[3], i
            above += 1
    assert grass >= 15 and above >= 15, (grass, above)
