"""CoGovernanceModel: the wiring, the daily order and the public API (MODEL §8).

The mechanisms live in ``sim.mechanisms`` (one module per stage of the day), the
organisations' own rules in ``sim.actors``, the residents' in ``sim.population``; this module
builds the city, holds the state they share and runs the days.
"""

from __future__ import annotations

import time
from random import Random

import mesa
import numpy as np

from . import burnin, interrupt, metrics
from .actors import build_actors
from .city import Units, build_org_network, build_territory
from .disputes import CaseTable, CaseView, State, type_table
from .mechanisms import STAGES
from .mechanisms.costs import Costs
from .mechanisms.evaluation import initial_strategy
from .memory import check_memory
from .params import Scenario, load_scenario
from .population import Population, Resident, build_network
from .streams import Streams


class Mechanisms:
    """The model's mechanisms in the daily order; ``model.mechanisms.routing`` is one of them."""

    def __init__(self, model):
        self.order = tuple(cls.name for cls in STAGES)
        for cls in STAGES:
            setattr(self, cls.name, cls(model))

    def __iter__(self):
        return (getattr(self, name) for name in self.order)


class CoGovernanceModel(mesa.Model):
    """Multi-actor co-governance of disputes in a city.

    Args:
        scenario: a ``Scenario``, a TOML path, a built-in scenario name, a dict or None.
        seed: run seed; overrides the scenario's.
        cache: use the burn-in cache (``sim.burnin``); None: unless ``COGOV_CACHE=off``.
        **overrides: top-level scenario fields (``preset``, ``days``, ``burn_in``...).

    Days (MODEL §12.1): the constructor builds the city and runs ``burn_in`` days under the
    baseline's levers (or loads that state from the cache); then the scenario's levers take
    effect and reported day 0 begins. ``day`` is the internal day, which keeps counting through
    the burn-in (mechanisms use it); ``day0`` is the internal day of reported day 0 and
    ``reported_day`` = ``day - day0``. Outputs and the schedule are in reported days.

    Shared state: ``table`` (the cases, ``sim.disputes.CaseTable``), ``population`` (the
    residents), ``units`` (the index space of every unit that holds cases) with the per-unit
    arrays ``capacity`` (person-days today), ``used`` and ``available`` (this evaluation
    period) and ``strategy`` (learned effort, paperwork, superficial closure, concealment), the
    Mesa agents (``communities``, ``streets``, ``departments``, ``committees``...), the levers
    in force and today's counters (``today``).

    Example:
        >>> m = CoGovernanceModel("baseline", seed=1, preset="classroom")
        >>> m.run(30).summary()["cases_total"] > 0
        True
    """

    def __init__(self, scenario: Scenario | str | dict | None = None, seed: int | None = None,
                 cache: bool | None = None, **overrides):
        sc = load_scenario(scenario, seed=seed, **overrides)
        check_memory(sc)  # before anything is allocated
        t0 = time.perf_counter()
        #: where the state at day 0 came from: "cache", "built" (and cached) or "built, not cached"
        self.burn_in_source = burnin.burned_in(self, burnin.city_scenario(sc), CoGovernanceModel._build, cache)
        self.burn_in_seconds = time.perf_counter() - t0  # build and burn-in, or loading them
        self._start_reporting(sc)

    def _build(self, sc: Scenario) -> None:
        """Build the city of the burn-in scenario ``sc`` and run its ``burn_in`` days (MODEL §12.1)."""
        t0 = time.perf_counter()
        self.config = self.p = sc  # (Mesa 3.5 reserves `scenario`)
        self.streams = Streams(sc.seed)
        mesa.Model.__init__(self, rng=self.streams.integer("mesa"))
        self.random = Random(self.streams.integer("mesa"))  # full width, for shuffle_do
        self.day = 0         # internal day: counts through the burn-in (mechanisms use it)
        self.day0 = sc.burn_in  # the internal day that is reported day 0
        self.levers = sc.levers_on(0)
        self.types = type_table()

        # structure, residents and their network
        self.territory = t = build_territory(sc.counts(), sc.n_residents(), self.streams.get("structure"),
                                             sc.district_layout(), sc.districts)
        self.units = Units(t, sc.structure.social_orgs_per_street)
        network = build_network(t, sc.structure, self.streams.get("network"), sc.districts)
        self.population = Population(t, sc.structure, sc.residents, self.levers.volunteer_rate,
                                     self.streams.get("population"), network)

        # per-unit arrays and learned choices
        U = self.units.n
        self.capacity = np.zeros(U, dtype=np.float32)  # person-days for case work today
        self.used = np.zeros(U)                         # person-days used this period
        self.available = np.zeros(U)                    # person-days available this period
        self.strategy = initial_strategy(U, self.units.evaluated(), sc.evaluation)
        self.effort, self.paperwork, self.superficial, self.conceal = (self.strategy[:, i] for i in range(4))

        self.table = CaseTable(capacity=self._expected_cases(sc.burn_in))
        build_actors(self)
        self.totals = metrics.Totals()
        self.costs = Costs(self)
        self.mechanisms = Mechanisms(self)
        self.rows: list[dict] = []
        self.burn_in_rows: list[dict] = []
        self.today = metrics.new_day()
        self.timings: dict[str, float] | None = None  # set to {} to time each stage of the day
        self._resident_views: dict[int, Resident] = {}
        self._apply_levers()
        t1 = time.perf_counter()
        for _ in range(sc.burn_in):
            self.step()
            interrupt.check()  # a Ctrl-C during the day that numpy swallowed
        #: wall seconds of building the city and of running the burn-in (kept in the cache entry)
        self.build_timings = {"build": t1 - t0, "burn_in": time.perf_counter() - t1}

    def _start_reporting(self, sc: Scenario) -> None:
        """Reported day 0: the run's own scenario, levers and schedule take over; what is reported
        (the daily rows, totals, utilisation, turnover, costs) starts from here."""
        self.config = self.p = sc
        self.burn_in_rows, self.rows = self.rows, []
        self.totals = metrics.Totals()
        self.table.reserve(self._expected_cases(sc.days))
        self.today = metrics.new_day()
        new = sc.levers_on(0)
        if new != self.levers:
            self.levers = new
            self._apply_levers()

    def _expected_cases(self, days: int) -> int:
        e = self.p.emergence
        per_day = self.population.n * (e.disputes_per_1000_year / 1000 + e.demands_per_resident_year) / 365
        return int(per_day * days * 1.1) + 1024

    @property
    def reported_day(self) -> int:
        """Days reported so far: the reported day that runs next (0 right after the burn-in)."""
        return self.day - self.day0

    def _apply_levers(self) -> None:
        """The levers in force changed: each mechanism and the costs take their consequences."""
        for mechanism in self.mechanisms:
            mechanism.on_levers()
        self.costs.on_levers()

    # ------------------------------------------------------------------------------------------
    # the day
    # ------------------------------------------------------------------------------------------

    def step(self) -> None:
        """One day, in this order (MODEL §8; the stages are ``sim.mechanisms.STAGES``):

        1. levers: schedule entries for today take effect;
        2. emergence: disputes and needs arise (thinned Poisson process, hazard rising with
           grievance, lowered by moral education); residents bring needs forward, through the
           12345 hotline or the community, when the gain they expect exceeds the cost of asking;
           needs not brought forward stay unmet and aggrieve their resident;
        3. residents: grievance of open cases' parties; waiting costs (trust and grievance of
           parties whose case waits beyond the norm, or was bounced or escalated); decay and
           spread; mobilisation;
        4. detection: open cases brew; latent ones fade, or are found by reports, patrols or
           data (needs brought forward today are found at once); cases at eruption severity whose
           parties are mobilised erupt into a petition or a collective incident;
        5. hotline: the city dispatcher sends today's 12345 demands to a department or a street
           (派单); acknowledgements within the time limit; callbacks (the 三率);
        6. capacity: volunteer days; organisations set today's capacity: communities
           (shuffled), social organisations, streets, centres, departments;
        7. routing: misrouted cases come back; found, failed and escalated cases are placed
           (council → social org → community workers → street → whistle / district → city);
        8. handling: each unit's capacity is spent on its queue by priority; finished work
           succeeds, is closed superficially, or moves on;
        9. coordination: the party committees' joint meetings (street, district, then city
           committees) unblock referred cross-department cases; other such cases coordinate
           spontaneously or are pushed back; a referral not taken up in time lapses;
        10. deadlines: overdue cases escalate or are concealed; city backlog (积案);
        11. closures: parties may give up; superficial closures may reopen (discovered); the
            parties of today's outcomes judge them (trust, grievance, word of mouth, eruptions
            nearby);
        12. network: the works_with ties of those who settled a case together or met today grow,
            the others decay (MODEL §12.2; who is on the platform changes with the levers);
        13. evaluation: at the end of every period, scores, learning, burnout and turnover;
        14. data collection.
        """
        self._timed("levers", self._start_day)
        for mechanism in self.mechanisms:
            self._timed(mechanism.name, mechanism.step)
        self._timed("data collection", self._collect)
        self.day += 1

    def _timed(self, name: str, stage) -> None:
        if self.timings is None:
            stage()
        else:
            t0 = time.perf_counter()
            stage()
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def _start_day(self) -> None:
        self.today = metrics.new_day()
        new = self.p.levers_on(self.day - self.day0)  # schedule days are reported days
        if new != self.levers:
            self.levers = new
            self._apply_levers()

    def _collect(self) -> None:
        self.rows.append(metrics.day_row(self))
        self.totals.add_day(self)

    def run(self, days: int | None = None, progress=None) -> "CoGovernanceModel":
        """Run ``days`` more reported days (default: the scenario's). ``progress`` is called with
        each day (the number of days reported so far)."""
        for _ in range(self.p.days if days is None else int(days)):
            self.step()
            # a Ctrl-C during the day that numpy swallowed; checked here, between days, because
            # Mesa 3.5 schedules the next step as an event that an exception inside step cancels
            interrupt.check()
            if progress is not None:
                progress(self.reported_day)
        return self

    # ------------------------------------------------------------------------------------------
    # API
    # ------------------------------------------------------------------------------------------

    def daily_cost(self) -> float:
        """Yuan spent per day at real scale (``sim.mechanisms.costs``)."""
        return self.costs.daily()

    def workers_total(self) -> float:
        """Community workers at their posts (vacancies excluded, staff moved down included)."""
        return float(sum(c.workers for c in self.communities))

    @property
    def org_network(self):
        """The organisational network as it is today (networkx MultiDiGraph, built at each call):
        hierarchy, service, contracts, the shares_data edges (silos and the platform's members) and
        the works_with ties with their current strength (MODEL §12.2)."""
        return build_org_network(self.territory, self.units, self.mechanisms.network)

    def check_invariants(self) -> list[str]:
        """Consistency checks of the current state; returns the violations found (empty if none)."""
        cs, pop, n = self.table, self.population, self.table.n
        state, closed = cs.state[:n], cs.closed[:n]
        problems = []
        if ((state < 0) | (state >= len(State))).any():
            return ["a case has an unknown state"]
        counts = np.bincount(state, minlength=len(State))
        created = sum(r["new_cases"] for r in (*self.burn_in_rows, *self.rows))  # as counted when they emerged
        if created != counts.sum():
            problems.append("cases created != open + closed")
        if ((closed >= 0) != (state > State.ACTIVE)).any():
            problems.append("closing day set for an open case or missing for a closed one")
        if ((state == State.ACTIVE) & (cs.detected[:n] < 0)).any():
            problems.append("an active case was never detected")
        if ((cs.holder[:n] >= 0) & (state != State.ACTIVE)).any():
            problems.append("a unit holds a case that is not active")
        for name, arr in (("trust", pop.trust), ("grievance", pop.grievance)):
            if not ((arr >= 0) & (arr <= 1)).all():
                problems.append(f"{name} outside [0, 1]")
        if (self.capacity < 0).any() or (cs.work[:n] < 0).any():
            problems.append("negative capacity or work")
        if (self.queue_lengths() < 0).any():
            problems.append("negative queue")
        sev = cs.severity[:n]
        if not ((sev >= 0) & (sev <= 1)).all():
            problems.append("severity outside [0, 1]")
        return problems

    def queue_lengths(self) -> np.ndarray:
        """Open cases each unit holds."""
        cs = self.table
        idx = cs.open_index()
        held = idx[cs.holder[idx] >= 0]
        return np.bincount(cs.holder[held], minlength=self.units.n)

    def timeseries(self, burn_in: bool = False):
        """One row per reported day (pandas DataFrame); ``burn_in=True``: the burn-in's days
        instead (days -burn_in..-1), to see the city settle."""
        return metrics.timeseries(self.burn_in_rows if burn_in else self.rows)

    def cases(self):
        """One row per case (pandas DataFrame): the case log."""
        return metrics.case_log(self)

    def summary(self) -> dict:
        """The run's KPIs (see ``metrics.summary``)."""
        return metrics.summary(self)

    def districts(self):
        """One row per district (pandas DataFrame): its name, type and KPIs (``metrics.district_table``)."""
        return metrics.district_table(self)

    def resident(self, index: int) -> Resident:
        """A Mesa agent view of one resident (reads and writes the population arrays)."""
        if not 0 <= index < self.population.n:
            raise IndexError(f"resident {index} does not exist (0..{self.population.n - 1})")
        if index not in self._resident_views:
            self._resident_views[index] = Resident(self, index)
        return self._resident_views[index]

    def case(self, index: int) -> CaseView:
        """A read-only view of one case."""
        return CaseView(self.table, index)

    def unit(self, index: int):
        """The Mesa agent behind a unit index (community, street, department...)."""
        return self.units_by_index.get(int(index))
