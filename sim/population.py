"""Residents (居民): vectorised state, the social network as CSR, and agent views (MODEL §2.2, §4).

Residents are laid out contiguously by community (and so by street), which lets the social
network be built with whole-array operations: a ring lattice inside each community,
rewired to random members of the same community (small world), plus a few ties to other
communities of the same street. No per-resident Python loop runs here or in the daily step.
"""

from __future__ import annotations

import os

import mesa
import numpy as np
import scipy.sparse as sp

from . import kernels
from .city import Territory, owner_of
from .params import Districts, Structure
from .params import Residents as ResidentParams

KERNEL_MIN = 1_000_000  # residents from which the daily update runs in the compiled kernel


def threads() -> int:
    """Threads for the compiled kernel: ``COGOV_THREADS``, else up to 2 of the machine's cores."""
    env = os.environ.get("COGOV_THREADS")
    return max(1, int(env)) if env else min(2, os.cpu_count() or 1)


def build_network(t: Territory, s: Structure, rng: np.random.Generator, districts: Districts | None = None) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency of the residents' social ties (CSR, int32 indices). A resident of a
    district of type k has ``mean_degree x districts.<k>_ties`` lattice ties (rounded down to pairs, at
    least one pair); every offset draws for every resident, so the draws do not depend on the ties."""
    size = t.community_size.astype(np.int64)
    n = int(size.sum())
    community = owner_of(size)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    street_size = np.bincount(t.community_street, weights=size, minlength=t.n_streets).astype(np.int64)
    street_start = np.concatenate(([0], np.cumsum(street_size)[:-1]))
    me = np.arange(n, dtype=np.int64)
    my_start, my_size = start[community], size[community]
    local = me - my_start
    my_street = t.community_street[community]
    rows, cols = [], []
    ties = np.ones(t.n_districts) if districts is None else \
        np.array([districts.of_type(k, "ties") for k in t.district_type_names])
    half = np.maximum(1, np.floor(s.mean_degree * ties / 2)).astype(np.int16)  # mean_degree // 2 at ties 1
    my_half = half[t.community_district[community]]
    for j in range(1, int(half.max()) + 1):  # loop over lattice offsets, not residents
        partner = my_start + (local + j) % my_size
        u = rng.random(n)
        rewire = u < s.p_rewire
        partner[rewire] = my_start[rewire] + rng.integers(0, my_size[rewire])
        cross = (u >= s.p_rewire) & (u < s.p_rewire + s.p_cross_community)
        partner[cross] = street_start[my_street[cross]] + rng.integers(0, street_size[my_street[cross]])
        keep = (partner != me) & (my_half >= j)
        rows.append(me[keep])
        cols.append(partner[keep])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    data = np.ones(2 * len(r), dtype=np.float32)
    A = sp.coo_matrix((data, (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n)).tocsr()
    A.sum_duplicates()
    A.data[:] = 1.0
    A.indices = A.indices.astype(np.int32)
    A.indptr = A.indptr.astype(np.int32 if A.nnz < 2**31 else np.int64)
    return A


class Population:
    """Struct of arrays: one entry per simulated resident."""

    def __init__(self, t: Territory, s: Structure, p: ResidentParams, volunteer_rate: float,
                 rng: np.random.Generator, network: sp.csr_matrix):
        n = int(t.community_size.sum())
        self.n = n
        self.community = owner_of(t.community_size)
        grid_size = np.bincount(t.grid_community, minlength=t.n_communities)
        # residents of a community are spread over its grids in contiguous blocks
        local = np.arange(n) - np.concatenate(([0], np.cumsum(t.community_size)[:-1]))[self.community]
        grid_start = np.concatenate(([0], np.cumsum(grid_size)[:-1]))
        self.grid = (grid_start[self.community]
                     + local * grid_size[self.community] // t.community_size[self.community]).astype(np.int32)
        a, b = p.trust_beta_a, p.trust_beta_b
        self.trust = np.clip(rng.beta(a, b, n) * p.trust_mean / (a / (a + b)), 0, 1).astype(np.float32)
        self.disposition = self.trust.copy()  # trust before any experience, to which it returns (forget)
        self.grievance = np.clip(rng.exponential(p.grievance_mean, n), 0, 1).astype(np.float32)
        self.threshold = np.clip(rng.normal(p.threshold_mean, p.threshold_sd, n), p.threshold_min, 1).astype(np.float32)
        self.party_member = rng.random(n) < s.party_member_share
        self.volunteer_u = rng.random(n).astype(np.float32)  # propensity: volunteers first as the rate rises
        self.volunteer = self.volunteer_u < volunteer_rate
        # propensity to use the 12345 hotline: residents it reaches are those below hotline_reach
        self.reach_u = rng.random(n).astype(np.float32)
        self.mobilised = np.zeros(n, dtype=np.bool_)
        self.last_case = np.full(n, -1, dtype=np.int32)
        self.network = network
        self.degree = np.diff(network.indptr).astype(np.float32)
        self._inv_degree = (1.0 / np.maximum(self.degree, 1.0)).astype(np.float32)

    def neighbour_mean(self, values: np.ndarray) -> np.ndarray:
        """Mean of ``values`` over each resident's neighbours (one CSR product)."""
        out = self.network @ values.astype(np.float32, copy=False)
        out *= self._inv_degree
        return out

    def set_volunteer_rate(self, rate: float) -> None:
        """Registered volunteers are the residents whose propensity falls below ``rate``."""
        self.volunteer = self.volunteer_u < rate

    def accept_candidates(self, who: np.ndarray, u: np.ndarray, grievance_hazard: float, moral: float) -> np.ndarray:
        """Thinning of candidate disputes: resident ``who[k]`` starts one if ``u[k]`` falls below its
        hazard relative to the maximum hazard, (1 + h * grievance) * (1 - moral) / (1 + h)."""
        return u < (1.0 + grievance_hazard * self.grievance[who]) * (1.0 - moral) / (1.0 + grievance_hazard)

    def bring_forward(self, who: np.ndarray, severity: np.ndarray, cost_u: np.ndarray, reach: float,
                      p: ResidentParams) -> tuple[np.ndarray, np.ndarray]:
        """Does resident ``who[k]`` bring need ``k`` forward, and through the hotline? (MODEL §12.5)

        The expected gain of asking is the resident's trust (the expectation that asking helps)
        times the need's value, ``need_value_offset + severity``; its cost is ``cost_u[k]`` (an
        Exp(1) draw) times the mean cost of the channel at hand: the hotline for residents it
        reaches (propensity below ``reach``), else the community. A need is brought forward when
        the gain exceeds the cost, so with chance 1 - exp(-gain / mean cost).

        Returns:
            (brought, hotline): two boolean arrays over the needs.
        """
        hotline = self.reach_u[who] < reach
        gain = self.trust[who] * (p.need_value_offset + severity)
        cost = cost_u * np.where(hotline, p.ask_cost_hotline, p.ask_cost_community)
        brought = cost < gain
        return brought, hotline & brought

    def add_grievance(self, who: np.ndarray, amount) -> None:
        """Residents ``who`` (repeats add up) grow aggrieved by ``amount`` (a scalar or one value each)."""
        if len(who):
            g = self.grievance
            np.add.at(g, who, np.asarray(amount, dtype=np.float32))
            g[who] = np.minimum(g[who], 1.0)  # only the touched entries (55 MB at Tianjin's scale)

    def lose_trust(self, who: np.ndarray, share) -> None:
        """Residents ``who`` lose ``share`` of their trust (repeats compound; a scalar or one value each)."""
        if len(who):
            np.multiply.at(self.trust, who, (1.0 - np.asarray(share, dtype=np.float32)).astype(np.float32))

    def neighbours_of(self, who: np.ndarray) -> np.ndarray:
        """The neighbours of every resident of ``who``, concatenated (repeats kept)."""
        A = self.network
        start = A.indptr[who]
        counts = (A.indptr[who + 1] - start).astype(np.int64)
        if counts.sum() == 0:
            return np.zeros(0, dtype=np.int32)
        offsets = np.repeat(start - np.cumsum(np.r_[0, counts[:-1]]), counts) + np.arange(counts.sum())
        return A.indices[offsets]

    def add_open_grievance(self, parties: np.ndarray, rate: float) -> None:
        """Parties of open cases (rows of party indices, -1 padded) grow aggrieved by ``rate`` a day per case."""
        who = parties[parties >= 0]
        if len(who):
            np.add.at(self.grievance, who, np.float32(rate))

    def judge(self, parties: np.ndarray, sat: np.ndarray, resolved: np.ndarray, p: ResidentParams,
              erupted: np.ndarray | None = None) -> None:
        """Parties of closed cases judge the outcome (trust moves towards their satisfaction; a real
        resolution relieves grievance, anything else adds to it); the first party's neighbours
        take part of that judgement (word of mouth); the neighbours of every party of an
        ``erupted`` case lose ``trust_eruption_nearby`` of their trust (MODEL §12.5)."""
        valid = parties >= 0
        who = parties[valid]
        s = np.broadcast_to(sat[:, None], parties.shape)[valid]
        self.trust[who] += p.trust_learning * (s - self.trust[who])
        res = np.broadcast_to(resolved[:, None], parties.shape)[valid]
        g = self.grievance
        g[who] = np.where(res, g[who] * (1 - p.grievance_relief), np.minimum(g[who] + p.grievance_escalation * (1 - s), 1.0))
        A = self.network
        first = parties[:, 0]
        start = A.indptr[first]
        counts = (A.indptr[first + 1] - start).astype(np.int64)
        if counts.sum():
            offsets = np.repeat(start - np.cumsum(np.r_[0, counts[:-1]]), counts) + np.arange(counts.sum())
            nb = A.indices[offsets]
            np.add.at(self.trust, nb, (p.word_of_mouth * (np.repeat(sat, counts) - self.trust[nb])).astype(np.float32))
        if erupted is not None and erupted.any():
            near = parties[erupted]
            self.lose_trust(self.neighbours_of(near[near >= 0]), p.trust_eruption_nearby)
        np.clip(self.trust, 0.0, 1.0, out=self.trust)

    def forget(self, p: ResidentParams) -> None:
        """Experiences fade: every resident's trust moves back towards the disposition it had before
        any experience, by 1 / (``trust_memory_years`` x 365) of the distance a day (in place)."""
        keep = np.float32(1.0 - 1.0 / (p.trust_memory_years * 365.0))
        t = self.trust
        t -= self.disposition
        t *= keep
        t += self.disposition

    def daily_update(self, p: ResidentParams) -> None:
        """Grievance decays and spreads along ties, weighted by distrust; then mobilisation (MODEL §4).

        Large populations run the fused compiled kernel (``sim.kernels``), which gives the same
        result bit for bit as ``daily_update_numpy``."""
        if self.n >= KERNEL_MIN and kernels.available():
            kernels.daily_update(self, p.grievance_spread, p.grievance_decay, p.neighbour_boost, threads())
        else:
            self.daily_update_numpy(p)

    def daily_update_numpy(self, p: ResidentParams) -> None:
        """The residents' update in numpy (the definition the compiled kernel must match).

        Synchronous: both neighbour means are taken from the state before the update. Grievance
        moves ``grievance_spread`` x (1 - trust) of the way up towards the neighbours' mean (it is
        never pulled down) after decaying by ``grievance_decay``. A resident is mobilised when
        grievance x (1 - trust) exceeds the threshold lowered by ``neighbour_boost`` x the share of
        mobilised neighbours (Granovetter). Written in place: at Tianjin's scale every temporary
        array is 55 MB.
        """
        g = self.grievance
        mean_g = self.neighbour_mean(g)
        share = self.neighbour_mean(self.mobilised.view(np.uint8))
        distrust = 1.0 - self.trust
        mean_g -= g
        mean_g *= distrust
        mean_g *= p.grievance_spread
        np.maximum(mean_g, 0.0, out=mean_g)
        g *= 1.0 - p.grievance_decay
        g += mean_g
        np.clip(g, 0.0, 1.0, out=g)
        share *= -p.neighbour_boost
        share += 1.0
        share *= self.threshold
        distrust *= g
        self.mobilised = distrust > share

    def neighbours(self, i: int) -> np.ndarray:
        A = self.network
        return A.indices[A.indptr[i]: A.indptr[i + 1]]


class Resident(mesa.Agent):
    """A Mesa agent view of one resident: reads and writes the population arrays.

    Created on demand by ``CoGovernanceModel.resident(i)``; residents' dynamics run on the
    arrays, never through these objects.
    """

    _FIELDS = ("community", "grid", "trust", "grievance", "threshold", "party_member", "volunteer",
               "mobilised", "last_case")

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = int(index)

    def __getattr__(self, name):
        if name in Resident._FIELDS:
            return getattr(self.model.population, name)[self.index].item()
        raise AttributeError(name)

    _WRITABLE = ("trust", "grievance", "threshold")

    def __setattr__(self, name, value):
        if name in Resident._WRITABLE:
            getattr(self.model.population, name)[self.index] = value
        elif name in Resident._FIELDS:
            raise AttributeError(f"{name} is derived by the model; writable: {', '.join(Resident._WRITABLE)}")
        else:
            super().__setattr__(name, value)

    @property
    def neighbours(self) -> list[int]:
        return [int(j) for j in self.model.population.neighbours(self.index)]

    def state(self) -> dict:
        return {name: getattr(self, name) for name in Resident._FIELDS}

    def __repr__(self) -> str:
        return (f"<Resident {self.index} community={self.community} trust={self.trust:.2f} "
                f"grievance={self.grievance:.2f} mobilised={self.mobilised}>")
