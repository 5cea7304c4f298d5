"""Brewing, detection and eruption (MODEL §3.2-§3.3, ODD §7.3-§7.5).

Open cases brew (severity grows, slower while handled); latent low-severity cases may fade
away. Latent cases are found by three independent channels: the parties report (more when
they trust the system), grid workers' patrols (intensity per resident), and early warning
from shared data (一网统管): only where the case's community's data reach a unit that acts on
them (``Network.data_reach``), as complete as reporting. A case at eruption severity whose parties are mobilised erupts:
a collective incident when enough of a group are mobilised, else a petition (越级上访).
"""

from __future__ import annotations

import numpy as np

from ..disputes import Channel, Eruption, Level, State
from .base import PER_100, Mechanism
from .information import reporting


class Detection(Mechanism):
    name = "detection"
    counters = ("detected", "detected_report", "detected_patrol", "detected_data", "detected_hotline", "petitions",
                "collective_incidents")

    def step(self) -> None:
        m = self.model
        cs, L, T = m.table, m.p.lifecycle, m.types
        idx = cs.open_index()
        if len(idx) == 0:
            return
        latent = cs.state[idx] == State.LATENT
        growth = L.latent_growth * T["growth"][cs.type[idx]] * np.where(latent, 1.0, L.handled_growth)
        cs.severity[idx] = np.minimum(cs.severity[idx] + growth, 1.0)
        lat = idx[latent]
        fade = (cs.severity[lat] < L.fade_below) & (m.streams.day("fading", m.day).random(len(lat)) < L.p_fade) \
            & (cs.channel[lat] < 0)  # a need brought forward today does not fade before it is heard
        m.mechanisms.closures.close(lat[fade], State.WITHDRAWN)
        self.detect(lat[~fade])
        self.erupt()

    def detect(self, lat: np.ndarray) -> None:
        """Each latent case may be found today by a report, a patrol or the data (one draw each)."""
        m = self.model
        cs, d = m.table, m.p.detection
        rng = m.streams.day("detection", m.day)
        sev = cs.severity[lat]
        trust = m.population.trust[cs.parties[lat, 0]]
        visible = d.visibility_offset + sev
        p_report = d.p_report * (d.report_trust_floor + (1.0 - d.report_trust_floor) * trust) * visible
        comm = cs.community[lat]
        intensity = m.mechanisms.capacity.patrol_days[comm] / m.territory.community_size[comm] * PER_100
        p_patrol = 1.0 - np.exp(-d.patrol_efficacy * intensity * visible)
        reach = m.mechanisms.network.data_reach(comm)  # silos: a community's data reach nobody who acts
        p_data = np.where(reach, d.p_data * reporting(m.levers, m.p.workforce) * sev, 0.0)
        u = rng.random((3, len(lat)))
        hit = np.stack([u[0] < p_report, u[1] < p_patrol, u[2] < p_data])
        brought = cs.channel[lat] >= 0  # brought forward by the parties as the need arose (emergence)
        found = hit.any(axis=0) | brought
        channel = np.where(brought, cs.channel[lat], np.argmax(hit, axis=0))
        f = lat[found]
        cs.detected[f] = m.day
        cs.channel[f] = channel[found]
        cs.state[f] = State.ACTIVE
        cs.level[f] = Level.GRASSROOTS
        cs.arrived[f] = m.day
        cs.visited[f] |= 1
        self.count("detected", len(f))
        for ch in Channel:
            self.count(f"detected_{ch.name.lower()}", int((channel[found] == ch).sum()))

    def erupt(self) -> None:
        """Mobilised parties of a case at eruption severity take it to the streets or above."""
        m = self.model
        cs, L = m.table, m.p.lifecycle
        idx = cs.open_index()
        hot = idx[cs.severity[idx] >= L.eruption_severity]
        if len(hot) == 0:
            return
        parties = cs.parties[hot]
        mob = np.where(parties >= 0, m.population.mobilised[np.maximum(parties, 0)], False)
        collective = (cs.n_parties[hot] >= L.collective_min_parties) & (mob.sum(axis=1) >= L.collective_min_mobilised)
        petition = ~collective & mob[:, 0]
        cs.eruption[hot[collective]] = Eruption.COLLECTIVE_INCIDENT
        cs.eruption[hot[petition]] = Eruption.PETITION
        erupt = hot[collective | petition]
        m.mechanisms.evaluation.blame_eruptions(erupt)  # the responsible unit and its territory
        self.count("petitions", int(petition.sum()))
        self.count("collective_incidents", int(collective.sum()))
        m.mechanisms.closures.close(erupt, State.ERUPTED)
