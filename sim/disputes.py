"""Disputes (矛盾纠纷): case types, the columnar case table and its states (MODEL §3, §11).

Cases are data, not Python objects: one numpy array per attribute, grown in chunks, and
processed stage by stage in bulk by the model. ``CaseView`` is a read-only view of one
case for inspection in notebooks and the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class State(IntEnum):
    """Where a case is in its lifecycle. Every case is in exactly one state."""

    LATENT = 0        # brewing, not yet found (矛盾酝酿)
    ACTIVE = 1        # found and being handled
    RESOLVED = 2      # really resolved
    SUPERFICIAL = 3   # marked closed without real resolution; may reopen
    ERUPTED = 4       # became a petition or a collective incident
    WITHDRAWN = 5     # faded away or given up by the parties


class Level(IntEnum):
    """Who owns a case: the territorial level responsible for it (块)."""

    GRASSROOTS = 0  # grid / community (小事不出村)
    STREET = 1      # street / town (大事不出镇)
    DISTRICT = 2
    CITY = 3


class Handler(IntEnum):
    """Which kind of unit works on a case."""

    COUNCIL = 0      # resident council and volunteers (自治)
    SOCIAL_ORG = 1   # purchased mediation (购买服务)
    COMMUNITY = 2    # community and grid workers
    STREET = 3       # street office and mediation centre
    DISTRICT = 4     # district mediation centre
    CITY = 5         # city centre
    DEPARTMENT = 6   # a functional department (条)


class Channel(IntEnum):
    REPORT = 0   # the parties came to the community or grid worker (walk-in, a call)
    PATROL = 1   # grid workers found it (排查)
    DATA = 2     # early warning from shared data (智治)
    HOTLINE = 3  # the parties called 12345 (接诉即办): the city dispatcher sends it on (sim.mechanisms.hotline)


class Eruption(IntEnum):
    NONE = 0
    PETITION = 1             # 越级上访
    COLLECTIVE_INCIDENT = 2  # 群体性事件


DOMAINS = (
    "public_security", "civil_affairs", "housing", "urban_management", "labour",
    "market_regulation", "environment", "justice", "health", "natural_resources",
)
DOMAIN_ZH = ("公安", "民政", "住建", "城管", "人社", "市场监管", "生态环境", "司法", "卫健", "自然资源")
D = {name: i for i, name in enumerate(DOMAINS)}


@dataclass(frozen=True)
class CaseType:
    """One dispute type and what it takes to settle it."""

    name: str
    zh: str
    dispute_share: float   # share among interpersonal disputes (C2, Huangshi 2016, regrouped)
    demand_share: float    # share among actionable demands (assumption, 12345-like mix)
    lead: int              # lead domain
    co: tuple[int, ...]    # co-domains for cross-department cases
    severity: float        # mean initial severity
    p_group: float         # chance of a group dispute (labour, land, property high)
    local: float           # how well local means (council, mediation) can settle it
    p_dept: float          # chance an interpersonal dispute of this type needs a department
    p_cross: float         # chance a department case needs two or more departments
    work: float            # person-days of work at severity 0.5
    growth: float          # relative speed of brewing


# C2 groups: neighbour 32; family 18.4; damages 8.7 + traffic 3.8; housing/homestead 7.7 as
# property; medical 6.3; contract 5.1 + consumer 0.8 as consumer; land acquisition 3.2 +
# land/forest 2.1 as land; labour 1.5; environment 0.5; other 6.2 + production 3.6.
CASE_TYPES: tuple[CaseType, ...] = (
    CaseType("neighbour", "邻里", 32.0, 6.0, D["justice"], (D["public_security"], D["urban_management"]), 0.25, 0.05, 0.9, 0.05, 0.10, 1.0, 1.0),
    CaseType("family", "婚姻家庭", 18.4, 2.0, D["civil_affairs"], (D["justice"],), 0.30, 0.00, 0.8, 0.05, 0.10, 1.5, 1.0),
    CaseType("property", "物业", 7.7, 25.0, D["housing"], (D["urban_management"], D["market_regulation"]), 0.30, 0.30, 0.5, 0.40, 0.40, 2.0, 1.0),
    CaseType("labour", "劳动欠薪", 1.5, 8.0, D["labour"], (D["public_security"], D["justice"]), 0.45, 0.40, 0.3, 0.70, 0.40, 3.0, 1.3),
    CaseType("land", "征地拆迁", 5.3, 2.0, D["natural_resources"], (D["housing"], D["civil_affairs"]), 0.50, 0.50, 0.15, 0.90, 0.60, 5.0, 1.5),
    CaseType("consumer", "消费", 5.9, 12.0, D["market_regulation"], (D["justice"],), 0.25, 0.10, 0.4, 0.50, 0.15, 1.0, 0.8),
    CaseType("environment", "环境噪声", 0.5, 18.0, D["environment"], (D["urban_management"],), 0.30, 0.30, 0.3, 0.80, 0.40, 2.0, 1.0),
    CaseType("medical", "医疗", 6.3, 4.0, D["health"], (D["justice"],), 0.40, 0.05, 0.3, 0.50, 0.30, 2.5, 1.2),
    CaseType("damages", "损害赔偿", 12.5, 3.0, D["justice"], (D["public_security"],), 0.35, 0.05, 0.6, 0.15, 0.20, 1.5, 1.0),
    CaseType("other", "其他", 9.8, 20.0, D["urban_management"], (D["public_security"],), 0.25, 0.05, 0.5, 0.30, 0.20, 1.0, 1.0),
)
TYPE_NAMES = tuple(t.name for t in CASE_TYPES)
MAX_PARTIES = 6  # primary party plus up to five neighbours in a group dispute


def type_table() -> dict[str, np.ndarray]:
    """The case types as arrays indexed by type code (for vectorised lookups)."""
    t = CASE_TYPES
    dispute = np.array([x.dispute_share for x in t])
    demand = np.array([x.demand_share for x in t])
    co = np.full((len(t), 2), -1, dtype=np.int8)
    for i, x in enumerate(t):
        co[i, : len(x.co)] = x.co
    return dict(
        dispute_p=dispute / dispute.sum(),
        demand_p=demand / demand.sum(),
        lead=np.array([x.lead for x in t], dtype=np.int8),
        co=co,
        n_co=np.array([len(x.co) for x in t], dtype=np.int8),
        severity=np.array([x.severity for x in t], dtype=np.float32),
        p_group=np.array([x.p_group for x in t]),
        local=np.array([x.local for x in t], dtype=np.float32),
        p_dept=np.array([x.p_dept for x in t]),
        p_cross=np.array([x.p_cross for x in t]),
        work=np.array([x.work for x in t], dtype=np.float32),
        growth=np.array([x.growth for x in t], dtype=np.float32),
    )


# Column name -> (dtype, fill value). One row per case.
CASE_COLUMNS: dict[str, tuple[type, object]] = {
    "type": (np.int8, 0),
    "family": (np.int8, 0),           # 0 interpersonal dispute, 1 demand on a unit
    "severity": (np.float32, 0.0),
    "severity0": (np.float32, 0.0),
    "auth": (np.float32, 0.0),        # authority needed to settle it
    "needs_dept": (np.bool_, False),
    "lead": (np.int8, 0),             # lead domain
    "n_depts": (np.int8, 0),
    "n_parties": (np.int8, 1),
    "community": (np.int32, 0),
    "street": (np.int32, 0),
    "district": (np.int32, 0),
    "created": (np.int32, 0),
    "detected": (np.int32, -1),
    "closed": (np.int32, -1),
    "channel": (np.int8, -1),
    "state": (np.int8, State.LATENT),
    "level": (np.int8, Level.GRASSROOTS),
    "handler": (np.int8, -1),
    "holder": (np.int32, -1),         # unit index of the current handler
    "arrived": (np.int32, 0),         # day the case reached its current level
    "wait_until": (np.int32, 0),      # idle until this day (dispatch, bounce, whistle response)
    "work": (np.float32, 0.0),        # person-days of work left with the current handler
    "work_need": (np.float32, 0.0),   # person-days the current handler's work needs in full (set when it takes the case)
    "shortcut": (np.int8, -1),        # the current handler's plan: -1 undecided, 0 real work, 1 shortcut (close superficially)
    "misrouted": (np.bool_, False),
    "coordinated": (np.bool_, False),
    "referred": (np.bool_, False),    # waiting for a joint meeting...
    "referred_until": (np.int32, 0),  # ...until this day; then the referral lapses
    "whistled": (np.bool_, False),
    "street_out": (np.int32, -1),     # day the street handed a department case on (whistle or pass-up), until a department has it
    "whistle_due": (np.int32, -1),    # day of a whistle nobody answered in time: the street passes the case up when it comes back
    "tried": (np.int8, 0),            # bit mask of grassroots handlers already tried
    "visited": (np.int8, 0),          # bit mask of levels visited
    "bounces": (np.int16, 0),
    "escalations": (np.int16, 0),
    "concealed": (np.int16, 0),
    "hidden_until": (np.int32, -1),   # a concealed case nobody works on waits, unreported, until this day
    "concealer": (np.int32, -1),      # the unit that concealed it at its level (answers for it until it moves up)
    "reopened": (np.int16, 0),
    "backlog": (np.bool_, False),
    "outcome_level": (np.int8, -1),
    "outcome_handler": (np.int8, -1),
    "satisfaction": (np.float32, np.nan),
    "closer": (np.int32, -1),         # evaluated unit that closed it (resolved or superficially); reopenings count against it
    "eruption": (np.int8, Eruption.NONE),
    # residents' waiting costs (sim.mechanisms.residents): bounces and escalations the parties have felt
    "steps_felt": (np.int16, 0),
    # the 12345 hotline (sim.mechanisms.hotline); a hotline case has channel HOTLINE
    "hl_unit": (np.int32, -1),        # unit answerable for it in the 三率 (承办单位): where it was sent
    "hl_ack": (np.int32, -1),         # day a unit first held it ready to act (acknowledged)
    "hl_callback": (np.int32, -1),    # day of the callback
    "hl_responded": (np.bool_, False),  # acknowledged within the time limit
    "hl_solved": (np.bool_, False),     # the caller said it is solved
    "hl_satisfied": (np.bool_, False),  # the caller said they are satisfied
}


class CaseTable:
    """All cases of a run, one array per column, grown in chunks."""

    def __init__(self, capacity: int = 1024):
        self.n = 0
        self._cap = max(int(capacity), 16)
        for name, (dtype, fill) in CASE_COLUMNS.items():
            setattr(self, name, np.full(self._cap, fill, dtype=dtype))
        self.parties = np.full((self._cap, MAX_PARTIES), -1, dtype=np.int32)

    def _grow(self, need: int) -> None:
        new_cap = max(need, int(self._cap * 1.5) + 1024)
        for name, (dtype, fill) in CASE_COLUMNS.items():
            old = getattr(self, name)
            arr = np.full(new_cap, fill, dtype=dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, name, arr)
        parties = np.full((new_cap, MAX_PARTIES), -1, dtype=np.int32)
        parties[: self.n] = self.parties[: self.n]
        self.parties = parties
        self._cap = new_cap

    def reserve(self, k: int) -> None:
        """Room for ``k`` more cases without growing (growth never changes results, only speed)."""
        if self.n + k > self._cap:
            self._grow(self.n + k)

    def __getstate__(self) -> dict:
        """Pickled (burn-in cache) without the unused rows; ``__setstate__`` gives them back."""
        state = dict(self.__dict__)
        for name in (*CASE_COLUMNS, "parties"):
            state[name] = state[name][: self.n].copy()
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        cap, n = self._cap, self.n
        for name, (dtype, fill) in CASE_COLUMNS.items():
            arr = np.full(cap, fill, dtype=dtype)
            arr[:n] = state[name]
            setattr(self, name, arr)
        parties = np.full((cap, MAX_PARTIES), -1, dtype=np.int32)
        parties[:n] = state["parties"]
        self.parties = parties

    def add(self, k: int, parties: np.ndarray, **columns: np.ndarray) -> np.ndarray:
        """Append ``k`` cases; returns their indices."""
        if self.n + k > self._cap:
            self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k)
        for name, values in columns.items():
            getattr(self, name)[idx] = values
        self.parties[idx] = parties
        self.n += k
        return idx

    def column(self, name: str) -> np.ndarray:
        return getattr(self, name)[: self.n]

    def open_index(self) -> np.ndarray:
        """Indices of cases still open (latent or active)."""
        return np.flatnonzero(self.state[: self.n] <= State.ACTIVE)

    def release(self, idx: np.ndarray) -> None:
        """Nobody holds the cases any more: no handler, no work left, no routing or coordination state."""
        self.handler[idx] = -1
        self.holder[idx] = -1
        self.work[idx] = 0.0
        self.work_need[idx] = 0.0
        self.shortcut[idx] = -1
        self.misrouted[idx] = False
        self.coordinated[idx] = False
        self.referred[idx] = False
        self.whistle_due[idx] = -1


class CaseView:
    """A read-only view of one case, for inspection."""

    def __init__(self, table: CaseTable, index: int):
        if not 0 <= index < table.n:
            raise IndexError(f"case {index} does not exist (0..{table.n - 1})")
        self._t, self.index = table, index

    def __getattr__(self, name):
        if name in CASE_COLUMNS:
            return getattr(self._t, name)[self.index].item()
        raise AttributeError(name)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.type]

    @property
    def state_name(self) -> str:
        return State(self.state).name.lower()

    @property
    def party_ids(self) -> list[int]:
        return [int(p) for p in self._t.parties[self.index] if p >= 0]

    def __repr__(self) -> str:
        return (f"<Case {self.index} {self.type_name} {self.state_name} severity={self.severity:.2f} "
                f"level={Level(self.level).name.lower()} bounces={self.bounces}>")
