"""The platform (一网统管): how complete and how shared the information on cases is.

Not a stage of its own: routing, detection, handling and coordination read it.
Burden reduction (减负) cuts the top-down reporting that feeds both the dispatchers and the
platform, unless data entry is automated (智治); shared data is as good as what feeds it.
"""

from __future__ import annotations


def reporting(levers, workforce) -> float:
    """Completeness of top-down reporting: cut by burden reduction (减负) unless automated."""
    return 1.0 - workforce.reporting_loss * levers.burden_reduction * (1.0 - levers.automation)


def info_quality(levers, workforce) -> float:
    """Information on the shared platform: shared data, as complete as the reporting that feeds it."""
    return levers.info_sharing * reporting(levers, workforce)
