"""Residents' daily dynamics (MODEL §4, §12.3, §12.5; ODD §7.2): parties of open cases grow
aggrieved; waiting costs: every day a detected case waits beyond the norm its parties lose trust
and grow aggrieved, and so at each bounce (推诿) or escalation of their case; grievance decays and
spreads along ties, weighted by distrust; experiences fade, so trust returns slowly towards each
resident's disposition (without it, trust only ever moves where a case touches someone and the
city's mean trust drifts for decades: MODEL §12.1's balancing mechanism for trust); residents
mobilise when grievance x distrust passes a threshold that mobilised neighbours lower
(Granovetter).

The rules are the population's own methods (``sim.population.Population``), vectorised over
residents and cases; this stage only calls them in the day's order.
"""

from __future__ import annotations

import numpy as np

from ..disputes import State
from .base import Mechanism


class Residents(Mechanism):
    name = "residents"

    def step(self) -> None:
        m = self.model
        pop, r = m.population, m.p.residents
        idx = m.table.open_index()
        pop.add_open_grievance(m.table.parties[idx], r.grievance_open)
        self.waiting_costs(idx)
        pop.forget(r)
        pop.daily_update(r)

    def waiting_costs(self, idx: np.ndarray) -> None:
        """Parties of detected cases waiting beyond ``wait_norm_days`` lose trust and grow aggrieved, a
        little every day; each bounce or escalation of their case since yesterday costs them too."""
        m = self.model
        cs, pop, r = m.table, m.population, m.p.residents
        act = idx[cs.state[idx] == State.ACTIVE]
        late = act[m.day - cs.detected[act] > r.wait_norm_days]
        if len(late):
            who = cs.parties[late]
            who = who[who >= 0]
            pop.lose_trust(who, r.trust_wait)
            pop.add_grievance(who, r.grievance_wait)
        steps = (cs.bounces[act] + cs.escalations[act] - cs.steps_felt[act]).astype(np.int64)
        felt = act[steps > 0]
        if len(felt):
            n = steps[steps > 0]
            parties = cs.parties[felt]
            valid = parties >= 0
            who = parties[valid]
            k = np.broadcast_to(n[:, None], parties.shape)[valid]
            pop.lose_trust(who, 1.0 - (1.0 - r.trust_per_step) ** k)
            pop.add_grievance(who, r.grievance_per_step * k)
            cs.steps_felt[felt] += n.astype(np.int16)
