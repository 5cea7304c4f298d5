"""Residents' daily dynamics, twice: the model's vectorised code and a plain Mesa reference.

Docking (Axtell et al. 1996, "Aligning simulation models"): the same submodel written two
ways must produce the same distributions. ``VectorisedResidents`` drives the model's own
``Population`` methods (the code every run uses); ``ReferenceResidents`` is a Mesa model
with one ``Agent`` per resident and a Python ``step``, written from the rules in plain
words, for up to ~20k residents. Used only by tests and the benchmark.

The submodel, each day, for every resident:

1. emergence: start a dispute with probability rate x (1 + h x grievance) x (1 - moral);
2. parties of open disputes gain ``grievance_open``;
3. grievance decays by ``grievance_decay`` and is pulled up towards the neighbours' mean
   grievance by ``grievance_spread`` x (1 - trust) (synchronous: yesterday's values);
4. mobilised if grievance x (1 - trust) > threshold x (1 - boost x share of mobilised
   neighbours) (synchronous);
5. each open dispute ends with probability ``p_close``; its satisfaction is uniform on
   [0, 1] and it counts as resolved when satisfaction > 0.5; the party's trust moves
   ``trust_learning`` of the way to the satisfaction; a resolution removes
   ``grievance_relief`` of the grievance, anything else adds ``grievance_escalation`` x
   (1 - satisfaction); each neighbour's trust moves ``word_of_mouth`` of the way.

Both implementations start from the same population (states, thresholds, network) and use
their own random numbers, so they agree in distribution, not draw for draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa
import numpy as np

from .params import Residents as ResidentParams
from .population import Population


@dataclass(frozen=True)
class DockingSetup:
    """Rates of the docking submodel: higher than the city's, so that 60 days show movement and
    every resident's trust is judged often enough that a change of ``trust_learning`` shows in
    its distribution (tests/test_docking.py, the power checks)."""

    rate: float = 0.01             # disputes per resident per day at zero grievance
    grievance_hazard: float = 2.0
    moral: float = 0.1
    p_close: float = 0.1


class VectorisedResidents:
    """The model's own vectorised code for the submodel (Population methods)."""

    def __init__(self, pop: Population, params: ResidentParams, setup: DockingSetup, seed: int):
        self.pop, self.p, self.s = pop, params, setup
        self.rng = np.random.default_rng(seed)
        self.open_party = np.empty(0, dtype=np.int32)  # one row per open dispute

    def advance(self) -> dict:
        """One day; returns the day's counts."""
        pop, p, s, rng = self.pop, self.p, self.s, self.rng
        gmax = 1.0 + s.grievance_hazard
        m = rng.poisson(pop.n * s.rate * gmax)
        who = rng.integers(0, pop.n, m)
        new = who[pop.accept_candidates(who, rng.random(m), s.grievance_hazard, s.moral)].astype(np.int32)
        self.open_party = np.concatenate([self.open_party, new])
        pop.add_open_grievance(self.open_party[:, None], p.grievance_open)
        pop.daily_update(p)
        close = rng.random(len(self.open_party)) < s.p_close
        party = self.open_party[close]
        sat = rng.random(len(party)).astype(np.float32)
        pop.judge(party[:, None], sat, sat > 0.5, p)
        self.open_party = self.open_party[~close]
        return {"emerged": len(new), "closed": len(party), "mobilised": int(pop.mobilised.sum())}

    def state(self) -> dict[str, np.ndarray]:
        return {"trust": self.pop.trust.copy(), "grievance": self.pop.grievance.copy()}


class ReferenceResident(mesa.Agent):
    """One resident, the plain way: its own state and a Python step."""

    def __init__(self, model, trust, grievance, threshold):
        super().__init__(model)
        self.trust, self.grievance, self.threshold = float(trust), float(grievance), float(threshold)
        self.mobilised = False
        self.neighbours: list[ReferenceResident] = []
        self.open_disputes = 0

    def emerge(self) -> None:
        s, rnd = self.model.setup, self.model.random  # Mesa's seeded generator
        if rnd.random() < s.rate * (1 + s.grievance_hazard * self.grievance) * (1 - s.moral):
            self.open_disputes += 1
            self.model.emerged += 1

    def aggrieve(self) -> None:
        self.grievance += self.model.p.grievance_open * self.open_disputes

    def prepare(self) -> None:
        """Read the neighbourhood before anyone updates (synchronous update)."""
        k = max(len(self.neighbours), 1)
        self._mean_grievance = sum(n.grievance for n in self.neighbours) / k
        self._share_mobilised = sum(n.mobilised for n in self.neighbours) / k

    def update(self) -> None:
        p = self.model.p
        g = self.grievance
        pull = p.grievance_spread * (1 - self.trust) * (self._mean_grievance - g)
        g = g * (1 - p.grievance_decay) + max(pull, 0.0)
        self.grievance = min(max(g, 0.0), 1.0)

    def mobilise(self) -> None:
        p = self.model.p
        self.mobilised = self.grievance * (1 - self.trust) > self.threshold * (1 - p.neighbour_boost * self._share_mobilised)

    def close_disputes(self) -> None:
        p, s, rnd = self.model.p, self.model.setup, self.model.random
        for _ in range(self.open_disputes):
            if rnd.random() >= s.p_close:
                continue
            self.open_disputes -= 1
            self.model.closed += 1
            sat = rnd.random()
            self.trust += p.trust_learning * (sat - self.trust)
            if sat > 0.5:
                self.grievance *= 1 - p.grievance_relief
            else:
                self.grievance = min(self.grievance + p.grievance_escalation * (1 - sat), 1.0)
            for n in self.neighbours:
                n.trust += p.word_of_mouth * (sat - n.trust)
            for r in (self, *self.neighbours):
                r.trust = min(max(r.trust, 0.0), 1.0)


class ReferenceResidents(mesa.Model):
    """The reference implementation: one Mesa agent per resident (small populations only)."""

    def __init__(self, pop: Population, params: ResidentParams, setup: DockingSetup, seed: int):
        super().__init__(rng=seed)
        if pop.n > 20_000:
            raise ValueError("the reference implementation is for up to 20,000 residents")
        self.p, self.setup = params, setup
        self.residents = [ReferenceResident(self, pop.trust[i], pop.grievance[i], pop.threshold[i])
                          for i in range(pop.n)]
        A = pop.network
        for i, r in enumerate(self.residents):
            r.neighbours = [self.residents[j] for j in A.indices[A.indptr[i]: A.indptr[i + 1]]]

    def step(self) -> None:
        self.last = self.advance()

    def advance(self) -> dict:
        """One day; returns the day's counts."""
        self.emerged = self.closed = 0
        agents = self.residents
        for r in agents:
            r.emerge()
        for r in agents:
            r.aggrieve()
        for r in agents:
            r.prepare()
        for r in agents:
            r.update()
        for r in agents:  # mobilisation reads today's grievance and yesterday's mobilised neighbours
            r.mobilise()
        for r in agents:
            r.close_disputes()
        return {"emerged": self.emerged, "closed": self.closed,
                "mobilised": sum(r.mobilised for r in agents)}

    def state(self) -> dict[str, np.ndarray]:
        return {"trust": np.array([r.trust for r in self.residents]),
                "grievance": np.array([r.grievance for r in self.residents])}
