"""What every mechanism has (Starsim's ``Module``): the model it belongs to, the daily
counters it bumps, a reaction to a change of levers, and one ``step`` a day."""

from __future__ import annotations

from typing import ClassVar

#: Guards divisions by a capacity or a count that may be zero (not a behavioural number).
EPS = 1e-6
#: Unit conversions (not behavioural numbers).
DAYS_PER_YEAR = 365.0
PER_100 = 100.0
PER_1000 = 1000.0


class Mechanism:
    """One stage of the day. Subclasses set ``name`` and ``counters`` and define ``step``.

    Args:
        model: the ``CoGovernanceModel`` whose shared state (case table, population, unit
            arrays, levers, parameters) the mechanism reads and writes.
    """

    name: ClassVar[str] = ""
    #: The daily flows this stage counts (columns of ``timeseries.parquet``; see ``metrics.FLOWS``).
    counters: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model):
        self.model = model

    def on_levers(self) -> None:
        """The levers in force changed (at the start or by a schedule entry): structural consequences."""

    def step(self) -> None:  # pragma: no cover - every stage defines it
        raise NotImplementedError

    def count(self, counter: str, n) -> None:
        """Add ``n`` to today's ``counter``."""
        self.model.today[counter] += n
