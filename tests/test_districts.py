"""Districts differ (MODEL §12.7): typed districts, their populations, dispute mix, staffing and KPIs.

Positive controls with fixed seeds: each test can fail if the rule it checks is broken (the mix
rule ignored, the census figures mistyped, a district table that does not add up).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sim import CoGovernanceModel, load_scenario
from sim.city import build_territory, district_type_cdf
from sim.disputes import TYPE_NAMES
from sim.io import write_run
from sim.params import PRESET_DISTRICTS, ScenarioError
from sim.streams import Streams

from conftest import make_scenario

LAND = TYPE_NAMES.index("land")
C11_POPULATION = 13_866_009


def test_tianjin_districts_are_the_sixteen_typed_with_census_populations_summing_to_c11():
    rows = PRESET_DISTRICTS["tianjin"]
    assert len(rows) == 16 and sum(r[3] for r in rows) == C11_POPULATION
    by_type = {k: [r[1] for r in rows if r[2] == k] for k in ("central", "inner", "outer", "new_area")}
    assert by_type == {"central": ["和平区", "河东区", "河西区", "南开区", "河北区", "红桥区"],
                       "inner": ["东丽区", "西青区", "津南区", "北辰区"],
                       "outer": ["武清区", "宝坻区", "宁河区", "静海区", "蓟州区"],
                       "new_area": ["滨海新区"]}
    # the bulletin's regional totals (中心城区, 环城四区, 远郊五区, 滨海新区)
    totals = {k: sum(r[3] for r in rows if r[2] == k) for k in by_type}
    assert totals == {"central": 4_057_215, "inner": 3_889_860, "outer": 3_851_616, "new_area": 2_067_318}
    # at full scale every district gets exactly its census population; the structure keeps C11's counts
    sc = load_scenario("tianjin")
    t = build_territory(sc.counts(), sc.n_residents(), Streams(1).get("structure"), sc.district_layout(), sc.districts)
    residents = np.bincount(t.community_district, weights=t.community_size, minlength=16).astype(np.int64)
    assert residents.tolist() == [r[3] for r in rows]
    assert (t.n_streets, t.n_communities, t.n_grids) == (248, 5_205, 22_000)
    assert t.district_zh == tuple(r[1] for r in rows)
    # density: a central community is larger than an outer one (residents per community by type)
    per_comm = residents / np.bincount(t.community_district, minlength=16)
    kinds = np.array(t.district_type_names)
    assert per_comm[kinds == "central"].min() > per_comm[kinds == "outer"].max()


def two_district(days: int = 365, seed: int = 1, **districts) -> CoGovernanceModel:
    """A small city of one central and one outer district of equal population."""
    sc = make_scenario(preset="classroom", days=days, seed=seed,
                       structure={"districts": 2, "streets": 6, "communities": 24, "grids": 96, "population": 40_000},
                       districts={"types": ["central", "outer"], "population_shares": [1.0, 1.0], **districts})
    return CoGovernanceModel(sc)


def land_share_by_district(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Land cases, all cases and the expected land share (from the mix and each family's count) per district."""
    col = model.table.column
    district, family, land = col("district"), col("family"), col("type") == LAND
    cdf = model.mechanisms.emergence.type_cdf
    p_land = cdf[:, :, LAND] - (cdf[:, :, LAND - 1] if LAND > 0 else 0.0)  # [family, district]
    n = np.bincount(district, minlength=2)
    expected = np.array([sum(p_land[f, d] * ((district == d) & (family == f)).sum() for f in (0, 1))
                         for d in range(2)]) / n
    return np.bincount(district[land], minlength=2), n, expected


def test_outer_districts_get_a_higher_land_share_of_new_cases_than_central_ones():
    """Positive control of the mix rule: the outer district's land share of new cases is several times
    the central one's, each within 4 binomial standard errors of what its type's mix gives."""
    m = two_district().run()
    land, n, expected = land_share_by_district(m)
    share = land / n
    assert n.min() > 1000
    assert expected[1] / expected[0] > 8  # outer 2.5 x, central 0.2 x the city's land share
    se = np.sqrt(expected * (1 - expected) / n)
    assert (np.abs(share - expected) < 4 * se).all(), (share, expected)
    assert share[1] > 4 * share[0]
    # the same city with every land multiplier at 1: the two districts' land shares agree
    flat = two_district(central_land_mix=1.0, outer_land_mix=1.0, central_property_mix=1.0,
                        outer_property_mix=1.0).run()
    land, n, expected = land_share_by_district(flat)
    assert np.allclose(expected[0], expected[1], rtol=0.05)
    pooled = land.sum() / n.sum()
    se = np.sqrt(pooled * (1 - pooled) * (1 / n[0] + 1 / n[1]))
    assert abs(land[0] / n[0] - land[1] / n[1]) < 4 * se


def test_one_district_mix_draws_the_same_types_as_before_and_the_mix_keeps_common_random_numbers():
    """The type of a candidate is the inverse of its district's cumulative mix at one uniform draw:
    with every multiplier at 1 the cumulative mix is the city's (C2) in every district; changing the
    outer district's land multiplier leaves the central district's first-day cases untouched."""
    m = two_district(days=1, central_land_mix=1.0, outer_land_mix=1.0, central_property_mix=1.0,
                     outer_property_mix=1.0)
    cdf = m.mechanisms.emergence.type_cdf
    base = m.types["dispute_p"].cumsum()
    assert np.allclose(cdf[0, 0], base / base[-1]) and np.allclose(cdf[0, 1], cdf[0, 0])
    a, b = two_district(days=30).run(), two_district(days=30, outer_land_mix=10.0).run()
    ca, cb = a.table.column, b.table.column
    central_a, central_b = (ca("district") == 0) & (ca("created") == 0), (cb("district") == 0) & (cb("created") == 0)
    assert central_a.sum() == central_b.sum() > 0
    for name in ("type", "severity0", "community", "n_parties"):
        assert (ca(name)[central_a] == cb(name)[central_b]).all(), name
    outer_a, outer_b = ca("district") == 1, cb("district") == 1
    assert (cb("type")[outer_b] == LAND).sum() > (ca("type")[outer_a] == LAND).sum()


def test_staffing_per_resident_follows_the_district_type():
    m = two_district(days=1)
    t, s = m.territory, m.p.structure
    per_resident = np.array([c.staff / c.residents for c in m.communities])
    kind = t.district_type_names
    for c, value in zip(m.communities, per_resident, strict=True):
        mult = m.p.districts.of_type(kind[t.community_district[c.index]], "staffing")
        assert value == pytest.approx(mult / s.residents_per_worker)
    dept = {d.district: d.staff for d in m.departments if d.district is not None and d.domain == 0}
    res = np.bincount(t.community_district, weights=t.community_size)
    assert dept[1] / res[1] == pytest.approx(m.p.districts.outer_staffing / m.p.districts.central_staffing
                                             * dept[0] / res[0])


@pytest.fixture(scope="module")
def three_district_run(tmp_path_factory):
    sc = make_scenario(preset="classroom", days=90, seed=2,
                       structure={"districts": 3, "streets": 6, "communities": 24, "grids": 96, "population": 12_000},
                       districts={"types": ["central", "inner", "outer"]})
    m = CoGovernanceModel(sc).run()
    out = tmp_path_factory.mktemp("run")
    write_run(out, m)
    return m, out


def test_districts_parquet_is_written_with_one_row_per_district(three_district_run):
    m, out = three_district_run
    table = pd.read_parquet(out / "districts.parquet")
    assert len(table) == 3 and table["district"].tolist() == [0, 1, 2]
    assert table["type"].tolist() == ["central", "inner", "outer"]
    assert table["type_zh"].tolist() == ["中心城区", "环城区", "远郊区"]
    summary = json.loads((out / "summary.json").read_text())
    assert [row["name"] for row in summary["districts"]] == table["name"].tolist()
    assert summary["collective_petitions_land_share"] == m.summary()["collective_petitions_land_share"] or \
        summary["collective_petitions_land_share"] is None


def test_the_district_table_has_the_registered_columns(three_district_run):
    from sim.metrics import DISTRICT_IDENTITY
    from sim.registry import DISTRICT_KPIS
    from sim.registry import KINDS, UNIT_LABELS
    assert list(three_district_run[0].districts()) == [*DISTRICT_IDENTITY, *DISTRICT_KPIS]
    for k in DISTRICT_KPIS.values():
        assert k.kind in KINDS and k.unit in UNIT_LABELS and k.better in (-1, 0, 1), k.name


def test_per_district_counts_sum_to_the_city_totals(three_district_run):
    m, _ = three_district_run
    table, s = m.districts(), m.summary()
    sums = table[["residents", "cases", "detected", "resolved", "erupted", "petitions", "collective_incidents",
                  "streets", "communities"]].sum()
    assert sums.to_dict() == {"residents": s["residents"], "cases": s["cases_total"], "detected": s["detected"],
                              "resolved": s["resolved"], "erupted": s["erupted"], "petitions": s["petitions"],
                              "collective_incidents": s["collective_incidents"], "streets": m.territory.n_streets,
                              "communities": s["communities"]}
    # the city's C10 measure is the districts' land shares weighted by their collective petitions
    n = table["collective_petitions"].to_numpy()
    if n.sum():
        land = np.nansum(table["collective_petitions_land_share"].to_numpy() * n)
        assert land / n.sum() == pytest.approx(s["collective_petitions_land_share"])
    outcomes = table["outcomes"].to_numpy()
    assert np.nansum(table["resolution_rate"].to_numpy() * outcomes) / outcomes.sum() == \
        pytest.approx(s["resolution_rate"])


def test_district_types_and_shares_must_match_the_count_of_districts():
    with pytest.raises(ScenarioError, match="districts: types lists 2 districts"):
        load_scenario(None, preset="city", structure={"districts": 3}, districts={"types": ["central", "outer"]})
    with pytest.raises(ScenarioError, match="districts.types.1.*new_area"):
        load_scenario(None, districts={"types": ["central", "suburb", "inner", "outer"]})


def test_the_city_preset_is_two_central_one_inner_one_outer():
    t = CoGovernanceModel("baseline", preset="city", days=1).territory
    assert t.district_type_names == ("central", "central", "inner", "outer")
    assert np.bincount(t.community_district, weights=t.community_size).sum() == 240_000
    # district_type_cdf gives each district its type's mix: land rises from the centre outwards
    cdf = district_type_cdf(t, CoGovernanceModel("baseline", preset="city", days=1).types, load_scenario(None).districts)
    land = cdf[0, :, LAND] - cdf[0, :, LAND - 1]
    assert land[0] == land[1] < land[2] < land[3]


def test_social_ties_follow_the_district_type_and_leave_other_districts_untouched():
    """Doubling the outer district's ties doubles its residents' mean degree (within 10%: rewired ties
    can land on the same partner or oneself) and leaves every central resident's ties as they were."""
    a, b = two_district(days=1), two_district(days=1, outer_ties=2.0)
    outer = a.territory.community_district[a.population.community] == 1
    deg_a, deg_b = a.population.degree, b.population.degree
    assert deg_b[outer].mean() == pytest.approx(2 * deg_a[outer].mean(), rel=0.1)
    central = np.flatnonzero(~outer)
    A, B = a.population.network, b.population.network
    assert (A[central] != B[central]).nnz == 0
