"""The calibrated ensemble as the parameter sets a study runs on (issue 14, CALIBRATION.md v2).

``cogov calibrate`` writes the ensemble (``posterior.parquet``: accepted parameter sets with their
weights); a copy committed as ``scenarios/calibration/posterior.parquet`` is the one studies use.
A study of ``n`` members draws them by systematic resampling on the weights (one uniform draw
from the named stream ``ensemble`` of the study's root seed), so a heavy set may be drawn more
than once. Each distinct set is run once: a set drawn twice gives identical runs (same scenario,
same seeds), so its runs stand for both draws in the analysis.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..params import Scenario, ScenarioError, scenarios_dir
from ..streams import Streams
from .calibration import fit_ranges
from .spec import apply_parameters


def default_posterior_path() -> Path:
    return scenarios_dir() / "calibration" / "posterior.parquet"


def load_posterior(path: str | Path | None = None) -> pd.DataFrame:
    """The ensemble (one row per parameter set: the fitted parameters as ``section.field`` columns,
    ``weight``); ScenarioError naming the file when it is missing or not an ensemble."""
    path = Path(path) if path is not None else default_posterior_path()
    if not path.is_file():
        raise ScenarioError(f"{path}: no calibrated ensemble; make one with `cogov calibrate` and copy its "
                            "posterior.parquet there (docs/CALIBRATION.md)")
    try:
        table = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise ScenarioError(f"{path}: not a readable parquet file ({type(exc).__name__})") from None
    names = parameter_columns(table)
    if not names or "weight" not in table or len(table) == 0:
        raise ScenarioError(f"{path}: not an ensemble: need a 'weight' column and at least one column of an "
                            f"uncertain parameter ({', '.join(fit_ranges())})")
    w = table["weight"].to_numpy(float)
    if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
        raise ScenarioError(f"{path}: key 'weight': need finite weights of at least 0, not all 0")
    return table.reset_index(drop=True)


def parameter_columns(table: pd.DataFrame) -> list[str]:
    """The columns of ``table`` that are uncertain parameters, in the schema's order."""
    return [n for n in fit_ranges() if n in table.columns]


def draw_members(posterior: pd.DataFrame, n: int, seed: int) -> list[int]:
    """``n`` rows of ``posterior`` by systematic resampling on ``weight`` (repeats allowed)."""
    w = posterior["weight"].to_numpy(float)
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    u = (Streams(seed).get("ensemble").random() + np.arange(n)) / n
    return [int(i) for i in np.searchsorted(cum, u, side="right")]


def member_scenario(base: Scenario, posterior: pd.DataFrame, row: int) -> Scenario:
    """``base`` with the parameter values of the ensemble's row ``row``."""
    values = {n: float(posterior.loc[row, n]) for n in parameter_columns(posterior)}
    return apply_parameters(base, values)
