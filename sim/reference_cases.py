"""Case handling twice: the model's columnar code (``mechanisms.handling.Handling``) and a plain
reference, one Python object per case and a loop per unit (issue 14, item 5).

Docking (Axtell et al. 1996): ``ReferenceHandling`` is written from the rule in plain words (ODD
§7.7) and swapped in for the model's handling stage; both run the same city from the same
burned-in state, with their own random numbers (the reference draws from Mesa's seeded
``model.random``, the ordinary Mesa way), so they must agree in distribution, not draw for draw.
The other stages (routing, closures, deadlines...) are the model's own in both. Used only by the
tests (``tests/test_docking_cases.py``).

The rule, each day, for each unit that holds workable cases (active, placed, not waiting, not
misrouted, not a department case waiting for coordination):

1. a case it works on for the first time gets its plan: a shortcut (走过场) with the responsible
   unit's superficial propensity, else real work;
2. the unit's queue, in person-days of work left, over its capacity today, is its queue in days;
   above ``overload_days`` it rushes: each case gets ``overload_days / queue_days`` of the work it
   still needs (at least ``min_work_share``); a shortcut gets at most what is left of
   ``superficial_work`` of its need;
3. it works its cases in order of priority (severity, plus ``deadline_priority`` x the share of the
   level's time limit used, plus the whistle's power for a case its street whistled for), giving
   each its planned work while capacity lasts;
4. a case whose planned work is all given is done: a shortcut is closed superficially; other work
   succeeds with the handler's skill x (1 - trust_weight + trust_weight x the first party's trust)
   x (share of the needed work done) ** rush_exponent (at most ``max_success``); a failure is
   closed superficially with the responsible unit's propensity, else it moves on (back to the
   grassroots' placement, or up a level).

``misaligned`` breaks one rule on purpose, to show that the docking tests can tell: ``"no_rush"``
(overloaded units still give every case all the work it needs), ``"no_trust"`` (success ignores
the parties' trust).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .disputes import Handler, Level, State
from .mechanisms.base import EPS, Mechanism
from .mechanisms.deadlines import time_limits
from .mechanisms.handling import Handling
from .mechanisms.routing import TRIED_BIT

MISALIGNED = (None, "no_rush", "no_trust")


class Case:
    """One workable case, read from the case table into plain attributes."""

    def __init__(self, model, i: int, responsible: int):
        cs = model.table
        self.i = int(i)
        self.holder = int(cs.holder[i])
        self.level = int(cs.level[i])
        self.handler = int(cs.handler[i])
        self.type = int(cs.type[i])
        self.severity = float(cs.severity[i])
        self.arrived = int(cs.arrived[i])
        self.whistled = bool(cs.whistled[i])
        self.left = float(cs.work[i])
        self.need = float(cs.work_need[i])
        self.shortcut = int(cs.shortcut[i])
        self.party = int(cs.parties[i, 0])
        self.responsible = int(responsible)

    def priority(self, model) -> float:
        limit = float(time_limits(model.p.handling)[self.level])
        urgency = min(max((model.day - self.arrived) / limit, 0.0), 1.0)
        whistle = model.levers.whistle_power if (self.whistled and self.level == Level.STREET) else 0.0
        return self.severity + model.p.overload.deadline_priority * urgency + whistle


class ReferenceHandling(Mechanism):
    """The handling stage written plainly (see the module's docstring)."""

    name = Handling.name
    counters = Handling.counters

    def __init__(self, model, misaligned: str | None = None):
        super().__init__(model)
        if misaligned not in MISALIGNED:
            raise ValueError(f"misaligned: one of {MISALIGNED}")
        self.misaligned = misaligned

    def workable(self) -> list[Case]:
        m = self.model
        cs = m.table
        idx = cs.open_index()
        keep = [i for i in idx if cs.state[i] == State.ACTIVE and cs.holder[i] >= 0 and cs.wait_until[i] <= m.day
                and not cs.misrouted[i] and not (cs.handler[i] == Handler.DEPARTMENT and not cs.coordinated[i])]
        keep = np.array(keep, dtype=np.int64)
        responsible = m.units.responsible(cs, keep) if len(keep) else []
        return [Case(m, i, r) for i, r in zip(keep, responsible, strict=True)]

    def step(self) -> None:
        m = self.model
        ov, rnd = m.p.overload, m.random
        queues: dict[int, list[Case]] = defaultdict(list)
        for case in self.workable():
            queues[case.holder].append(case)
        done: list[Case] = []
        person_days = 0.0
        for unit in sorted(queues):
            queue = queues[unit]
            for case in queue:  # 1. plans
                if case.shortcut < 0:
                    case.shortcut = 1 if rnd.random() < m.superficial[case.responsible] else 0
                    m.table.shortcut[case.i] = case.shortcut
            capacity = float(m.capacity[unit])
            queue_days = sum(c.left for c in queue) / max(capacity, EPS)  # 2. rushing
            rush = 1.0 if self.misaligned == "no_rush" else min(max(ov.overload_days / max(queue_days, EPS),
                                                                     ov.min_work_share), 1.0)
            queue.sort(key=lambda c: -c.priority(m))  # 3. triage (a stable sort: ties stay in table order)
            spent = 0.0
            for case in queue:
                planned = case.left * rush
                if case.shortcut == 1:
                    planned = min(planned, max(ov.superficial_work * case.need - (case.need - case.left), 0.0))
                give = min(max(capacity - spent, 0.0), planned)
                case.left = max(case.left - give, 0.0)
                m.table.work[case.i] = case.left
                spent += give
                if capacity > 0 and give >= planned - EPS:
                    done.append(case)
            m.used[unit] += spent
            person_days += spent
        self.count("person_days", person_days)
        if done:
            self.finish(done)

    def skill(self, case: Case) -> float:
        m = self.model
        h = m.p.handling
        table = {Handler.COUNCIL: h.skill_self, Handler.SOCIAL_ORG: h.skill_social_org,
                 Handler.COMMUNITY: h.skill_community, Handler.STREET: h.skill_street,
                 Handler.DISTRICT: h.skill_district, Handler.CITY: h.skill_city,
                 Handler.DEPARTMENT: h.skill_department}
        skill = table[Handler(case.handler)]
        if case.handler <= Handler.SOCIAL_ORG:  # mediators: how settleable locally, and moral education
            skill *= float(m.types["local"][case.type]) * (1 + h.moral_acceptance * m.mechanisms.emergence.moral)
        return skill * float(m.staffing.skill[case.holder])

    def finish(self, done: list[Case]) -> None:
        m = self.model
        h, ov, rnd = m.p.handling, m.p.overload, m.random
        closures, routing, cs = m.mechanisms.closures, m.mechanisms.routing, m.table
        shortcut, resolved, superficial, back, up = [], [], [], [], []
        rushed = 0
        for case in done:
            if case.shortcut == 1:
                shortcut.append(case.i)
                continue
            share = min(max(1.0 - case.left / max(case.need, EPS), 0.0), 1.0)
            rushed += share < 1.0 - EPS
            trust = float(m.population.trust[case.party])
            weight = 1.0 if self.misaligned == "no_trust" else 1 - h.trust_weight + h.trust_weight * trust
            p = self.skill(case) * weight * share ** ov.rush_exponent
            if rnd.random() < min(max(p, 0.0), h.max_success):
                resolved.append(case.i)
            elif rnd.random() < m.superficial[case.responsible]:
                superficial.append(case.i)
            elif case.level == Level.GRASSROOTS:
                bit = TRIED_BIT.get(Handler(case.handler))
                if bit is not None:
                    cs.tried[case.i] |= bit
                back.append(case.i)
            else:
                up.append(case.i)
        self.count("shortcuts", len(shortcut))
        self.count("finished", len(done) - len(shortcut))
        self.count("rushed", int(rushed))
        arr = lambda ids: np.array(ids, dtype=np.int64)  # noqa: E731
        closures.close(arr(shortcut), State.SUPERFICIAL)
        closures.close(arr(resolved), State.RESOLVED)
        closures.close(arr(superficial), State.SUPERFICIAL)
        cs.release(arr(back))
        routing.escalate(arr(up))
