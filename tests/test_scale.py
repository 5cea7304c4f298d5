"""Memory-conscious layout (issue: full-scale Tianjin): compact dtypes, no per-resident objects."""

import numpy as np
import mesa

from conftest import make_model
from sim.disputes import CASE_COLUMNS
from sim.population import Resident


def test_resident_arrays_use_compact_dtypes():
    m = make_model(days=5)
    pop = m.population
    for name in ("trust", "grievance", "threshold", "volunteer_u"):
        assert getattr(pop, name).dtype == np.float32, name
    for name in ("community", "grid", "last_case"):
        assert getattr(pop, name).dtype == np.int32, name
    for name in ("party_member", "volunteer", "mobilised"):
        assert getattr(pop, name).dtype == np.bool_, name
    A = pop.network
    assert A.indices.dtype == np.int32 and A.indptr.dtype == np.int32 and A.data.dtype == np.float32


def test_daily_update_keeps_dtypes():
    m = make_model(days=10).run()
    pop = m.population
    assert pop.trust.dtype == np.float32 and pop.grievance.dtype == np.float32
    assert pop.mobilised.dtype == np.bool_


def test_case_table_columns_are_compact():
    m = make_model(days=30).run()
    for name, (dtype, _) in CASE_COLUMNS.items():
        arr = getattr(m.table, name)
        assert arr.dtype == np.dtype(dtype), name
        assert arr.dtype.itemsize <= 4, f"{name} uses {arr.dtype}"
    assert m.table.parties.dtype == np.int32


def test_no_resident_agents_unless_asked():
    m = make_model(days=5).run()
    assert Resident not in m.agents_by_type
    n_agents = len(m.agents)
    m.resident(7)
    m.resident(7)  # a view is made once and reused
    assert len(m.agents) == n_agents + 1
    assert isinstance(m.resident(7), mesa.Agent)


def test_compiled_kernel_matches_numpy_bit_for_bit():
    """The fused numba kernel (used from 1M residents) must give exactly the numpy result."""
    import copy

    import pytest

    from sim import kernels
    if not kernels.available():
        pytest.skip("numba not installed")
    m = make_model(days=30).run()  # a population with some grievance, trust spread and mobilisation
    pop = m.population
    pop.grievance[:] = np.random.default_rng(0).random(pop.n).astype(np.float32) * 0.8
    pop.trust[:] = np.random.default_rng(1).random(pop.n).astype(np.float32) * 0.5
    pop.mobilised = np.random.default_rng(2).random(pop.n) < 0.2
    a, b = copy.deepcopy(pop), copy.deepcopy(pop)
    for _ in range(5):
        a.daily_update_numpy(m.p.residents)
        kernels.daily_update(b, m.p.residents.grievance_spread, m.p.residents.grievance_decay,
                             m.p.residents.neighbour_boost, threads=2)
    assert a.mobilised.any() and not a.mobilised.all()
    np.testing.assert_array_equal(a.grievance, b.grievance)
    np.testing.assert_array_equal(a.mobilised, b.mobilised)
