"""Residents' daily dynamics (MODEL §4, ODD §7.2): parties of open cases grow aggrieved;
grievance decays and spreads along ties, weighted by distrust; residents mobilise when
grievance x distrust passes a threshold that mobilised neighbours lower (Granovetter).

The rules are the population's own methods (``sim.population.Population``), vectorised over
residents; this stage only calls them in the day's order.
"""

from __future__ import annotations

from .base import Mechanism


class Residents(Mechanism):
    name = "residents"

    def step(self) -> None:
        m = self.model
        pop, r = m.population, m.p.residents
        pop.add_open_grievance(m.table.parties[m.table.open_index()], r.grievance_open)
        pop.daily_update(r)
