"""Shared fixtures: small, fast models built from the built-in scenarios."""

from __future__ import annotations

import pytest

from sim import CoGovernanceModel, load_scenario


def make_scenario(base: str = "baseline", preset: str = "classroom", days: int = 60, seed: int = 1, **sections):
    """A validated scenario: ``base`` with ``preset``/``days``/``seed`` and section overrides.

    Example: ``make_scenario(levers={"info_sharing": 1.0}, emergence={"grievance_hazard": 0})``
    """
    sc = load_scenario(base, preset=preset, days=days, seed=seed)
    data = sc.model_dump()
    for section, values in sections.items():
        if isinstance(values, dict):
            data[section] = {**data[section], **values}
        else:
            data[section] = values
    return load_scenario(data)


def make_model(base: str = "baseline", preset: str = "classroom", days: int = 60, seed: int = 1, **sections):
    """A model built from ``make_scenario`` (not yet run)."""
    return CoGovernanceModel(make_scenario(base, preset, days, seed, **sections))


@pytest.fixture
def model_factory():
    return make_model
