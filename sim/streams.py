"""Named random streams (MODEL §8): common random numbers across scenarios.

Every random process draws from its own ``numpy.random.Generator``, seeded from the run seed
and a stable hash of the process's name. Switching a lever on can therefore not shift the
draws of an unrelated process. Processes that draw every day take a fresh generator per day
(``streams.day(name, day)``), so what one day draws never depends on how much an earlier day
drew: two scenarios that differ in one mechanism keep the other mechanisms' draws aligned.
"""

from __future__ import annotations

import hashlib

import numpy as np

#: Every stream the model uses. A new random process gets a new name here.
STREAM_NAMES = (
    "structure",      # territory sizes
    "network",        # residents' social network
    "population",     # residents' initial states, thresholds, volunteering propensity
    "emergence",      # candidate disputes and their attributes
    "detection",      # report, patrol and data channels
    "fading",         # latent cases fading away
    "routing",        # department routing (right or wrong department), meeting referrals
    "whistle",        # departments' response delay to a street's whistle
    "handling",       # success draws and superficial closure
    "shortcuts",      # a handler's plan for a case: real work or a shortcut (superficial propensity)
    "callbacks",      # satisfaction callbacks on closures, and whether they catch a superficial one
    "coordination",   # spontaneous coordination and push-back
    "meetings",       # rounding of joint-meeting slots
    "deadlines",      # concealment at deadlines
    "exposure",       # concealed cases exposed by their parties or by inspection (压案 found out)
    "withdrawal",     # parties giving up
    "reopening",      # superficial closures reopening
    "volunteers",     # volunteer days given
    "turnover",       # workers leaving and vacancies refilled
    "learning",       # evaluation-period trials
    "bringing",       # each need's cost of asking: brought forward or left unmet (MODEL §12.5)
    "callbacks",      # hotline callbacks: superficial closures seen through, satisfied answers (MODEL §12.6)
    "platform",       # each unit's fixed propensity to join the shared platform (MODEL §12.2)
    "mesa",           # Mesa's own model.random (shuffle order of organisations)
    # the experiments' own draws, from their root seed (not the model's)
    "calibration",    # the calibration's proposals, one generator per generation (sim.experiments.calibration)
    "ensemble",       # which calibrated parameter sets are the members of a study (sim.experiments.ensemble)
    "futures",        # the deep uncertainties' Latin hypercube of a robustness study (sim.experiments.robust)
    "frontier",       # the multi-objective search's sampler (sim.experiments.frontier)
)


def stable_hash(name: str) -> int:
    """A hash of ``name`` that is the same in every process and Python version."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")


class Streams:
    """The named generators of one run."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}
        self._daily: dict[str, tuple[int, np.random.Generator]] = {}

    def _sequence(self, name: str, *keys: int) -> np.random.SeedSequence:
        if name not in STREAM_NAMES:
            raise KeyError(f"unknown random stream {name!r}; known: {', '.join(STREAM_NAMES)}")
        return np.random.SeedSequence(self.seed, spawn_key=(stable_hash(name), *keys))

    def get(self, name: str) -> np.random.Generator:
        """The run-long generator of ``name`` (for one-off draws such as building the city)."""
        if name not in self._cache:
            self._cache[name] = np.random.Generator(np.random.PCG64(self._sequence(name)))
        return self._cache[name]

    def day(self, name: str, day: int) -> np.random.Generator:
        """The generator of ``name`` for ``day``, independent of every other day's draws. Calls on
        the same day continue the same generator (they never repeat its numbers)."""
        cached = self._daily.get(name)
        if cached is None or cached[0] != day:
            cached = (int(day), np.random.Generator(np.random.PCG64(self._sequence(name, int(day)))))
            self._daily[name] = cached
        return cached[1]

    def integer(self, name: str) -> int:
        """A full-width integer seed (for Mesa's ``random.Random`` or networkx)."""
        return int(self._sequence(name).generate_state(2, np.uint64)[0])


def replicate_seeds(root_seed: int, n: int) -> list[int]:
    """Seeds of ``n`` replicates, spawned from ``root_seed`` with ``SeedSequence``."""
    children = np.random.SeedSequence(root_seed).spawn(n)
    return [int(c.generate_state(1, np.uint32)[0]) for c in children]
