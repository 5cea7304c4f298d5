"""Territory (块) and the organisational network (MODEL §2.1, §2.3).

Five levels: city → district → street → community → grid. Units that hold cases share one
index space (``Units``) so that capacity is allocated to every queue in one vectorised pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from .disputes import DOMAINS, TYPE_NAMES, Handler, Level
from .params import DISTRICT_TYPES, Districts

N_DOMAINS = len(DOMAINS)


def split_evenly(total: int, parts: int, rng: np.random.Generator, spread: float = 0.3) -> np.ndarray:
    """Split ``total`` items into ``parts`` groups of at least one, sizes varying by ``spread``."""
    if parts > total:
        raise ValueError(f"cannot split {total} into {parts} non-empty parts")
    weights = rng.lognormal(0.0, spread, parts) if spread > 0 else np.ones(parts)
    extra = total - parts
    sizes = np.floor(weights / weights.sum() * extra).astype(np.int64)
    remainder = extra - sizes.sum()
    order = np.argsort(-(weights / weights.sum() * extra - sizes), kind="stable")
    sizes[order[:remainder]] += 1
    return sizes + 1


def apportion(total: int, weights, minimum=0) -> np.ndarray:
    """Share ``total`` items among groups in proportion to ``weights`` (largest remainders), each group
    getting at least ``minimum`` (a number or one per group)."""
    w = np.asarray(weights, dtype=float)
    low = np.broadcast_to(np.asarray(minimum, dtype=np.int64), w.shape)
    if low.sum() > total:
        raise ValueError(f"cannot share {total} among {len(w)} groups of at least {low.tolist()}")
    target = w / w.sum() * total
    sizes = np.maximum(np.floor(target).astype(np.int64), low)
    while sizes.sum() < total:  # a few rounds at most: one item to each of the largest remainders
        order = np.argsort(-(target - sizes), kind="stable")
        sizes[order[: total - sizes.sum()]] += 1
    while sizes.sum() > total:  # a minimum raised some groups: take back where the excess is largest
        spare = np.flatnonzero(sizes > low)
        order = spare[np.argsort(target[spare] - sizes[spare], kind="stable")]
        sizes[order[: sizes.sum() - total]] -= 1
    return sizes


def owner_of(sizes: np.ndarray) -> np.ndarray:
    """For groups of the given sizes laid out contiguously, the group of each item."""
    return np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)


@dataclass
class Territory:
    """Who belongs to whom, as index arrays."""

    n_districts: int
    street_district: np.ndarray     # street -> district
    community_street: np.ndarray    # community -> street
    grid_community: np.ndarray      # grid -> community
    community_size: np.ndarray      # simulated residents per community
    district_type: np.ndarray | None = None  # district -> code of its type (params.DISTRICT_TYPES)
    district_names: tuple[str, ...] = ()      # district -> name (and zh name below)
    district_zh: tuple[str, ...] = ()

    def __post_init__(self):
        if self.district_type is None:
            self.district_type = np.zeros(self.n_districts, dtype=np.int8)
        if not self.district_names:
            self.district_names = tuple(f"district_{d + 1}" for d in range(self.n_districts))
        if not self.district_zh:
            self.district_zh = tuple(f"第{d + 1}区" for d in range(self.n_districts))

    @property
    def district_type_names(self) -> tuple[str, ...]:
        return tuple(DISTRICT_TYPES[k] for k in self.district_type)

    @property
    def n_streets(self) -> int:
        return len(self.street_district)

    @property
    def n_communities(self) -> int:
        return len(self.community_street)

    @property
    def n_grids(self) -> int:
        return len(self.grid_community)

    @property
    def community_district(self) -> np.ndarray:
        return self.street_district[self.community_street]


def build_territory(counts: dict[str, int], n_residents: int, rng: np.random.Generator,
                    layout: list[tuple[str, str, str, float]] | None = None,
                    districts: Districts | None = None) -> Territory:
    """The territory (MODEL §2.1, §12.7). ``layout`` lists the districts as (name, zh, type, population
    weight) (``Scenario.district_layout``; default: central districts of equal weight). Residents are
    shared among districts by weight; streets and communities by weight / residents per street (per
    community) of the district's type (``[districts]``), at least one street per district and one
    community per street; inside a district, streets get communities and communities residents by
    ``split_evenly``; grids follow residents, at least one per community."""
    d, s, c, g = counts["districts"], counts["streets"], counts["communities"], counts["grids"]
    for lower, upper, a, b in (("streets", "districts", s, d), ("communities", "streets", c, s),
                               ("grids", "communities", g, c), ("residents", "communities", n_residents, c)):
        if a < b:
            raise ValueError(f"structure: {lower} ({a}) must be at least {upper} ({b})")
    layout = layout if layout is not None else [(f"district_{i + 1}", f"第{i + 1}区", "central", 1.0) for i in range(d)]
    if len(layout) != d:
        raise ValueError(f"structure: {len(layout)} districts laid out for {d} districts")
    p = districts if districts is not None else Districts()
    kinds = [row[2] for row in layout]
    weight = np.array([row[3] for row in layout], dtype=float)
    per_street = np.array([p.of_type(k, "residents_per_street") for k in kinds])
    per_community = np.array([p.of_type(k, "residents_per_community") for k in kinds])
    streets_d = apportion(s, weight / per_street, 1)
    communities_d = apportion(c, weight / per_community, streets_d)
    residents_d = apportion(n_residents, weight, communities_d)
    street_district = owner_of(streets_d)
    community_street, community_size, first = [], [], 0
    for k in range(d):  # a loop over districts
        community_street.append(first + owner_of(split_evenly(int(communities_d[k]), int(streets_d[k]), rng, 0.2)))
        community_size.append(split_evenly(int(residents_d[k]), int(communities_d[k]), rng, 0.4))
        first += int(streets_d[k])
    community_street = np.concatenate(community_street).astype(np.int32)
    community_size = np.concatenate(community_size)
    # grids in proportion to residents, at least one per community
    share = community_size / community_size.sum()
    grids = np.maximum(1, np.floor(share * g).astype(np.int64))
    while grids.sum() > g:
        grids[np.argmax(grids)] -= 1
    order = np.argsort(-(share * g - grids), kind="stable")
    grids[order[: g - grids.sum()]] += 1
    return Territory(d, street_district, community_street, owner_of(grids), community_size,
                     np.array([DISTRICT_TYPES.index(k) for k in kinds], dtype=np.int8),
                     tuple(row[0] for row in layout), tuple(row[1] for row in layout))


#: Case types whose share a district's type multiplies (``[districts]`` ``<type>_<name>_mix``).
MIXED_TYPES: tuple[str, ...] = ("land", "property")


def district_type_cdf(t: Territory, types: dict[str, np.ndarray], p: Districts) -> np.ndarray:
    """Cumulative case-type mix of each district, ``[family, district, type]`` (family 0 disputes,
    1 demands): the city's mix (C2) with ``MIXED_TYPES`` multiplied by the district type's ``*_mix``,
    renormalised."""
    out = np.empty((2, t.n_districts, len(TYPE_NAMES)))
    for family, base in enumerate((types["dispute_p"], types["demand_p"])):
        for d, kind in enumerate(t.district_type_names):
            mix = np.array(base, dtype=float)
            for name in MIXED_TYPES:
                mix[TYPE_NAMES.index(name)] *= p.of_type(kind, f"{name}_mix")
            cdf = mix.cumsum()
            out[family, d] = cdf / cdf[-1]
    return out


def draw_types(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Case type of each candidate from its row of cumulative mix ``cdf`` and its uniform draw ``u``:
    the first type whose cumulative share exceeds ``u`` (what ``Generator.choice`` does with one mix,
    so one mix for every district gives the same types from the same draws)."""
    return (cdf <= u[:, None]).sum(axis=1).astype(np.int8)


class Units:
    """Every unit that can hold cases, in one index space.

    Layout: councils [C], communities [C], social organisations [S*k], streets [S],
    district centres [D], district departments [D*10], city centre [1], city departments [10].
    """

    def __init__(self, t: Territory, so_per_street: int):
        C, S, Dn = t.n_communities, t.n_streets, t.n_districts
        self.so_per_street = so_per_street
        sizes = dict(council=C, community=C, social_org=S * so_per_street, street=S, district=Dn,
                     district_dept=Dn * N_DOMAINS, city=1, city_dept=N_DOMAINS)
        self.sizes = sizes
        self.start: dict[str, int] = {}
        pos = 0
        for name, size in sizes.items():
            self.start[name] = pos
            pos += size
        self.n = pos
        self.kind = np.empty(pos, dtype=np.int8)
        self.district = np.full(pos, -1, dtype=np.int32)
        self.street = np.full(pos, -1, dtype=np.int32)
        self.community = np.full(pos, -1, dtype=np.int32)
        self.domain = np.full(pos, -1, dtype=np.int8)
        kinds = dict(council=Handler.COUNCIL, community=Handler.COMMUNITY, social_org=Handler.SOCIAL_ORG,
                     street=Handler.STREET, district=Handler.DISTRICT, district_dept=Handler.DEPARTMENT,
                     city=Handler.CITY, city_dept=Handler.DEPARTMENT)
        for name, size in sizes.items():
            self.kind[self.start[name]: self.start[name] + size] = kinds[name]
        cs = t.community_street
        for name in ("council", "community"):
            sl = self.slice(name)
            self.community[sl] = np.arange(C)
            self.street[sl] = cs
            self.district[sl] = t.street_district[cs]
        so = np.arange(S * so_per_street)
        self.street[self.slice("social_org")] = so // so_per_street
        self.district[self.slice("social_org")] = t.street_district[so // so_per_street]
        self.street[self.slice("street")] = np.arange(S)
        self.district[self.slice("street")] = t.street_district
        self.district[self.slice("district")] = np.arange(Dn)
        dd = np.arange(Dn * N_DOMAINS)
        self.district[self.slice("district_dept")] = dd // N_DOMAINS
        self.domain[self.slice("district_dept")] = dd % N_DOMAINS
        self.domain[self.slice("city_dept")] = np.arange(N_DOMAINS)
        # each community contracts one social organisation of its street
        rank = np.arange(C) - np.searchsorted(cs, cs)  # communities are ordered by street
        self.community_so = (self.start["social_org"] + cs * so_per_street + rank % so_per_street).astype(np.int32)

    def slice(self, name: str) -> slice:
        return slice(self.start[name], self.start[name] + self.sizes[name])

    def council(self, community):
        return self.start["council"] + community

    def community_unit(self, community):
        return self.start["community"] + community

    def street_unit(self, street):
        return self.start["street"] + street

    def district_unit(self, district):
        return self.start["district"] + district

    def district_dept(self, district, domain):
        return self.start["district_dept"] + district * N_DOMAINS + domain

    def city_dept(self, domain):
        return self.start["city_dept"] + domain

    @property
    def city_unit(self) -> int:
        return self.start["city"]

    def responsible(self, cases, idx: np.ndarray) -> np.ndarray:
        """The evaluated unit answerable for each case of the table ``cases``: the holder, except that a
        council or social organisation answers to its community; a case nobody holds answers to the
        unit of its level (community, street, else its district centre), except that a case concealed at its
        level (``concealer``) answers to the unit that concealed it until it moves up."""
        holder = cases.holder[idx]
        level = cases.level[idx]
        grass = (cases.handler[idx] < Handler.STREET) | (holder < 0)
        by_level = np.where(level == Level.STREET, self.street_unit(cases.street[idx]),
                            np.where(level == Level.GRASSROOTS, self.community_unit(cases.community[idx]),
                                     self.district_unit(cases.district[idx])))
        concealer = cases.concealer[idx]
        by_level = np.where(concealer >= 0, concealer, by_level)  # a concealed case: whoever hid it
        return np.where(grass, np.where(holder < 0, by_level, self.community_unit(cases.community[idx])), holder)

    def evaluated(self) -> np.ndarray:
        """Units that are evaluated and learn: communities, streets and departments."""
        k = self.kind
        return np.flatnonzero((k == Handler.COMMUNITY) | (k == Handler.STREET) | (k == Handler.DEPARTMENT))


def build_org_network(t: Territory, units: Units, network=None) -> nx.MultiDiGraph:
    """The organisational network: hierarchy, 条块 service, contracts, shared data and working ties.

    Node names are stable strings (``"street:3"``); attributes ``kind``, ``level``, ``unit``
    (index into ``Units`` where the node holds cases), the territory it belongs to (``district``,
    ``street``, ``community``; ``domain`` for departments) where it has one, and ``integrated``
    (on the shared platform) for units that can be. Edge keys name the relation: ``leads``,
    ``belongs_to``, ``serves``, ``contract``, ``shares_data`` (silos: a district department to the
    city's of its domain, a community to its street; each unit on the platform to ``platform``) and
    ``works_with`` (street - department of its district, department - department of a district or
    of the city) with ``weight`` its strength. ``network`` is the model's ``Network`` mechanism
    (its current state); without it the graph is the city as built (no platform, initial ties 0).
    """
    integrated = network.integrated if network is not None else np.zeros(units.n, dtype=bool)
    G = nx.MultiDiGraph()

    def unit_node(name, unit, **attrs):
        G.add_node(name, unit=int(unit), integrated=bool(integrated[unit]), **attrs)

    G.add_node("party:city", kind="party", level="city")
    unit_node("city", units.city_unit, kind="centre", level="city")
    G.add_edge("party:city", "city", key="leads")
    for dom, name in enumerate(DOMAINS):
        node = f"dept:city:{name}"
        unit_node(node, units.city_dept(dom), kind="department", level="city", domain=name)
        G.add_edge("party:city", node, key="leads")
    for d in range(t.n_districts):
        G.add_node(f"party:district:{d}", kind="party", level="district", district=d)
        unit_node(f"district:{d}", units.district_unit(d), kind="centre", level="district", district=d)
        G.add_edge("party:city", f"party:district:{d}", key="leads")
        G.add_edge(f"party:district:{d}", f"district:{d}", key="leads")
        for dom, name in enumerate(DOMAINS):
            node = f"dept:{d}:{name}"
            unit_node(node, units.district_dept(d, dom), kind="department", level="district", domain=name, district=d)
            G.add_edge(f"party:district:{d}", node, key="leads")
            G.add_edge(node, f"dept:city:{name}", key="belongs_to")
            G.add_edge(node, f"dept:city:{name}", key="shares_data", weight=1.0)  # silo: its own domain
    for s in range(t.n_streets):
        d = int(t.street_district[s])
        G.add_node(f"party:street:{s}", kind="party", level="street", district=d, street=s)
        unit_node(f"street:{s}", units.street_unit(s), kind="street", level="street", district=d, street=s)
        G.add_edge(f"party:district:{d}", f"party:street:{s}", key="leads")
        G.add_edge(f"party:street:{s}", f"street:{s}", key="leads")
        for name in DOMAINS:
            G.add_edge(f"dept:{d}:{name}", f"street:{s}", key="serves")
        for k in range(units.so_per_street):
            u = units.start["social_org"] + s * units.so_per_street + k
            G.add_node(f"socialorg:{s}:{k}", kind="social_org", level="street", unit=int(u), district=d, street=s)
    for c in range(t.n_communities):
        s = int(t.community_street[c])
        unit_node(f"community:{c}", units.community_unit(c), kind="community", level="community",
                  district=int(t.street_district[s]), street=s, community=c)
        G.add_edge(f"community:{c}", f"street:{s}", key="belongs_to")
        G.add_edge(f"community:{c}", f"street:{s}", key="shares_data", weight=1.0)  # silo: its street sees it
        G.add_edge(f"party:street:{s}", f"community:{c}", key="leads")
        k = int(units.community_so[c] - units.start["social_org"]) % units.so_per_street
        G.add_edge(f"socialorg:{s}:{k}", f"community:{c}", key="contract")
    if integrated.any():
        G.add_node("platform", kind="platform", level="city")
        for node, data in list(G.nodes(data=True)):
            if data.get("integrated"):
                G.add_edge(node, "platform", key="shares_data", weight=1.0)
    # works_with ties and their strength today
    street_dept = network.street_dept if network is not None else np.zeros((t.n_streets, N_DOMAINS))
    dept_dept = network.dept_dept if network is not None else np.zeros((t.n_districts + 1, N_DOMAINS, N_DOMAINS))
    for s in range(t.n_streets):
        d = int(t.street_district[s])
        for dom, name in enumerate(DOMAINS):
            G.add_edge(f"street:{s}", f"dept:{d}:{name}", key="works_with", weight=float(street_dept[s, dom]))
    for g in range(t.n_districts + 1):
        prefix = "dept:city:" if g == t.n_districts else f"dept:{g}:"
        for a in range(N_DOMAINS):
            for b in range(a + 1, N_DOMAINS):
                G.add_edge(prefix + DOMAINS[a], prefix + DOMAINS[b], key="works_with", weight=float(dept_dept[g, a, b]))
    return G
