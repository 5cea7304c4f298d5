"""cogov: an agent-based simulator of multi-actor co-governance of disputes in Chinese cities.

Public API::

    from sim import CoGovernanceModel, load_scenario
    model = CoGovernanceModel("baseline", seed=1, preset="classroom").run(90)
    model.summary(); model.timeseries(); model.cases()

Everything is imported on first use, so that light modules (``sim.params``, ``sim.registry``,
the ``cogov levers`` command) do not load the model and Mesa, and so that the ``cogov`` command
imports nothing before it can answer Ctrl-C with one line.
"""

__all__ = ["CoGovernanceModel", "Scenario", "ScenarioError", "load_scenario", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "CoGovernanceModel":
        from .model import CoGovernanceModel
        return CoGovernanceModel
    if name in ("Scenario", "ScenarioError", "load_scenario"):
        from . import params
        return getattr(params, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
