"""Docking (Axtell et al. 1996): the vectorised residents' dynamics against the plain Mesa reference.

Both run the submodel of ``sim.reference`` from the same population (states, thresholds,
network) with their own random numbers, over several seeds. They must agree in distribution:

- daily emergence counts: the pooled totals are Poisson counts, so their difference must be
  within 3 standard deviations (z = (A - B) / sqrt(A + B));
- mobilisation counts: per-seed means over the last 30 days, Welch's t-test at p > 0.001;
- end-of-run grievance and trust of every resident, pooled over seeds: two-sample
  Kolmogorov-Smirnov test at p > 0.001.

Negative controls show the tests have power (each is a reference with one rule changed, which
the tests must tell apart): three times the grievance spread (KS on grievance); no Granovetter
neighbour boost (the mobilisation counts); trust learning halved (KS on trust). The docking
population has low mobilisation thresholds (mean 0.06, sd 0.03: about a sixth of the residents
mobilised), so the neighbour boost moves the counts, and ten seeds. Measured on 2026-12-04: the
aligned reference p = 0.31 (mobilised), 0.52 (trust), 0.38 (grievance), z = 0.83 (emerged); no
boost p = 7e-6; half the trust learning p = 1e-10 on trust.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim import load_scenario
from sim.city import build_territory
from sim.population import Population, build_network
from sim.reference import DockingSetup, ReferenceResidents, VectorisedResidents
from sim.streams import Streams

N_RESIDENTS, DAYS, SEEDS = 5_000, 60, range(10)
COUNTS = {"districts": 1, "streets": 2, "communities": 5, "grids": 20}
#: the residents' parameters, with thresholds low enough that many mobilise (the boost then matters)
PARAMS = load_scenario("baseline", preset="classroom").residents.model_copy(
    update={"threshold_mean": 0.06, "threshold_sd": 0.03})


def population() -> Population:
    streams = Streams(1)
    structure = load_scenario("baseline").structure
    t = build_territory(COUNTS, N_RESIDENTS, streams.get("structure"))
    return Population(t, structure, PARAMS, 0.05, streams.get("population"),
                      build_network(t, structure, streams.get("network")))


def simulate(cls, params=PARAMS) -> dict:
    """Both implementations from the same population (built with ``PARAMS``: the thresholds are
    the population's), each with its own rules' ``params``."""
    emerged, mobilised, grievance, trust = [], [], [], []
    for seed in SEEDS:
        sim = cls(population(), params, DockingSetup(), 100 + seed)
        rows = [sim.advance() for _ in range(DAYS)]
        emerged.append(sum(r["emerged"] for r in rows))
        mobilised.append(np.mean([r["mobilised"] for r in rows[-30:]]))
        state = sim.state()
        grievance.append(state["grievance"])
        trust.append(state["trust"])
    return {"emerged": int(np.sum(emerged)), "mobilised": np.array(mobilised),
            "grievance": np.concatenate(grievance), "trust": np.concatenate(trust)}


@pytest.fixture(scope="module")
def vectorised():
    return simulate(VectorisedResidents)


@pytest.fixture(scope="module")
def reference():
    return simulate(ReferenceResidents)


def poisson_z(a: int, b: int) -> float:
    return (a - b) / np.sqrt(a + b)


@pytest.mark.slow
def test_emergence_counts_agree(vectorised, reference):
    assert vectorised["emerged"] > 1000  # the submodel really produced disputes
    assert abs(poisson_z(vectorised["emerged"], reference["emerged"])) < 3


@pytest.mark.slow
def test_mobilisation_counts_agree(vectorised, reference):
    assert vectorised["mobilised"].mean() > 1  # someone mobilised, so the comparison means something
    assert stats.ttest_ind(vectorised["mobilised"], reference["mobilised"], equal_var=False).pvalue > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("state", ["grievance", "trust"])
def test_state_distributions_agree(vectorised, reference, state):
    assert stats.ks_2samp(vectorised[state], reference[state]).pvalue > 1e-3


@pytest.mark.slow
def test_docking_detects_a_misaligned_reference(vectorised):
    """Negative control: a reference whose grievance spreads three times as fast is detected."""
    wrong = PARAMS.model_copy(update={"grievance_spread": 3 * PARAMS.grievance_spread})
    other = simulate(ReferenceResidents, wrong)
    assert stats.ks_2samp(vectorised["grievance"], other["grievance"]).pvalue < 1e-3


@pytest.mark.slow
def test_docking_detects_a_reference_without_the_granovetter_boost(vectorised):
    other = simulate(ReferenceResidents, PARAMS.model_copy(update={"neighbour_boost": 0.0}))
    assert stats.ttest_ind(vectorised["mobilised"], other["mobilised"], equal_var=False).pvalue < 1e-3


@pytest.mark.slow
def test_docking_detects_a_reference_with_half_the_trust_learning(vectorised):
    other = simulate(ReferenceResidents, PARAMS.model_copy(update={"trust_learning": PARAMS.trust_learning / 2}))
    assert stats.ks_2samp(vectorised["trust"], other["trust"]).pvalue < 1e-3
