"""Shared fixtures: small, fast models built from the built-in scenarios."""

from __future__ import annotations

import os
import shutil
import tempfile

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


# The burn-in cache (sim.burnin) of this test session: a fresh folder, so tests never read a
# user's cache (or a stale one) and every entry they use was built by this code. Set at import,
# before any model is built, so that subprocesses (the CLI tests) inherit it.
_CACHE = tempfile.mkdtemp(prefix="cogov-test-burnin-")
os.environ["COGOV_CACHE_DIR"] = _CACHE
os.environ.pop("COGOV_CACHE", None)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE, ignore_errors=True)
