"""The Python API (sim/__init__.py, sim/model.py): model construction, stepping, outputs, agent
views, the territory at preset scale and the two networks (MODEL §2)."""

from __future__ import annotations

import mesa
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import make_model, make_scenario

from sim import CoGovernanceModel, Scenario, load_scenario
from sim.actors import Centre, Community, Department, PartyCommittee, SocialOrganisation, Street
from sim.city import N_DOMAINS
from sim.params import PRESETS, scenarios_dir
from sim.population import Resident

BUILTIN = sorted(p.stem for p in scenarios_dir().glob("*.toml"))


@pytest.fixture(scope="module")
def classroom():
    """A classroom model, built and not run (do not mutate)."""
    return CoGovernanceModel(make_scenario("baseline", days=20), seed=3)


# ---------------------------------------------------------------------------------------------
# construction, stepping and outputs
# ---------------------------------------------------------------------------------------------


def test_public_names():
    import sim

    assert sim.CoGovernanceModel is CoGovernanceModel and sim.load_scenario is load_scenario
    assert issubclass(CoGovernanceModel, mesa.Model)


def test_seed_argument_overrides_the_scenario_seed():
    sc = make_scenario(seed=1, days=10)
    assert CoGovernanceModel(sc, seed=9).config.seed == 9
    assert CoGovernanceModel(sc).config.seed == 1


def test_model_accepts_a_name_with_overrides():
    m = CoGovernanceModel("whistle", seed=2, preset="classroom", days=7)
    assert (m.config.name, m.config.preset, m.config.days, m.config.seed) == ("whistle", "classroom", 7, 2)
    assert m.population.n == PRESETS["classroom"]["population"]


def test_step_advances_one_day_and_run_returns_the_model():
    m = make_model(days=10)
    assert m.reported_day == 0 and m.day == m.day0 == m.p.burn_in  # the internal day counts the burn-in
    m.step()
    assert m.reported_day == 1
    assert len(m.timeseries()) == 1
    assert m.run(4) is m
    assert m.reported_day == 5
    assert m.run() is m          # default: the scenario's days, from where it stands
    assert m.reported_day == 15


def test_outputs_have_one_row_per_day_and_per_case():
    m = make_model(days=25).run(25)
    ts, cases, summary = m.timeseries(), m.cases(), m.summary()
    assert isinstance(ts, pd.DataFrame) and isinstance(cases, pd.DataFrame) and isinstance(summary, dict)
    assert len(ts) == 25 and ts["day"].tolist() == list(range(25))
    assert m.table.n > 0
    # the case log: the cases open at day 0 (created in the burn-in) and those created since
    assert len(cases) == summary["cases_open_start"] + summary["cases_total"]
    assert summary["cases_open_start"] == (cases["created"] < 0).sum() > 0
    assert summary["cases_total"] == (cases["created"] >= 0).sum() == ts["new_cases"].sum()
    assert summary["days"] == 25 and summary["residents"] == m.population.n
    assert m.check_invariants() == []


def test_different_seeds_give_different_runs():
    a = make_model(days=20, seed=1).run(20).cases()
    b = make_model(days=20, seed=2).run(20).cases()
    assert not a.equals(b)


def test_run_calls_progress_with_each_day():
    seen = []
    make_model(days=4).run(4, progress=seen.append)
    assert seen == [1, 2, 3, 4]


def test_schedule_changes_the_levers_in_force_on_its_day():
    m = make_model(days=10, schedule=[{"day": 3, "levers": {"whistle_power": 0.7}}])
    m.run(3)
    assert m.levers.whistle_power == 0.0
    m.step()
    assert m.levers.whistle_power == 0.7


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_scenario_runs_at_the_classroom_preset(name):
    m = CoGovernanceModel(name, seed=1, preset="classroom").run(5)
    assert m.reported_day == 5 and len(m.timeseries()) == 5
    assert m.territory.n_communities == PRESETS["classroom"]["communities"]
    assert m.check_invariants() == []


# ---------------------------------------------------------------------------------------------
# residents as Mesa agents
# ---------------------------------------------------------------------------------------------


def test_resident_view_matches_the_population_arrays():
    m = make_model(days=15)
    pop, A = m.population, m.population.network
    for i in (0, 17, pop.n // 2, pop.n - 1):
        r = m.resident(i)
        assert isinstance(r, mesa.Agent) and isinstance(r, Resident)
        assert r.model is m
        assert r.trust == float(pop.trust[i])
        assert r.grievance == float(pop.grievance[i])
        assert r.community == int(pop.community[i])
        assert r.neighbours == A.indices[A.indptr[i]:A.indptr[i + 1]].tolist()
        assert len(r.neighbours) > 0
    # the view reads the live arrays: it follows the residents as the model runs
    r = m.resident(5)
    m.run(90)  # long enough for some cases to close and move their parties' trust
    assert r.trust == float(pop.trust[5]) and r.grievance == float(pop.grievance[5])
    assert not np.array_equal(pop.trust, make_model(days=90).population.trust), "trust never moved in 90 days"


@pytest.mark.parametrize("bad", [-1, 3000, 10**9])
def test_resident_out_of_range_raises_index_error(classroom, bad):
    assert classroom.population.n == 3000
    with pytest.raises(IndexError):
        classroom.resident(bad)


def test_resident_view_writes_the_population_arrays():
    m = make_model(days=5)
    r = m.resident(7)
    r.trust = 0.25
    assert float(m.population.trust[7]) == 0.25


# ---------------------------------------------------------------------------------------------
# organisational agents
# ---------------------------------------------------------------------------------------------


def test_organisational_agents_match_the_classroom_preset(classroom):
    m = classroom
    by_type = {k: len(v) for k, v in m.agents_by_type.items()}
    c = PRESETS["classroom"]
    districts, streets, communities = c["districts"], c["streets"], c["communities"]
    so = m.config.structure.social_orgs_per_street
    assert (districts, streets, communities) == (1, 3, 12)
    assert by_type[Community] == communities == len(m.communities)
    assert by_type[Street] == streets == len(m.streets)
    assert by_type[Department] == N_DOMAINS * (districts + 1) == 20 == len(m.departments)
    assert by_type[Centre] == districts + 1 == len(m.centres)
    assert by_type[SocialOrganisation] == streets * so == len(m.social_orgs)
    assert by_type[PartyCommittee] == streets + districts + 1 == len(m.committees)
    assert sum(by_type.values()) == len(m.agents)
    # each agent is reachable by its unit index
    for agent in (*m.communities, *m.streets, *m.departments, *m.centres, *m.social_orgs):
        assert m.unit(agent.unit) is agent
    assert sorted(d.domain for d in m.departments if d.district is None) == list(range(N_DOMAINS))


def test_tianjin_structure_at_population_scale():
    m = CoGovernanceModel(make_scenario("tianjin", preset="tianjin", days=5,
                                        structure={"population_scale": 2000}))
    t = m.territory
    assert (t.n_districts, t.n_streets, t.n_communities, t.n_grids) == (16, 248, 5_205, 22_000)
    assert m.population.n == round(13_866_009 / 2000)
    assert int(t.community_size.sum()) == m.population.n
    assert (t.community_size >= 1).all()
    assert np.bincount(t.grid_community, minlength=t.n_communities).min() >= 1  # a grid in every community
    assert len(m.departments) == N_DOMAINS * (16 + 1)
    assert len(m.committees) == 248 + 16 + 1
    assert len(np.unique(t.street_district)) == 16 and len(np.unique(t.community_street)) == 248
    m.run(2)
    assert m.check_invariants() == []


# ---------------------------------------------------------------------------------------------
# the organisational network
# ---------------------------------------------------------------------------------------------


def test_org_network_has_a_node_per_unit_and_hierarchy_edges(classroom):
    m = classroom
    G, t = m.org_network, m.territory
    assert isinstance(G, nx.MultiDiGraph)
    kinds = {}
    for _, data in G.nodes(data=True):
        kinds[data["kind"]] = kinds.get(data["kind"], 0) + 1
    assert kinds["community"] == t.n_communities
    assert kinds["street"] == t.n_streets
    assert kinds["department"] == len(m.departments)
    assert kinds["party"] == len(m.committees)
    # hierarchy: party city -> district -> street -> community; community belongs to its street
    for d in range(t.n_districts):
        assert G.has_edge("party:city", f"party:district:{d}", key="leads")
    for s in range(t.n_streets):
        d = int(t.street_district[s])
        assert G.has_edge(f"party:district:{d}", f"party:street:{s}", key="leads")
        assert G.has_edge(f"party:street:{s}", f"street:{s}", key="leads")
    for c in range(t.n_communities):
        s = int(t.community_street[c])
        assert G.has_edge(f"community:{c}", f"street:{s}", key="belongs_to")
        assert G.has_edge(f"party:street:{s}", f"community:{c}", key="leads")
        others = [v for _, v, k in G.out_edges(f"community:{c}", keys=True) if k == "belongs_to"]
        assert others == [f"street:{s}"]
        assert G.nodes[f"community:{c}"]["unit"] == m.communities[c].unit
    # district departments belong to the city department of their domain and serve their streets
    for dept in m.departments:
        node = [n for n, data in G.nodes(data=True) if data.get("unit") == dept.unit]
        assert len(node) == 1
        if dept.district is not None:
            assert G.has_edge(node[0], f"dept:city:{dept.domain_name}", key="belongs_to")
    # every unit is reachable from the city party committee along "leads"/"belongs_to" edges
    tree = nx.DiGraph()
    tree.add_edges_from((u, v) for u, v, k in G.edges(keys=True) if k == "leads")
    reach = nx.descendants(tree, "party:city")
    assert all(f"community:{c}" in reach for c in range(t.n_communities))
    assert all(f"street:{s}" in reach for s in range(t.n_streets))


def test_info_sharing_adds_the_platform():
    """The platform's members are the integrable units whose fixed propensity is below info_sharing
    (nested as the lever rises); the silos' shares_data edges are there in any case."""
    off = make_model(levers={"info_sharing": 0.0})
    assert "platform" not in off.org_network
    assert not any(d.get("integrated") for _, d in off.org_network.nodes(data=True))
    half, full = make_model(levers={"info_sharing": 0.5}), make_model(levers={"info_sharing": 1.0})
    G = half.org_network
    members = {n for n, d in G.nodes(data=True) if d.get("integrated")}
    assert {u for u, _, k in G.in_edges("platform", keys=True) if k == "shares_data"} == members
    assert half.mechanisms.network.integrated.sum() == len(members)
    assert 0.2 < half.mechanisms.network.platform_share() < 0.8  # 37 integrable units, half in expectation
    on_full = full.mechanisms.network.integrated
    assert (half.mechanisms.network.integrated <= on_full).all()  # nested: raising the lever adds units
    assert on_full.sum() == full.mechanisms.network.integrable.sum() == 12 + 3 + 1 + 1 + 20
    silo = [(u, v) for u, v, k in off.org_network.edges(keys=True) if k == "shares_data"]
    assert len(silo) == 12 + 10  # each community to its street, each district department to the city's


def test_network_snapshot_is_the_network_as_tables_with_each_units_state():
    """The snapshot has a row per node and per tie of the organisational network, the territory of
    each node, and each unit's queue, capacity and effort on the day it was taken."""
    from sim.metrics import network_snapshot

    m = make_model(days=40, levers={"info_sharing": 0.5}).run(40)
    snap = network_snapshot(m)
    G, t = m.org_network, m.territory
    assert list(snap.nodes["node"]) == list(G.nodes)
    assert len(snap.edges) == G.number_of_edges()
    assert set(snap.edges["relation"]) == {"leads", "belongs_to", "serves", "contract", "shares_data", "works_with"}
    assert (snap.edges.loc[snap.edges["relation"] == "shares_data", "weight"] == 1.0).all()
    # the works_with ties as they are today (MODEL §12.2), not as built
    ties = snap.edges[snap.edges["relation"] == "works_with"]
    assert len(ties) == t.n_streets * 10 + (t.n_districts + 1) * 45
    net = m.mechanisms.network
    assert ties["weight"].mean() == pytest.approx(net.tie_strength_mean())
    assert sorted(ties["weight"]) == pytest.approx(sorted(net.tie_strengths()))
    assert (snap.nodes.loc[snap.nodes["unit"] >= 0, "integrated"].to_numpy()
            == net.integrated[snap.nodes.loc[snap.nodes["unit"] >= 0, "unit"]]).all()
    units = snap.nodes[snap.nodes["unit"] >= 0]
    queues = m.queue_lengths()
    assert (units["queue"].to_numpy() == queues[units["unit"]]).all() and units["queue"].sum() > 0
    np.testing.assert_array_equal(units["effort"].to_numpy(), m.effort[units["unit"]])
    np.testing.assert_array_equal(units["capacity"].to_numpy(), m.capacity[units["unit"]])
    comm = snap.nodes[snap.nodes["kind"] == "community"]
    assert (comm["street"].to_numpy() == t.community_street[comm["community"]]).all()
    streets = snap.nodes[snap.nodes["kind"] == "street"]
    assert (streets["district"].to_numpy() == t.street_district[streets["street"]]).all()
    assert (snap.day, snap.scenario, snap.seed) == (40, m.p.name, m.p.seed)
    party = snap.nodes[snap.nodes["kind"] == "party"]
    assert (party["unit"] == -1).all() and party["effort"].isna().all()


# ---------------------------------------------------------------------------------------------
# the residents' social network
# ---------------------------------------------------------------------------------------------


def within_share(m) -> float:
    A = m.population.network.tocoo()
    com = m.population.community
    return float((com[A.row] == com[A.col]).mean())


def test_resident_network_is_symmetric_without_self_loops_and_local(classroom):
    m = classroom
    A = m.population.network
    n = m.population.n
    assert A.shape == (n, n)
    assert (A != A.T).nnz == 0
    assert A.diagonal().sum() == 0
    assert set(np.unique(A.data)) == {1.0}
    degree = np.diff(A.indptr)
    mean_degree = m.config.structure.mean_degree
    assert 0.8 * mean_degree <= degree.mean() <= mean_degree + 0.5
    assert degree.min() >= 1
    assert within_share(m) > 0.8


def test_cross_community_share_follows_its_parameter():
    local = make_model(structure={"p_rewire": 0.0, "p_cross_community": 0.0})
    assert within_share(local) == 1.0
    mixed = make_model(structure={"p_rewire": 0.0, "p_cross_community": 0.9})
    assert within_share(mixed) < 0.6
    # cross-community ties stay inside the street
    A = mixed.population.network.tocoo()
    street = mixed.territory.community_street[mixed.population.community]
    assert (street[A.row] == street[A.col]).all()


def test_scenario_object_is_not_modified_by_the_model():
    sc = make_scenario(days=10)
    before = sc.model_dump()
    CoGovernanceModel(sc, seed=4, days=5).run(5)
    assert isinstance(sc, Scenario) and sc.model_dump() == before
