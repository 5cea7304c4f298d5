"""Deadlines (MODEL §3.5; ODD §7.12): a case held past its level's time limit goes up
(矛盾上交), unless the responsible unit conceals it (with its learned propensity): then it is
held past the limit and keeps brewing. At city level an overdue case becomes backlog (积案).
"""

from __future__ import annotations

import numpy as np

from ..disputes import Level, State
from .base import Mechanism


class Deadlines(Mechanism):
    name = "deadlines"

    def step(self) -> None:
        m = self.model
        cs, h = m.table, m.p.handling
        idx = cs.open_index()
        act = idx[cs.state[idx] == State.ACTIVE]
        limit = np.array([h.deadline_community, h.deadline_street, h.deadline_district, h.backlog_days])[cs.level[act]]
        over = act[m.day - cs.arrived[act] > limit]
        top = cs.level[over] == Level.CITY
        cs.backlog[over[top]] = True
        over = over[~top]
        if len(over) == 0:
            return
        rng = m.streams.day("deadlines", m.day)
        hide = rng.random(len(over)) < m.conceal[m.units.responsible(cs, over)]
        held = over[hide]
        cs.concealed[held] += 1
        cs.arrived[held] = m.day
        m.mechanisms.routing.escalate(over[~hide])
