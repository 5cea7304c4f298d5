"""The organisational network acts (MODEL §12.2): shares_data edges (the platform) and works_with ties.

Positive controls of the rules in isolation: the empty city (``burn_in=0``) of the small preset
(``classroom``), fixed seeds, tolerances from the binomial (3 standard errors) or exact where the
rule is deterministic.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from conftest import make_model

from sim.disputes import Channel

SEEDS = (1, 2, 3)
QUIET = {"grievance_hazard": 0.0}  # emergence independent of the residents' state: identical cases in both arms


@functools.lru_cache(maxsize=None)
def run(days: int = 365, seed: int = 1, **frozen):
    sections = {k: dict(v) for k, v in frozen.items()}
    return make_model(days=days, seed=seed, burn_in=0, emergence=QUIET, **sections).run(days)


def levers(**kw):
    return tuple(sorted(kw.items()))


def z_two_proportions(x1: int, n1: int, x2: int, n2: int) -> float:
    p = (x1 + x2) / (n1 + n2)
    return (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


# ---------------------------------------------------------------------------------------------
# shares_data: the platform
# ---------------------------------------------------------------------------------------------


def test_no_shares_data_edges_no_data_channel_and_lower_routing_accuracy():
    """info_sharing 0 leaves the silos only: the data channel finds nothing, every day, and routing
    falls back on reports. With every unit on the platform the data channel finds cases and routing
    is right more often (two-proportion z > 3, pooled over seeds)."""
    x = {}
    for level in (0.0, 1.0):
        correct = total = data = 0
        for seed in SEEDS:
            ts = run(seed=seed, levers=levers(info_sharing=level)).timeseries()
            correct += int(ts["routings_correct"].sum())
            total += int(ts["routings"].sum())
            data += int(ts["detected_data"].sum())
            if level == 0.0:
                assert (ts["detected_data"] == 0).all()
        x[level] = (correct, total, data)
    assert x[0.0][2] == 0 and x[1.0][2] > 0, x
    assert x[0.0][1] > 200 and x[1.0][1] > 200, x  # enough routings for the test to have power
    assert z_two_proportions(x[1.0][0], x[1.0][1], x[0.0][0], x[0.0][1]) > 3, x


@pytest.mark.parametrize("level", [0.0, 1.0])
def test_routing_accuracy_is_the_dispatchers_view_of_the_data(level):
    """Without the platform a dispatcher is right with routing_accuracy, with every unit on it with
    routing_accuracy_data (full reporting here), clear lists removing routing_clarity_weight x
    clarity of the errors left: the pooled share of right routings is within 3 binomial SE of it."""
    correct = total = 0
    for seed in SEEDS:
        ts = run(seed=seed, levers=levers(info_sharing=level)).timeseries()
        correct += int(ts["routings_correct"].sum())
        total += int(ts["routings"].sum())
    p = make_model().p
    base = p.network.routing_accuracy_data if level == 1.0 else p.handling.routing_accuracy
    expected = base + (1 - base) * p.handling.routing_clarity_weight * p.levers.responsibility_clarity
    se = math.sqrt(expected * (1 - expected) / total)
    assert abs(correct / total - expected) < 3 * se, (correct, total, expected)


def test_the_data_channel_sees_only_communities_whose_data_reach_a_unit_that_acts():
    """Half the units on the platform: every case found by the data channel is in a community on the
    platform whose street or district centre is on it too."""
    m = run(seed=1, levers=levers(info_sharing=0.5))
    net = m.mechanisms.network
    cs = m.table
    data = np.flatnonzero(cs.channel[: cs.n] == Channel.DATA)
    assert len(data) > 0
    assert net.data_reach(cs.community[data]).all()
    assert not net.data_reach(np.arange(m.territory.n_communities)).all()  # some communities are cut off


def test_platform_membership_is_nested_and_fixed():
    """Raising info_sharing adds units and never removes one; the same units join in every scenario
    (a fixed propensity per unit, drawn from the platform stream)."""
    nets = [make_model(burn_in=0, levers={"info_sharing": s}).mechanisms.network for s in (0.2, 0.5, 0.8)]
    for lo, hi in zip(nets, nets[1:]):
        assert (lo.integrated <= hi.integrated).all() and hi.integrated.sum() > lo.integrated.sum()
    np.testing.assert_array_equal(nets[0].propensity, nets[2].propensity)


def test_data_entry_only_in_communities_on_the_platform():
    """A grassroots case carries data entry only where its community is on the platform."""
    m = make_model(burn_in=0, levers={"info_sharing": 0.5, "automation": 0.0})
    net = m.mechanisms.network
    on = np.flatnonzero(net.community_integrated(np.arange(m.territory.n_communities)))
    off = np.flatnonzero(~net.community_integrated(np.arange(m.territory.n_communities)))
    assert len(on) and len(off)
    m.run(30)
    # the same case taken at the grassroots twice, once in each kind of community, differs by data entry
    cs, routing = m.table, m.mechanisms.routing
    from sim.disputes import Handler
    idx = np.array([0])
    cs.community[idx] = on[0]
    routing.take(idx, Handler.COMMUNITY, m.units.community_unit(np.array([on[0]])))
    with_entry = float(cs.work[0])
    cs.community[idx] = off[0]
    routing.take(idx, Handler.COMMUNITY, m.units.community_unit(np.array([off[0]])))
    assert with_entry - float(cs.work[0]) == pytest.approx(m.p.workforce.data_entry_days, abs=1e-5)


# ---------------------------------------------------------------------------------------------
# works_with ties
# ---------------------------------------------------------------------------------------------


def test_ties_decay_without_contact():
    """No whistles and no joint meetings: no street - department tie has any contact, so each
    decays by tie_decay a day, exactly."""
    days = 200
    m = run(days=days, levers=levers(whistle_power=0.0, party_attention=0.0))
    n = m.p.network
    assert m.timeseries()["joint_meetings"].sum() == 0 and m.timeseries()["whistles"].sum() == 0
    np.testing.assert_allclose(m.mechanisms.network.street_dept, n.tie_initial * (1 - n.tie_decay) ** days,
                               rtol=1e-9)


def test_each_tie_follows_its_contacts():
    """The rule, day by day: a tie with c contacts today becomes 1 - (1 - s)(1 - tie_gain)^c, one
    without decays by tie_decay; contacts come from whistled cases settled, cross-department cases
    resolved and joint meetings (positive control: there are such days)."""
    m = make_model(days=120, burn_in=0, emergence=QUIET, levers={"whistle_power": 1.0, "w_local": 1.0,
                                                                 "party_attention": 1.0})
    net, n = m.mechanisms.network, m.p.network
    step = net.step
    seen = {"street": 0, "dept": 0}

    def checked_step():
        before = [net.street_dept.copy(), net.dept_dept.copy()]
        contacts = [net._street_contact.copy(), net._dept_contact.copy()]
        step()
        for key, s, c, after in zip(seen, before, contacts, (net.street_dept, net.dept_dept)):
            expected = np.where(c > 0, 1 - (1 - s) * (1 - n.tie_gain) ** c, s * (1 - n.tie_decay))
            np.testing.assert_allclose(after, expected, rtol=1e-12)
            seen[key] += int(c.sum())

    net.step = checked_step
    m.run(120)
    assert seen["street"] > 0 and seen["dept"] > 0, seen
    ts = m.timeseries()
    assert ts["joint_settled"].sum() > 0 and ts["joint_meetings"].sum() > 0


def test_joint_work_raises_tie_strength():
    """Joint meetings and whistled cases settled together: the ties end stronger than in the same
    city without them (which only decay, but for cross-department cases resolved)."""
    days = 365
    with_joint = [run(seed=s, levers=levers(whistle_power=1.0, w_local=1.0, party_attention=1.0)) for s in SEEDS]
    without = [run(seed=s, levers=levers(whistle_power=0.0, party_attention=0.0)) for s in SEEDS]
    for a, b in zip(with_joint, without):
        na, nb = a.mechanisms.network, b.mechanisms.network
        assert na.street_dept.mean() > nb.street_dept.mean()
        assert na.tie_strength_mean() > nb.tie_strength_mean()
        # the street - department ties a whistle touched rose above what decay alone leaves
        assert na.street_dept.max() > a.p.network.tie_initial * (1 - a.p.network.tie_decay) ** days
        assert a.summary()["tie_strength_mean"] == pytest.approx(na.tie_strength_mean())


def test_burn_in_cache_carries_the_ties():
    """The ties are state of the burned-in city: a model loaded from the burn-in cache has the ties of
    the one that built it."""
    built = make_model(days=10, burn_in=90)
    loaded = make_model(days=10, burn_in=90)
    assert loaded.burn_in_source == "cache"
    np.testing.assert_array_equal(built.mechanisms.network.street_dept, loaded.mechanisms.network.street_dept)
    np.testing.assert_array_equal(built.mechanisms.network.dept_dept, loaded.mechanisms.network.dept_dept)
    assert (built.mechanisms.network.dept_dept != built.p.network.tie_initial).any()  # the burn-in moved them


# ---------------------------------------------------------------------------------------------
# whistles: tie-dependent answers, a deadline, the pass-up route
# ---------------------------------------------------------------------------------------------


def test_whistles_are_answered_within_the_deadline_or_passed_up():
    """Every answered whistle reaches a department within whistle_deadline days; the others are
    passed up at the deadline and dispatched at once; so the mean delay of the whistle route is no
    longer than the pass-up route's (the centres' triage_days) and the answered whistles' mean is no
    longer than the delay of those passed up."""
    for w_local in (0.0, 1.0):
        s = [run(seed=seed, levers=levers(whistle_power=1.0, w_local=w_local)).summary() for seed in SEEDS]
        ts = [run(seed=seed, levers=levers(whistle_power=1.0, w_local=w_local)).timeseries() for seed in SEEDS]
        p = make_model().p
        answers = sum(int(t["whistle_answers"].sum()) for t in ts)
        passups = sum(int(t["whistle_passups"].sum()) for t in ts)
        delay = sum(int(t["whistle_delay_days"].sum()) for t in ts)
        assert answers > 20 and passups > 20, (w_local, answers, passups)
        assert delay / answers <= p.network.whistle_deadline
        for x in s:
            assert x["whistle_delay_mean"] <= x["passup_delay_mean"] + 1e-9, x
        route = (delay + passups * p.network.whistle_deadline) / (answers + passups)
        assert route <= p.handling.triage_days, route
    base = run(seed=1, levers=levers(whistle_power=0.0)).summary()  # the route the whistle replaces
    assert base["whistles"] == 0 and base["passup_delay_mean"] >= make_model().p.handling.triage_days


def test_stronger_ties_answer_more_whistles():
    """Street - department ties held at 1 against ties held at 0: more whistles answered within the
    deadline (z > 3, pooled over seeds), and in the ratio the rule sets the daily chances."""
    rates = {}
    for tie in (0.0, 1.0):
        net = (("tie_decay", 0.0), ("tie_gain", 0.0), ("tie_initial", tie))
        x = [run(seed=s, levers=levers(whistle_power=1.0, w_local=1.0), network=net).timeseries()
             for s in SEEDS]
        rates[tie] = (sum(int(t["whistle_answers"].sum()) for t in x), sum(int(t["whistles"].sum()) for t in x))
    assert z_two_proportions(*rates[1.0], *rates[0.0]) > 3, rates
    p = make_model().p
    q = 1.0 / p.network.whistle_days  # full power, w_local 1, full tie
    for tie, (answered, whistles) in rates.items():
        daily = q * (p.network.whistle_tie_floor + (1 - p.network.whistle_tie_floor) * tie)
        expected = 1 - (1 - daily) ** p.network.whistle_deadline
        se = math.sqrt(expected * (1 - expected) / whistles)
        assert abs(answered / whistles - expected) < 3 * se, (tie, answered, whistles, expected)


# ---------------------------------------------------------------------------------------------
# coordination and push-back
# ---------------------------------------------------------------------------------------------


def test_coordination_chances_follow_ties_and_shared_data():
    """``Coordination.chances``: at a full tie the odds of spontaneous coordination are
    coordinate_tie_odds times those with no tie, and coordinate_data_odds times more when every
    department of the case is on the platform; push-back at a full tie is (1 - pushback_tie_cut) of
    that with none."""
    m = make_model(days=60, burn_in=0, emergence=QUIET, levers={"party_attention": 0.0})
    m.run(60)
    net, n, coord = m.mechanisms.network, m.p.network, m.mechanisms.coordination
    cs = m.table
    cross = np.flatnonzero(cs.n_depts[: cs.n] >= 2)
    assert len(cross) > 0

    def odds(p):
        return p / (1 - p)

    net.dept_dept[...] = 0.0
    p0, push0 = coord.chances(cross)
    net.dept_dept[...] = 1.0
    p1, push1 = coord.chances(cross)
    np.testing.assert_allclose(odds(p1) / odds(p0), n.coordinate_tie_odds, rtol=1e-9)
    np.testing.assert_allclose(push1 / push0, 1 - n.pushback_tie_cut, rtol=1e-9)
    assert not net.depts_share_data(cross).any()  # info_sharing 0: silos
    net.integrated[:] = True
    p2, _ = coord.chances(cross)
    np.testing.assert_allclose(odds(p2) / odds(p1), n.coordinate_data_odds, rtol=1e-9)


def test_full_ties_coordinate_more_and_push_back_less():
    """Departments' ties held at 1 against 0 (no joint meetings): of the blocked cases that move on,
    more coordinate of their own accord and fewer are pushed back (推诿): the share coordinated,
    spontaneous / (spontaneous + push-backs), is higher (two-proportion z > 3, pooled over seeds)."""
    out = {}
    for tie in (0.0, 1.0):
        net = (("tie_decay", 0.0), ("tie_gain", 0.0), ("tie_initial", tie))
        ts = [run(seed=s, levers=levers(party_attention=0.0), network=net).timeseries() for s in SEEDS]
        spont = sum(int(t["spontaneous"].sum()) for t in ts)
        out[tie] = (spont, spont + sum(int(t["push_backs"].sum()) for t in ts))
    assert z_two_proportions(*out[1.0], *out[0.0]) > 3, out


def test_network_parquet_is_the_network_at_the_end(tmp_path):
    """The run folder holds network.parquet: the network as it is at the run's end (integration,
    tie strengths, queues), which reads back into the snapshot the figures draw."""
    import pandas as pd

    from sim.io import write_run
    from sim.metrics import network_snapshot, read_network
    from sim.report.figures import org_network

    m = make_model(days=30, burn_in=0, levers={"info_sharing": 0.5, "whistle_power": 1.0}).run(30)
    write_run(tmp_path, m)
    frame = pd.read_parquet(tmp_path / "network.parquet")
    back = read_network(frame, day=30, scenario=m.p.name, seed=m.p.seed)
    snap = network_snapshot(m)
    assert list(back.nodes["node"]) == list(snap.nodes["node"])
    np.testing.assert_array_equal(back.nodes["integrated"].to_numpy(dtype=bool), snap.nodes["integrated"].to_numpy())
    np.testing.assert_array_equal(back.nodes["queue"].to_numpy(dtype=int), snap.nodes["queue"].to_numpy())
    ties = back.edges[back.edges["relation"] == "works_with"]
    assert sorted(ties["weight"]) == pytest.approx(sorted(m.mechanisms.network.tie_strengths()))
    assert (ties["weight"] != m.p.network.tie_initial).any()  # as it is now, not as built
    org_network(back)  # the report draws it
