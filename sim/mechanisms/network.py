"""The organisational network acts (MODEL §12.2; ODD §7.18): shared data and working ties.

Two kinds of edges are state that the daily mechanisms read and update, as arrays over units
and edges (``city.build_org_network`` draws them as a graph):

- ``shares_data`` (which unit sees which unit's data). Without a platform the units live in
  silos: a department sees its own domain's data (a district department and the city's of the
  same domain), a street its own communities'. ``info_sharing`` is platform membership (一网统管):
  every integrable unit (community, street, district and city centre, department) has a fixed
  propensity drawn once from the ``platform`` stream and is on the platform (``integrated``)
  while its propensity is below the lever, so raising the lever adds units (nested) and the
  same units join in every scenario (common random numbers). Two integrated units see each
  other's data. Routing (a dispatcher who sees the lead department's data routes to it more
  surely), early warning (a latent case is seen by the data channel only if its community's data
  reach a unit that acts: its street or its district centre on the platform), data entry per case
  (communities on the platform) and coordination (departments that see each other's data) read it.
- ``works_with`` ties with a strength in [0, 1]: street ↔ each department of its district
  (``street_dept[street, domain]``) and department ↔ department inside a district, or among the
  city's departments (``dept_dept[district or D for the city, domain, domain]``, symmetric).
  A tie grows by ``tie_gain`` of the way to 1 with each jointly settled case (a whistled case that
  a department resolves at street level: the street and each department of the case; a
  cross-department case resolved: each pair of its departments) and each joint meeting that
  unblocks a case (its departments; the street too at a street committee's meeting); a tie with
  no contact on a day decays by ``tie_decay`` (relational capital, Ansell & Gash 2008). Whistle
  response, spontaneous coordination and push-back (推诿) read the ties; the burn-in warms them.

This stage runs after the closures of the day: contacts recorded during the day (``contact_*``)
strengthen their ties, every other tie decays.
"""

from __future__ import annotations

import numpy as np

from ..city import N_DOMAINS
from ..disputes import Handler, Level
from .base import Mechanism

#: Kinds of unit that can be on the platform (councils and social organisations cannot).
INTEGRABLE = (Handler.COMMUNITY, Handler.STREET, Handler.DISTRICT, Handler.CITY, Handler.DEPARTMENT)


class Network(Mechanism):
    name = "network"
    counters = ("joint_settled", "joint_meetings")

    def __init__(self, model):
        super().__init__(model)
        u, t, n = model.units, model.territory, model.p.network
        self.integrable = np.isin(u.kind, np.array(INTEGRABLE, dtype=np.int8))
        self.propensity = model.streams.get("platform").random(u.n)  # fixed per unit: who joins first
        self.integrated = np.zeros(u.n, dtype=bool)
        self.street_dept = np.full((t.n_streets, N_DOMAINS), n.tie_initial)
        self.dept_dept = np.full((t.n_districts + 1, N_DOMAINS, N_DOMAINS), n.tie_initial)
        self._street_contact = np.zeros(self.street_dept.shape, dtype=np.int64)
        self._dept_contact = np.zeros(self.dept_dept.shape, dtype=np.int64)
        iu = np.triu_indices(N_DOMAINS, 1)
        self._pairs = iu  # the department pairs of a group (upper triangle)

    # ------------------------------------------------------------------------------------------
    # shares_data
    # ------------------------------------------------------------------------------------------

    def on_levers(self) -> None:
        self.integrated = self.integrable & (self.propensity < self.model.levers.info_sharing)

    def platform_share(self) -> float:
        """Share of the integrable units that are on the platform."""
        return float(self.integrated.sum() / max(int(self.integrable.sum()), 1))

    def platform_cost_year(self, info_sharing: float) -> np.ndarray:
        """Yuan a year (simulated scale) the platform costs at ``info_sharing``, per district, the city's
        own units (city centre and departments) last: ``platform`` per resident of an integrated
        community plus ``platform_unit`` per integrated unit (units are real units: a simulated
        resident stands for ``population_scale`` people, a unit for one)."""
        m = self.model
        u, t, c = m.units, m.territory, m.p.costs
        on = self.integrable & (self.propensity < info_sharing)
        D = t.n_districts
        where = np.where(u.district >= 0, u.district, D)
        units = np.bincount(where[on], minlength=D + 1)
        comm = on[u.community_unit(np.arange(t.n_communities))]
        residents = np.bincount(t.community_district[comm], weights=t.community_size[comm], minlength=D + 1)
        return residents * c.platform + units * c.platform_unit / m.p.structure.population_scale

    def sees(self, a, b) -> np.ndarray:
        """Unit ``a`` sees unit ``b``'s data: both on the platform (silos are handled by the callers)."""
        return self.integrated[a] & self.integrated[b]

    def data_reach(self, community: np.ndarray) -> np.ndarray:
        """The community's data reach a unit that acts on them: the community is on the platform,
        and so is its street or its district centre."""
        m = self.model
        u, t = m.units, m.territory
        street = t.community_street[community]
        return self.integrated[u.community_unit(community)] & (
            self.integrated[u.street_unit(street)] | self.integrated[u.district_unit(t.street_district[street])])

    def community_integrated(self, community: np.ndarray) -> np.ndarray:
        return self.integrated[self.model.units.community_unit(community)]

    # ------------------------------------------------------------------------------------------
    # the departments of a case
    # ------------------------------------------------------------------------------------------

    def case_domains(self, idx: np.ndarray) -> np.ndarray:
        """Domains of the departments each case needs, ``[case, 3]``: the lead, then the type's
        co-domains as far as ``n_depts`` reaches (-1 where none)."""
        m = self.model
        cs = m.table
        co = m.types["co"][cs.type[idx]].astype(np.int64)
        n = cs.n_depts[idx]
        out = np.full((len(idx), 3), -1, dtype=np.int64)
        out[:, 0] = np.where(n >= 1, cs.lead[idx], -1)
        out[:, 1] = np.where(n >= 2, co[:, 0], -1)
        out[:, 2] = np.where(n >= 3, co[:, 1], -1)
        return out

    def group(self, idx: np.ndarray) -> np.ndarray:
        """Index of the departments' group of each case: its district, or D (the city's) at city level."""
        cs = self.model.table
        return np.where(cs.level[idx] == Level.CITY, self.model.territory.n_districts, cs.district[idx])

    def dept_units(self, idx: np.ndarray) -> np.ndarray:
        """Units of the departments of each case at its level, ``[case, 3]`` (-1 where none)."""
        m = self.model
        cs, u = m.table, m.units
        dom = self.case_domains(idx)
        city = (cs.level[idx] == Level.CITY)[:, None]
        unit = np.where(city, u.city_dept(np.maximum(dom, 0)),
                        u.district_dept(cs.district[idx][:, None], np.maximum(dom, 0)))
        return np.where(dom >= 0, unit, -1)

    def _pair_columns(self, dom: np.ndarray):
        """The three department pairs of each case's domains (a, b, valid)."""
        for i, j in ((0, 1), (0, 2), (1, 2)):
            a, b = dom[:, i], dom[:, j]
            yield np.minimum(a, b), np.maximum(a, b), (a >= 0) & (b >= 0) & (a != b)

    def dept_tie(self, idx: np.ndarray) -> np.ndarray:
        """Mean works_with strength among the departments of each case (1 pair, or 3 for 3 departments)."""
        dom = self.case_domains(idx)
        g = self.group(idx)
        total, count = np.zeros(len(idx)), np.zeros(len(idx))
        for a, b, ok in self._pair_columns(dom):
            total += np.where(ok, self.dept_dept[g, np.maximum(a, 0), np.maximum(b, 0)], 0.0)
            count += ok
        return np.where(count > 0, total / np.maximum(count, 1), 0.0)

    def depts_share_data(self, idx: np.ndarray) -> np.ndarray:
        """Every department of each case is on the platform: they see each other's data."""
        units = self.dept_units(idx)
        return np.where(units >= 0, self.integrated[np.maximum(units, 0)], True).all(axis=1)

    def street_tie(self, idx: np.ndarray) -> np.ndarray:
        """Strength of the tie between each case's street and its lead department (of its district)."""
        cs = self.model.table
        return self.street_dept[cs.street[idx], cs.lead[idx]]

    # ------------------------------------------------------------------------------------------
    # contacts: jointly settled cases and joint meetings
    # ------------------------------------------------------------------------------------------

    def contact_departments(self, idx: np.ndarray) -> None:
        """The departments of each case worked together today (each pair of them)."""
        if len(idx) == 0:
            return
        dom = self.case_domains(idx)
        g = self.group(idx)
        for a, b, ok in self._pair_columns(dom):
            np.add.at(self._dept_contact, (g[ok], a[ok], b[ok]), 1)

    def contact_street(self, idx: np.ndarray) -> None:
        """Each case's street worked with each of its (district) departments today."""
        if len(idx) == 0:
            return
        cs = self.model.table
        dom = self.case_domains(idx)
        street = np.repeat(cs.street[idx], 3)
        d = dom.ravel()
        ok = d >= 0
        np.add.at(self._street_contact, (street[ok], d[ok]), 1)

    def settled(self, idx: np.ndarray) -> None:
        """Cases resolved today (``closures.close``): a whistled case a department resolved at street
        level ties the street and its departments; a cross-department case ties its departments."""
        m = self.model
        cs = m.table
        dept = idx[cs.handler[idx] == Handler.DEPARTMENT]
        if len(dept) == 0:
            return
        street = dept[cs.whistled[dept] & (cs.level[dept] == Level.STREET)]
        cross = dept[cs.n_depts[dept] >= 2]
        self.contact_street(street)
        self.contact_departments(cross)
        self.count("joint_settled", len(np.union1d(street, cross)))

    def met(self, idx: np.ndarray, level: Level) -> None:
        """A joint meeting unblocked the cases: their departments met (and the street, at a street
        committee's meeting)."""
        if len(idx) == 0:
            return
        self.count("joint_meetings", len(idx))
        self.contact_departments(idx)
        if level == Level.STREET:
            self.contact_street(idx)

    def step(self) -> None:
        """Ties with contact today grow by ``tie_gain`` per contact; the others decay."""
        n = self.model.p.network
        for ties, contact in ((self.street_dept, self._street_contact), (self.dept_dept, self._dept_contact)):
            grown = 1.0 - (1.0 - ties) * (1.0 - n.tie_gain) ** contact
            ties[...] = np.where(contact > 0, grown, ties * (1.0 - n.tie_decay))
            contact[...] = 0

    def tie_strengths(self) -> np.ndarray:
        """Every works_with tie's strength: street - department, then department pairs."""
        i, j = self._pairs
        return np.concatenate([self.street_dept.ravel(), self.dept_dept[:, i, j].ravel()])

    def tie_strength_mean(self) -> float:
        return float(self.tie_strengths().mean())
