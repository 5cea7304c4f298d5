"""Emergence (源头): disputes and demands arise (MODEL §3.1, ODD §7.1).

Candidates come from a fixed stream: the same seed gives the same candidates, with the same
types, severities, parties and needs, in every scenario. A candidate becomes a case with
probability hazard / hazard_max, where the hazard rises with the resident's grievance and
falls with matured moral education (德治 is slow), so levers act only through the residents'
grievance and moral education, never by shifting draws.

Demands (the second family) are needs (MODEL §12.5): a resident *brings* a need forward when
the gain they expect from asking (their trust, the expectation that asking helps, times what
the need is worth to them) exceeds its cost, which is lower through the 12345 hotline for the
residents it reaches (``hotline_reach``: one number). A need brought forward is a case the
parties have reported (the hotline's or the community's: ``channel``), found the same day; a
need not brought forward becomes no case: it stays unmet and adds to its resident's
grievance. Each need's cost of asking is drawn for every candidate from its own stream, so the
candidates and their costs are the same in every scenario and only the choice differs: when
the city becomes responsive and trust rises, more needs are brought forward (induced demand).
"""

from __future__ import annotations

import numpy as np

from ..city import district_type_cdf, draw_types
from ..disputes import MAX_PARTIES, Channel
from .base import DAYS_PER_YEAR, PER_1000, Mechanism


class Emergence(Mechanism):
    name = "emergence"
    counters = ("candidates", "new_cases", "needs_arisen", "needs_brought", "needs_hotline")

    def __init__(self, model):
        super().__init__(model)
        self.moral = 0.0  # matured moral education
        self.type_cdf = district_type_cdf(model.territory, model.types, model.p.districts)  # mix by district (§12.7)

    def step(self) -> None:
        m = self.model
        e, pop, T = m.p.emergence, m.population, m.types
        rng = m.streams.day("emergence", m.day)
        costs = m.streams.day("bringing", m.day)
        self.moral += (m.levers.moral_education - self.moral) / e.moral_ramp_days
        gmax = 1.0 + e.grievance_hazard
        parts = []
        for family, (rate, mix) in enumerate(((e.disputes_per_1000_year / PER_1000, T["dispute_p"]),
                                              (e.demands_per_resident_year, T["demand_p"]))):
            n = rng.poisson(pop.n * rate / DAYS_PER_YEAR * gmax)
            who = rng.integers(0, pop.n, n)
            u = rng.random(n)
            # the type from the mix of the resident's district (one uniform draw each, as choice with p draws)
            ctype = draw_types(self.type_cdf[family, m.territory.community_district[pop.community[who]]], rng.random(n))
            a = e.severity_concentration
            sev = np.clip(rng.beta(a, a, n) * 2 * T["severity"][ctype], e.severity_min, 1.0).astype(np.float32)
            group = rng.random(n) < T["p_group"][ctype]
            size = np.where(group, rng.integers(e.group_min_parties, MAX_PARTIES + 1, n), 1)
            # a demand needs a department more often than a dispute of the same type does
            floor, p_dept = e.demand_dept_floor, T["p_dept"][ctype]
            needs = rng.random(n) < np.where(family == 1, floor + (1.0 - floor) * p_dept, p_dept)
            cross = rng.random(n) < T["p_cross"][ctype]
            third = rng.random(n) < e.p_third_dept
            n_depts = np.where(needs, np.where(cross, 1 + np.minimum(T["n_co"][ctype], 1 + third), 1), 0)
            ua = rng.random(n)
            spread, w = e.dept_authority_spread, e.authority_severity_weight
            auth = np.where(needs, (1.0 - spread) + spread * ua,
                            np.clip(w * sev + (1.0 - w) * ua, 0, 1)).astype(np.float32)
            offset = rng.integers(0, 1 << 30, n)
            accept = pop.accept_candidates(who, u, e.grievance_hazard, e.moral_effect * self.moral)
            self.count("candidates", n)
            channel = np.full(n, -1, dtype=np.int8)  # disputes wait to be found (sim.mechanisms.detection)
            if family == 1:
                accept = self._bring_forward(who, sev, costs.exponential(1.0, n), accept, channel)
            if not accept.any():
                continue
            sel = np.flatnonzero(accept)
            parts.append((family, *(x[sel] for x in (who, ctype, sev, size, needs, n_depts, auth, offset, channel))))
        for part in parts:
            self._add(*part)

    def _bring_forward(self, who, sev, cost_u, arisen, channel) -> np.ndarray:
        """Needs that arose today are brought forward (through the hotline or the community) or stay
        unmet and aggrieve their resident; returns the needs that become cases and sets their ``channel``."""
        m = self.model
        pop, r = m.population, m.p.residents
        brought, hotline = pop.bring_forward(who, sev, cost_u, m.levers.hotline_reach, r)
        brought &= arisen
        hotline &= arisen
        channel[brought] = Channel.REPORT
        channel[hotline] = Channel.HOTLINE
        unmet = arisen & ~brought
        pop.add_grievance(who[unmet], r.grievance_unmet * sev[unmet])
        self.count("needs_arisen", int(arisen.sum()))
        self.count("needs_brought", int(brought.sum()))
        self.count("needs_hotline", int(hotline.sum()))
        return brought

    def _add(self, family, who, ctype, sev, size, needs, n_depts, auth, offset, channel) -> None:
        """Append the accepted candidates to the case table; group parties are the first party's neighbours."""
        m = self.model
        pop, t = m.population, m.territory
        k = len(who)
        parties = np.full((k, MAX_PARTIES), -1, dtype=np.int32)
        parties[:, 0] = who
        A = pop.network
        deg = (A.indptr[who + 1] - A.indptr[who]).astype(np.int64)
        for j in range(1, MAX_PARTIES):
            ok = (size > j) & (deg >= j)
            pos = A.indptr[who[ok]] + (offset[ok] + j - 1) % deg[ok]
            parties[ok, j] = A.indices[pos]
        n_parties = (parties >= 0).sum(axis=1).astype(np.int8)
        comm = pop.community[who]
        street = t.community_street[comm]
        idx = m.table.add(
            k, parties, type=ctype, family=family, severity=sev, severity0=sev, auth=auth,
            needs_dept=needs, lead=m.types["lead"][ctype], n_depts=n_depts, n_parties=n_parties,
            community=comm, street=street, district=t.street_district[street], created=m.day, channel=channel)
        pop.last_case[who] = idx
        self.count("new_cases", k)
