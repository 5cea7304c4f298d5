"""cogov: an agent-based simulator of multi-actor co-governance of disputes in Chinese cities.

Public API::

    from sim import CoGovernanceModel, load_scenario
    model = CoGovernanceModel("baseline", seed=1, preset="classroom").run(90)
    model.summary(); model.timeseries(); model.cases()
"""

from .params import Scenario, ScenarioError, load_scenario
from .model import CoGovernanceModel

__all__ = ["CoGovernanceModel", "Scenario", "ScenarioError", "load_scenario", "__version__"]
__version__ = "0.1.0"
