"""The mechanisms of the day, one module each, in the daily order (MODEL §8).

Each module holds one stage: its rule, its use of the scenario's parameters, its own state and
the daily counters it bumps (Starsim's modules). ``CoGovernanceModel`` only wires them and calls
their ``step`` in the order of ``STAGES``. ``information`` (the platform) and ``costs`` are not
stages: several stages read the first, the data collection the second.
"""

from .base import Mechanism
from .capacity import Capacity
from .closures import Closures
from .coordination import Coordination
from .deadlines import Deadlines
from .detection import Detection
from .emergence import Emergence
from .evaluation import Evaluation
from .handling import Handling
from .hotline import Hotline
from .network import Network
from .residents import Residents
from .routing import Routing

#: The daily order: one mechanism per stage.
STAGES: tuple[type[Mechanism], ...] = (Emergence, Residents, Detection, Hotline, Capacity, Routing, Handling,
                                        Coordination, Deadlines, Closures, Network, Evaluation)

__all__ = ["STAGES", "Mechanism", *(cls.__name__ for cls in STAGES)]
