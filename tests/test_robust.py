"""`cogov robust`: futures, regret, satisficing, scenario discovery by PRIM, and the command end to end."""

import numpy as np
import pandas as pd
import pytest

from sim.cli import main as cli_main
from sim.experiments import robust as R
from sim.params import load_scenario

P, Q = "detection.p_report", "handling.skill_street"


def _posterior(path):
    pd.DataFrame({P: [0.03, 0.06], Q: [0.5, 0.7], "weight": [0.5, 0.5]}).to_parquet(path, index=False)
    return path


def _spec(**extra):
    return R.FuturesSpec.model_validate({
        "kpis": ["resolution_rate", "bounces"],
        "uncertainty": [{"name": "needs", "parameters": ["emergence.demands_per_resident_year"], "low": 1.0, "high": 2.0},
                        {"name": "staff", "parameters": ["structure.street_staff_per_10k",
                                                         "structure.dept_staff_per_100k"], "low": 0.5, "high": 1.0}],
        **extra})


def test_futures_are_members_under_drawn_uncertainties_and_the_same_for_the_same_seed(tmp_path):
    from sim.experiments.ensemble import load_posterior

    post = load_posterior(_posterior(tmp_path / "p.parquet"))
    spec = _spec()
    f = R.draw_futures(spec, 8, seed=4, posterior=post)
    pd.testing.assert_frame_equal(f, R.draw_futures(spec, 8, seed=4, posterior=post))
    assert not f.equals(R.draw_futures(spec, 8, seed=5, posterior=post))
    assert f["needs"].between(1.0, 2.0).all() and f["staff"].between(0.5, 1.0).all()
    # a Latin hypercube: one future in each eighth of every range
    assert sorted(np.floor((f["needs"] - 1.0) * 8).astype(int)) == list(range(8))
    base = load_scenario("baseline", preset="classroom", days=5)
    option = load_scenario("incentives", preset="classroom", days=5)
    runs, futures = R.build_futures([base, option], spec, 8, 4, post)
    row = futures.iloc[3]
    sc = runs[3][1]
    assert sc.levers == option.levers  # the option's levers are untouched
    assert sc.emergence.demands_per_resident_year == pytest.approx(base.emergence.demands_per_resident_year * row["needs"])
    assert sc.structure.street_staff_per_10k == pytest.approx(base.structure.street_staff_per_10k * row["staff"])
    assert sc.detection.p_report == pytest.approx(row[P])  # the member's value


def _values(table: dict, futures: int) -> pd.DataFrame:
    rows = [{"future": f, "option": o, "resolution_rate": v[f], "bounces": 100 - 10 * v[f]}
            for o, v in table.items() for f in range(futures)]
    out = pd.DataFrame(rows)
    out["option"] = pd.Categorical(out["option"], categories=list(table), ordered=True)
    return out.sort_values(["future", "option"]).reset_index(drop=True)


def test_regret_is_zero_for_the_option_best_in_every_future_and_satisficing_counts_thresholds():
    values = _values({"a": [0.5, 0.6, 0.7, 0.8], "best": [0.6, 0.7, 0.8, 0.9], "mixed": [0.55, 0.5, 0.75, 0.6]}, 4)
    spec = _spec(thresholds={"resolution_rate": {"at_least": 0.65}})
    table = R.robustness_table(values, spec).set_index(["option", "kpi"])
    for kpi in ("resolution_rate", "bounces"):  # bounces = 100 - 10 x resolution: "best" is best on both
        assert table.loc[("best", kpi), "max_regret"] == 0.0
    assert table.loc[("a", "resolution_rate"), "mean_regret"] == pytest.approx(0.1)
    assert table.loc[("mixed", "resolution_rate"), "max_regret"] == pytest.approx(0.3)
    assert table.loc[("a", "bounces"), "mean_regret"] == pytest.approx(1.0)  # in the KPI's units
    assert table.loc[("a", "resolution_rate"), "satisficing"] == pytest.approx(0.5)
    assert table.loc[("mixed", "all"), "satisficing"] == pytest.approx(0.25)
    # the worst decile is on the bad side: the low tail of a rate, the high tail of bounces
    assert table.loc[("a", "resolution_rate"), "worst_decile"] < table.loc[("a", "resolution_rate"), "mean"]
    assert table.loc[("a", "bounces"), "worst_decile"] > table.loc[("a", "bounces"), "mean"]


def test_prim_recovers_a_known_box():
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.random((600, 3)), columns=["needs", "staff", "noise"])
    failed = ((x["needs"] > 0.6) & (x["staff"] < 0.4)).to_numpy()
    box = R.prim_box(x, failed)
    assert box["failures"] == failed.sum() and box["coverage"] >= 0.8 and box["density"] >= 0.8
    assert box["mass"] == pytest.approx(0.16, abs=0.04)  # the true box holds 0.4 x 0.4 of the futures
    assert "noise" not in box["box"]
    assert float(box["box"].split("needs >= ")[1].split(";")[0]) == pytest.approx(0.6, abs=0.06)
    assert float(box["box"].split("staff <= ")[1].split(";")[0]) == pytest.approx(0.4, abs=0.06)
    assert R.prim_box(x, np.zeros(600, dtype=bool))["box"] == "never fails"


def test_a_bad_futures_file_is_one_clear_error(tmp_path, capsys):
    bad = tmp_path / "futures.toml"
    bad.write_text('[[uncertainty]]\nname = "x"\nparameters = ["levers.info_sharing"]\nlow = 0.5\nhigh = 1.0\n')
    assert cli_main(["robust", "baseline", "incentives", "--spec", str(bad), "--preset", "classroom"]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "uncertainty" in err and "mechanism parameter" in err
    bad.write_text('kpis = ["budget"]\n')
    assert cli_main(["robust", "baseline", "incentives", "--spec", str(bad)]) == 2
    assert "no better direction" in capsys.readouterr().err


@pytest.mark.slow
def test_robust_end_to_end_writes_its_tables_and_resumes(tmp_path, capsys):
    out = tmp_path / "r"
    args = ["robust", "baseline", "incentives", "--preset", "classroom", "--days", "30", "--futures", "3",
            "--reps", "1", "--posterior", str(_posterior(tmp_path / "p.parquet")), "--out", str(out), "--workers", "1"]
    assert cli_main(args) == 0
    printed = capsys.readouterr().out
    assert "mean regret" in printed and "fails in" in printed
    table = pd.read_csv(out / "robust.csv")
    assert set(table["option"]) == {"baseline", "incentives"} and len(pd.read_csv(out / "futures.csv")) == 3
    assert (table["mean_regret"].dropna() >= 0).all()
    first = (out / "robust.csv").read_bytes()
    assert cli_main(args) == 0
    assert "(6 reused)" in capsys.readouterr().out and (out / "robust.csv").read_bytes() == first
