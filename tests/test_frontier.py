"""`cogov frontier`: the Pareto front over lever packages (NSGA-II), its picks, and the command end to end."""

import numpy as np
import pandas as pd
import pytest

from sim.cli import main as cli_main
from sim.experiments import frontier as F

OBJ = ["resolution_rate", "added_budget_per_resident"]  # maximise, minimise


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a >= b) and np.any(a > b))


def test_the_front_keeps_exactly_the_feasible_packages_nothing_dominates():
    t = pd.DataFrame({"resolution_rate": [0.6, 0.7, 0.65, 0.8, 0.9, 0.7],
                      "added_budget_per_resident": [0.0, 1.0, 2.0, 3.0, 9.0, 1.0],
                      "feasible": [True, True, True, True, False, True]})
    mask = F.pareto_mask(t, OBJ, [F.direction(k) for k in OBJ])
    # 2 (0.65 for 2 yuan) is dominated by 1 (0.7 for 1); 4 is over budget; 1 and 5 are the same package
    assert mask.tolist() == [True, True, False, True, False, True]


def test_picks_are_the_best_per_objective_and_the_knee():
    front = pd.DataFrame({"resolution_rate": [0.60, 0.70, 0.74, 0.75],
                          "added_budget_per_resident": [0.0, 1.0, 4.0, 9.0]})
    picks = F.picks(front, OBJ, [1, -1]).set_index("pick")
    assert picks.loc["best resolution_rate", "resolution_rate"] == 0.75
    assert picks.loc["best added_budget_per_resident", "added_budget_per_resident"] == 0.0
    assert picks.loc["knee", "resolution_rate"] == 0.70  # nearest the ideal (0.75 for 0 yuan) once scaled


def test_objectives_need_a_direction_and_levers_must_exist(capsys):
    assert F.direction("added_budget_per_resident") == -1 and F.direction("resolution_rate") == 1
    with pytest.raises(F.FrontierError, match="no better direction"):
        F.direction("cases_total")
    assert cli_main(["frontier", "--levers", "info_sharing,nonsense"]) == 2
    assert "unknown lever 'nonsense'" in capsys.readouterr().err
    assert cli_main(["frontier", "--objectives", "resolution_rate"]) == 2
    assert "at least two" in capsys.readouterr().err


@pytest.mark.slow
def test_frontier_end_to_end_is_non_dominated_within_budget_and_resumes(tmp_path, capsys):
    out = tmp_path / "f"
    args = ["frontier", "--preset", "classroom", "--days", "30", "--population", "4", "--generations", "2",
            "--reps", "1", "--levers", "authority_devolution,info_sharing", "--budget", "1.0", "--out", str(out),
            "--workers", "1"]
    assert cli_main(args) == 0
    assert "the packages to look at first" in capsys.readouterr().out
    trials = pd.read_csv(out / "frontier.csv")
    assert len(trials) == 8 and trials.iloc[0]["baseline"]  # the baseline's package is evaluated first
    front = pd.read_csv(out / "front.csv")
    objectives = list(F.OBJECTIVES)
    y = front[objectives].to_numpy(float) * np.array([F.direction(k) for k in objectives])
    assert len(front) >= 1 and (front["added_budget_per_resident"] <= 1.0).all()
    assert not any(_dominates(y[i], y[j]) for i in range(len(y)) for j in range(len(y)) if i != j)
    assert not front.duplicated(subset=["authority_devolution", "info_sharing"]).any()  # a package once
    first = (out / "frontier.csv").read_bytes()
    assert cli_main(args) == 0  # resumed: the same packages are asked for and found on disk
    capsys.readouterr()
    assert (out / "frontier.csv").read_bytes() == first
