"""Reporting: how complete the information on cases is (MODEL §12.2).

Not a stage of its own: routing and detection read it. Burden reduction (减负) cuts the
top-down reporting that feeds both the dispatchers and the platform, unless data entry is
automated (智治); shared data is as good as what feeds it. Who sees whose data (the platform,
``info_sharing``) is the network's (``sim.mechanisms.network``).
"""

from __future__ import annotations


def reporting(levers, workforce) -> float:
    """Completeness of top-down reporting: cut by burden reduction (减负) unless automated."""
    return 1.0 - workforce.reporting_loss * levers.burden_reduction * (1.0 - levers.automation)
