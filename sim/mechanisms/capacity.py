"""Capacity (MODEL §2.2, §5; ODD §7.6): what each organisation brings to the day.

Volunteers and party members registered in communities (双报到) pledge days; a share of
them is given. Then every organisation sets today's case capacity by its own rule (the
``step`` of each actor in ``sim.actors``): communities (in shuffled order) split their
workers' time among administration, patrols, paperwork and cases, and set their resident
council's capacity; social organisations hire mediators from purchased services; streets,
centres and departments give staff x (1 - paperwork) x effort.

When the levers change, devolution with resources (人随事走) moves department staff down,
``moved_to_streets`` of it to streets and the rest to communities, in proportion to residents:
in a ``funded`` scenario as new posts (the departments keep theirs: new money), in a
``budget_neutral`` one out of the departments. A budget-neutral scenario also pays its other new
spending relative to the baseline's levers (``Costs.added_programmes``) out of staff budgets: every
staffed unit (communities, streets, centres, departments) loses the same share of its case
capacity, the spending over ``staff_day`` over all staff (``Costs.staff_cut``).
"""

from __future__ import annotations

import numpy as np

from ..actors import Centre, Community, Department, SocialOrganisation, Street
from ..params import Levers
from .base import DAYS_PER_YEAR, EPS, Mechanism


class Capacity(Mechanism):
    name = "capacity"

    def __init__(self, model):
        super().__init__(model)
        C = model.territory.n_communities
        self.patrol_days = np.zeros(C)      # patrol person-days of each community today
        self.volunteer_days = np.zeros(C)   # volunteer days given in each community today
        self.volunteers = np.zeros(C)       # registered volunteers of each community
        self.party_members = np.zeros(C)    # party members registered in each community
        self.staffed = np.zeros(0, dtype=np.int64)  # units whose staff a budget-neutral cut reaches

    def on_levers(self) -> None:
        m = self.model
        lv, pop, t = m.levers, m.population, m.territory
        pop.set_volunteer_rate(lv.volunteer_rate)
        C = t.n_communities
        self.volunteers = np.bincount(pop.community, weights=pop.volunteer, minlength=C)
        self.party_members = np.bincount(pop.community, weights=pop.party_member, minlength=C)
        for c in m.communities:
            c.volunteers, c.party_members = int(self.volunteers[c.index]), int(self.party_members[c.index])
        self._move_staff_down()

    def _move_staff_down(self) -> None:
        """人随事走: department staff follow the devolved work to streets and communities."""
        m = self.model
        lv, w, t = m.levers, m.p.workforce, m.territory
        moved_share = w.transferable_dept_staff * lv.authority_devolution * lv.resources_follow
        base = Levers()  # the baseline's levers: a funded scenario adds posts beyond the baseline's move
        base_share = w.transferable_dept_staff * base.authority_devolution * base.resources_follow
        out_share = moved_share if m.p.costs.funding == "budget_neutral" else min(base_share, moved_share)
        res_d = np.bincount(t.community_district, weights=t.community_size, minlength=t.n_districts)
        moved_to_district = np.zeros(t.n_districts)
        for dept in m.departments:
            dept.moved_out = dept.staff * out_share
            moved = dept.staff * moved_share
            if dept.district is None:  # city departments' staff go to the districts by residents
                moved_to_district += moved * res_d / t.community_size.sum()
            else:
                moved_to_district[dept.district] += moved
        to_streets = w.moved_to_streets
        for c in m.communities:
            d = t.community_district[c.index]
            c.moved_in = (1.0 - to_streets) * moved_to_district[d] * c.residents / res_d[d]
        street_res = np.bincount(t.community_street, weights=t.community_size, minlength=t.n_streets)
        for s in m.streets:
            d = t.street_district[s.index]
            s.moved_in = to_streets * moved_to_district[d] * street_res[s.index] / res_d[d]

    def step(self) -> None:
        m = self.model
        r, lv = m.p.residents, m.levers
        rng = m.streams.day("volunteers", m.day)
        pledged = (self.volunteers + self.party_members * lv.party_attention * lv.party_integration) \
            * r.volunteer_days_year / DAYS_PER_YEAR
        self.volunteer_days = rng.poisson(pledged * r.volunteer_reliability).astype(float)
        m.agents_by_type[Community].shuffle_do("step")
        for kind in (SocialOrganisation, Street, Centre, Department):
            m.agents_by_type[kind].do("step")
        cut = m.costs.staff_cut()
        if cut > 0:  # budget-neutral: new spending paid out of staff budgets
            if len(self.staffed) == 0:
                self.staffed = np.array([a.unit for a in (*m.communities, *m.streets, *m.centres, *m.departments)])
            m.capacity[self.staffed] *= np.float32(1.0 - cut)
        # staff time the units could give cases at full effort: utilisation (burnout) is the share of
        # it they did give, so that working at low effort is not felt as a full load
        m.available += m.capacity / np.maximum(m.effort, EPS)
