"""The sweep engine (sim/experiments/, `cogov sweep | results | sensitivity`).

Tiny specs (classroom preset, 30-60 days, 2 parameters) are written to tmp_path so each run
takes well under a second. What is checked:

* resume: a real ``python -m sim.cli sweep`` killed with SIGKILL part-way is finished by a
  rerun, and the result equals an uninterrupted sweep; an uninterrupted rerun does nothing;
  a different spec is refused from an existing folder;
* executors: serial, local processes and a Dask LocalCluster give identical runs;
* failures: a run that raises is isolated and recorded, the exit code says so, a rerun retries it;
* bad specs: exit 2, a message naming the file and the key, no output folder;
* analysis: point means and t intervals, Sobol and Morris indices on cases with a known answer;
* keys and seeds: run keys are stable and change with the scenario; replicate r has the same
  seed at every point (common random numbers).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import tomli_w
from scipy import stats

from sim.cli import main
from sim.experiments.analysis import (kpi_columns, morris_indices, paired_ci, point_means, replicate_mean_matrix,
                                      sensitivity_table, sobol_indices, t_half_width)
from sim.experiments.spec import (SpecError, apply_parameters, build_tasks, load_spec, problem, run_key,
                                  sample_points)
from sim.experiments.store import SweepStore
from sim.experiments.sweep import run_sweep
from sim.streams import replicate_seeds

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------
# helpers


def write_spec(path: Path, parameters: dict, **top) -> Path:
    """Write a sweep spec. ``parameters``: name -> list (grid values) or (low, high) tuple (range)."""
    data = {"name": "tiny", "base": "baseline", "preset": "classroom", "days": 30, "replicates": 2, "seed": 3,
            "sampler": "grid", "thin": 10}
    data.update(top)
    data["parameters"] = {n: ({"values": [float(x) for x in v]} if isinstance(v, list)
                              else {"low": float(v[0]), "high": float(v[1])}) for n, v in parameters.items()}
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


GRID = {"info_sharing": [0.0, 1.0], "authority_devolution": [0.0, 1.0]}


def cli(*argv) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        return exc.code


def run_files(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "runs").iterdir())


def parquet_keys(out: Path) -> set[str]:
    return {p.stem for p in (out / "runs").glob("*.parquet")}


def manifest_keys(out: Path) -> set[str]:
    return {t["key"] for t in SweepStore(out).manifest()["tasks"]}


def assert_same_sweep(a: Path, b: Path) -> None:
    """Same run keys, same summaries (NaN == NaN) and same thinned time series in two folders."""
    assert manifest_keys(a) == manifest_keys(b)
    assert parquet_keys(a) == parquet_keys(b) == manifest_keys(a)
    sa, sb = SweepStore(a).summaries(), SweepStore(b).summaries()
    assert len(sa) == len(SweepStore(a).manifest()["tasks"])
    pd.testing.assert_frame_equal(sa, sb, check_exact=True)
    pd.testing.assert_frame_equal(SweepStore(a).timeseries(), SweepStore(b).timeseries(), check_exact=True)


# ---------------------------------------------------------------------------------------------
# resume after SIGKILL (a real subprocess)


@pytest.mark.slow
def test_sigkill_part_way_then_rerun_equals_uninterrupted_sweep(tmp_path, capsys):
    grid = {"info_sharing": [0.0, 0.5, 1.0], "authority_devolution": [0.0, 0.5, 1.0]}
    spec = write_spec(tmp_path / "kill.toml", grid, name="kill", days=60, seed=9)
    total = 18
    killed, ref = tmp_path / "killed", tmp_path / "ref"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(tmp_path / "stderr.txt", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(spec), "--out", str(killed), "-q"],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 60
        try:
            while True:
                runs = killed / "runs"
                names = [p.name for p in runs.iterdir()] if runs.is_dir() else []
                n = sum(name.endswith(".parquet") and not name.startswith(".") for name in names)
                # kill part-way, and not while a file is being written (a temp file is visible)
                if n >= 4 and not any(name.startswith(".") for name in names):
                    break
                if proc.poll() is not None:
                    pytest.fail(f"the sweep ended (exit {proc.returncode}) before it could be killed; "
                                f"stderr: {(tmp_path / 'stderr.txt').read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail("no run finished within 60 s")
                time.sleep(0.003)
            proc.send_signal(signal.SIGKILL)
        finally:  # (also if the test failed above: never leave the process behind)
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    on_disk = parquet_keys(killed)
    assert 4 <= len(on_disk) < total, "the kill did not land part-way"
    assert on_disk <= manifest_keys(killed)
    for p in (killed / "runs").glob("*.parquet"):  # every file on disk is complete
        SweepStore.read_meta(p)
        pq.read_table(p)

    # rerun to completion (in-process: same code path as the command)
    assert cli("sweep", spec, "--out", killed) == 0
    out = capsys.readouterr().out
    assert f"{total} runs ({len(on_disk)} already on disk, {total - len(on_disk)} done now, 0 failed)" in out

    assert cli("sweep", spec, "--out", ref, "-q") == 0
    assert len(manifest_keys(ref)) == total
    assert_same_sweep(killed, ref)
    # nothing but KEY.parquet and its checksum KEY.sha256 in runs/ (no temp files left behind), no failures
    assert run_files(killed) == sorted(f"{k}.{ext}" for k in manifest_keys(ref) for ext in ("parquet", "sha256"))
    assert list((killed / "failures").iterdir()) == []
    assert json.loads((killed / "manifest.json").read_text())["tasks"] == \
        json.loads((ref / "manifest.json").read_text())["tasks"]


# ---------------------------------------------------------------------------------------------
# executors


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("executors")
    spec_path = write_spec(root / "exec.toml", {"info_sharing": [0.0, 1.0], "costs.platform": [0.0, 6.0]},
                           name="exec", days=40, seed=21)
    spec, base = load_spec(spec_path)
    out = root / "serial"
    report = run_sweep(spec, base, out, "serial", progress=False)
    assert (report.total, report.done, report.failed) == (8, 8, 0)
    return spec_path, out


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_executors_give_identical_results(executor, serial_reference, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # for spawned workers
    spec_path, serial_out = serial_reference
    spec, base = load_spec(spec_path)
    out = tmp_path / executor
    report = run_sweep(spec, base, out, executor, workers=2, progress=False)
    assert (report.total, report.skipped, report.done, report.failed, report.interrupted) == (8, 0, 8, 0, False)
    assert_same_sweep(out, serial_out)


def test_unknown_executor_is_refused(tmp_path):
    spec, base = load_spec(write_spec(tmp_path / "s.toml", GRID))
    with pytest.raises(ValueError, match="unknown executor"):
        run_sweep(spec, base, tmp_path / "out", "threads", progress=False)
    assert cli("sweep", tmp_path / "s.toml", "--executor", "threads", "--out", tmp_path / "o2") == 2
    assert not (tmp_path / "o2").exists()


# ---------------------------------------------------------------------------------------------
# a run that raises


def test_failing_run_is_isolated_recorded_and_retried(tmp_path, monkeypatch, capsys):
    from sim.model import CoGovernanceModel

    spec = write_spec(tmp_path / "f.toml", GRID, name="flaky")
    out, ref = tmp_path / "out", tmp_path / "ref"
    original = CoGovernanceModel.run

    def flaky_run(self, *args, **kwargs):
        if self.p.levers.info_sharing == 1.0:
            raise RuntimeError("injected failure at info_sharing=1")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CoGovernanceModel, "run", flaky_run)
    assert cli("sweep", spec, "--out", out, "-q") == 1
    captured = capsys.readouterr()
    assert "4 failed" in captured.out
    assert "failed" in captured.err and str(out / "failures") in captured.err

    tasks = SweepStore(out).manifest()["tasks"]
    bad = {t["key"] for t in tasks if t["values"]["info_sharing"] == 1.0}
    good = {t["key"] for t in tasks} - bad
    assert len(bad) == 4 and len(good) == 4
    assert parquet_keys(out) == good
    assert {p.stem for p in (out / "failures").glob("*.txt")} == bad
    for key in bad:
        text = (out / "failures" / f"{key}.txt").read_text()
        assert text.startswith("Traceback (most recent call last)")
        assert "RuntimeError: injected failure at info_sharing=1" in text
        assert "flaky_run" in text

    monkeypatch.undo()  # the cause is gone
    assert cli("sweep", spec, "--out", out) == 0
    assert "4 already on disk, 4 done now, 0 failed" in capsys.readouterr().out
    assert list((out / "failures").iterdir()) == []
    assert cli("sweep", spec, "--out", ref, "-q") == 0
    assert_same_sweep(out, ref)


def test_interrupt_keeps_finished_runs_and_rerun_resumes(tmp_path, monkeypatch, capsys):
    """Ctrl-C (KeyboardInterrupt) in a serial sweep: exit 130, finished runs kept, a rerun does the rest."""
    from sim.model import CoGovernanceModel

    spec = write_spec(tmp_path / "i.toml", GRID, name="intr")
    out = tmp_path / "out"
    original, calls = CoGovernanceModel.run, []

    def interrupted_run(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CoGovernanceModel, "run", interrupted_run)
    assert cli("sweep", spec, "--out", out, "-q") == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    assert len(parquet_keys(out)) == 3 and list((out / "failures").iterdir()) == []
    monkeypatch.undo()
    assert cli("sweep", spec, "--out", out) == 0
    assert "8 runs (3 already on disk, 5 done now, 0 failed)" in capsys.readouterr().out
    assert parquet_keys(out) == manifest_keys(out)


def test_points_that_resolve_to_the_same_scenario_share_one_run(tmp_path):
    """An integer parameter rounds 2.0 and 2.2 to the same scenario: one run per replicate, under both points."""
    spec, base = load_spec(write_spec(tmp_path / "d.toml", {"handling.triage_days": [2.0, 2.2, 3.0],
                                                             "info_sharing": [0.0]}, days=20))
    tasks = build_tasks(spec, base)
    assert len(tasks) == 6 and len({t["key"] for t in tasks}) == 4
    report = run_sweep(spec, base, tmp_path / "out", progress=False)
    assert (report.total, report.done) == (4, 4)
    s = SweepStore(tmp_path / "out").summaries()
    assert sorted(s["point"]) == [0, 0, 1, 1, 2, 2]
    a, b = s[s["point"] == 0].reset_index(drop=True), s[s["point"] == 1].reset_index(drop=True)
    assert list(a["key"]) == list(b["key"])
    assert a["cases_total"].tolist() == b["cases_total"].tolist()


# ---------------------------------------------------------------------------------------------
# bad specs

HEAD = 'name = "bad"\npreset = "classroom"\ndays = 20\nreplicates = 2\n'
BAD_SPECS = {
    "unknown_parameter": (HEAD + '[parameters.no_such_lever]\nvalues = [0.0, 1.0]\n', ["no_such_lever"]),
    "unknown_section_field": (HEAD + '[parameters."costs.no_such_cost"]\nvalues = [0.0, 1.0]\n',
                              ["costs.no_such_cost"]),
    "low_above_high": (HEAD + 'sampler = "lhs"\n[parameters.info_sharing]\nlow = 0.8\nhigh = 0.2\n',
                       ["parameters.info_sharing", "low"]),
    "zero_replicates": ('name = "bad"\npreset = "classroom"\nreplicates = 0\n[parameters.info_sharing]\n'
                        'values = [0.0]\n', ["replicates"]),
    "unknown_sampler": (HEAD + 'sampler = "random"\n[parameters.info_sharing]\nlow = 0.0\nhigh = 1.0\n',
                        ["sampler", "grid", "morris"]),
    "missing_base_path": (HEAD + 'base = "no_such_dir/missing.toml"\n[parameters.info_sharing]\nvalues = [0.0]\n',
                          ["base", "missing.toml"]),
    "missing_base_name": (HEAD + 'base = "no_such_scenario"\n[parameters.info_sharing]\nvalues = [0.0]\n',
                          ["base", "no_such_scenario"]),
    "malformed_toml": (HEAD + '[parameters.info_sharing\nvalues = [0.0]\n', ["malformed TOML", "line 5"]),
    "grid_with_ranges": (HEAD + 'sampler = "grid"\n[parameters.info_sharing]\nlow = 0.0\nhigh = 1.0\n',
                         ["grid", "values"]),
    "sobol_with_values": (HEAD + 'sampler = "sobol"\n[parameters.info_sharing]\nvalues = [0.0, 1.0]\n',
                          ["sobol", "low and high"]),
    "value_out_of_range": (HEAD + '[parameters.info_sharing]\nvalues = [0.0, 5.0]\n', ["info_sharing", "5.0"]),
    "no_parameters": (HEAD, ["parameters"]),
    "unknown_top_key": (HEAD + 'repliactes = 3\n[parameters.info_sharing]\nvalues = [0.0]\n', ["repliactes"]),
    "values_as_strings_and_bools": (HEAD + '[parameters.info_sharing]\nvalues = ["0.1", true]\n',
                                    ["values.0", "the string '0.1'", "values.1", "the boolean true"]),
    "replicates_as_string": (HEAD.replace("replicates = 2", 'replicates = "2"') + '[parameters.info_sharing]\n'
                             'values = [0.0]\n', ["replicates", "expected a whole number"]),
    "name_with_a_path": (HEAD.replace('name = "bad"', 'name = "../../etc"') + '[parameters.info_sharing]\n'
                         'values = [0.0]\n', ["name", "../../etc"]),
    "values_and_range": (HEAD + '[parameters.info_sharing]\nvalues = [0.0]\nlow = 0.0\nhigh = 1.0\n',
                         ["parameters.info_sharing"]),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_exit_2_names_file_and_key_and_creates_nothing(case, tmp_path, monkeypatch, capsys):
    text, needles = BAD_SPECS[case]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # the default --out (out/sweeps/NAME) would land here
    spec = tmp_path / f"{case}.toml"
    spec.write_text(text, encoding="utf-8")
    commands = [["sweep", spec, "--out", tmp_path / "out"], ["sweep", spec]]
    if case not in ("grid_with_ranges", "unknown_sampler"):  # (--method replaces the sampler: these become valid)
        commands.append(["sensitivity", spec, "--method", "sobol", "--out", tmp_path / "out"])
    for argv in commands:
        assert cli(*argv) == 2, argv
        err = capsys.readouterr().err
        if argv[0] == "sweep":
            assert err.startswith("cogov: error: ")
            assert f"{case}.toml" in err, err
            for needle in needles:
                assert needle in err, (needle, err)
            assert "Traceback" not in err
        assert not (tmp_path / "out").exists()
        assert list(work.iterdir()) == []
    with pytest.raises(SpecError):
        load_spec(spec)


def test_missing_spec_file(tmp_path, capsys):
    assert cli("sweep", tmp_path / "nope.toml", "--out", tmp_path / "out") == 2
    assert "nope.toml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_non_utf8_spec_is_a_clean_error(tmp_path, capsys):
    spec = tmp_path / "latin1.toml"
    spec.write_bytes(b'name = "caf\xe9"\npreset = "classroom"\n[parameters.info_sharing]\nvalues = [0.0]\n')
    try:
        code = cli("sweep", spec, "--out", tmp_path / "out")
    except UnicodeDecodeError:
        code = "traceback"
    assert code == 2
    assert "latin1.toml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_base_path_is_relative_to_the_spec_not_the_cwd(tmp_path, monkeypatch, capsys):
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "s.toml"
    spec.write_text(HEAD + 'base = "mybase.toml"\n[parameters.info_sharing]\nvalues = [0.0]\n', encoding="utf-8")
    (tmp_path / "mybase.toml").write_text('name = "from_the_cwd"\n', encoding="utf-8")  # not next to the spec
    monkeypatch.chdir(tmp_path)
    assert cli("sweep", spec, "--out", tmp_path / "out", "-q") == 2
    assert str(tmp_path / "specs" / "mybase.toml") in capsys.readouterr().err


def test_base_path_relative_to_spec_is_used(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "mybase.toml").write_text('name = "mine"\n[levers]\nwhistle_power = 0.7\n',
                                                    encoding="utf-8")
    spec_path = write_spec(tmp_path / "specs" / "s.toml", {"info_sharing": [0.0, 1.0]}, base="mybase.toml")
    spec, base = load_spec(spec_path)
    assert base.name == "mine" and base.levers.whistle_power == 0.7
    assert base.preset == "classroom" and base.days == 30


# ---------------------------------------------------------------------------------------------
# sensitivity: a case with a known answer


@pytest.mark.parametrize("method", ["sobol", "morris"])
def test_sensitivity_irrelevant_parameter_has_zero_index(method, tmp_path, capsys):
    params = {"costs.platform": (0.0, 10.0), "emergence.demands_per_resident_year": (0.02, 0.2)}
    # a base that pays for the platform (baseline has info_sharing = 0), so the budget is a positive control
    (tmp_path / "sa_base.toml").write_text('name = "sa_base"\n[levers]\ninfo_sharing = 0.8\n', encoding="utf-8")
    spec = write_spec(tmp_path / "sa.toml", params, name="sa", base="sa_base.toml", days=40, replicates=1, seed=5,
                      sampler="grid", samples=8 if method == "sobol" else 6)
    out = tmp_path / "out"
    assert cli("sensitivity", spec, "--method", method, "--out", out, "-q") == 0
    capsys.readouterr()
    for name in ("sensitivity.csv", "sensitivity.parquet", "sensitivity.png"):
        assert (out / name).is_file()
    table = pd.read_parquet(out / "sensitivity.parquet")
    pd.testing.assert_frame_equal(table, pd.read_csv(out / "sensitivity.csv"), check_exact=False, rtol=1e-9,
                                  check_dtype=False)
    n_points = 8 * 4 if method == "sobol" else 6 * 3
    assert len(SweepStore(out).manifest()["tasks"]) == n_points
    assert SweepStore(out).manifest()["spec"]["sampler"] == method  # --method replaces the spec's sampler

    def index(kpi, parameter):
        row = table[(table["kpi"] == kpi) & (table["parameter"] == parameter)]
        assert len(row) == 1, (kpi, parameter, sorted(set(table["kpi"])))
        return row.iloc[0]

    col = "ST" if method == "sobol" else "mu_star"
    demand, platform = index("cases_total", "emergence.demands_per_resident_year"), index("cases_total",
                                                                                            "costs.platform")
    assert abs(platform[col]) < 1e-9
    if method == "sobol":
        assert demand["ST"] > 0.5
        assert abs(platform["S1"]) < 1e-9
    else:
        assert demand["mu_star"] > 10  # cases over 40 days, per unit (scaled) range of the demand rate
    # the platform's cost changes no case: its index is 0 for every KPI but the money ones
    money = {"budget", "cost_per_resolved", "added_budget_per_resident"}
    other = table[(table["parameter"] == "costs.platform") & ~table["kpi"].isin(money)]
    assert "resolution_rate" in set(other["kpi"]) or "escalations" in set(other["kpi"])
    assert np.allclose(other[col], 0.0, atol=1e-9), other[["kpi", col]]
    # ... but it does drive the budget
    assert index("budget", "costs.platform")[col] > 0


def test_sobol_indices_on_linear_function_known_answer():
    from SALib.sample import sobol

    prob = {"num_vars": 2, "names": ["x1", "x2"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
    X = sobol.sample(prob, 1024, calc_second_order=False, seed=3)
    Y = 3 * X[:, 0] + 0 * X[:, 1]
    res = sobol_indices(prob, Y).set_index("parameter")
    assert abs(res.loc["x2", "ST"]) < 1e-12 and abs(res.loc["x2", "S1"]) < 1e-12
    assert res.loc["x1", "ST"] == pytest.approx(1.0, abs=0.05)
    assert res.loc["x1", "S1"] == pytest.approx(1.0, abs=0.05)

    # through sensitivity_table, from a summaries table with two replicates whose mean is Y
    n = len(X)
    summaries = pd.concat([pd.DataFrame({"key": [f"k{i}_{r}" for i in range(n)], "point": range(n),
                                         "replicate": r, "seed": 10 + r, "x1": X[:, 0], "x2": X[:, 1],
                                         "y": Y + (1.0 if r == 0 else -1.0), "const": 4.0,
                                         "undefined": np.where(np.arange(n) == 5, np.nan, Y)})
                           for r in (0, 1)], ignore_index=True)
    assert kpi_columns(summaries, ["x1", "x2"]) == ["y", "const", "undefined"]
    np.testing.assert_allclose(replicate_mean_matrix(summaries, n, "y"), Y, rtol=0, atol=1e-12)
    table = sensitivity_table("sobol", prob, X, summaries, ["y", "const", "undefined"])
    assert set(table["kpi"]) == {"y"}  # constant and undefined KPIs are left out
    t = table.set_index("parameter")
    assert abs(t.loc["x2", "ST"]) < 1e-9
    assert t.loc["x1", "ST"] == pytest.approx(1.0, abs=0.05)


def test_morris_indices_on_linear_function_known_answer():
    from SALib.sample import morris

    prob = {"num_vars": 2, "names": ["x1", "x2"], "bounds": [[0.0, 1.0], [0.0, 2.0]]}
    X = morris.sample(prob, 20, num_levels=4, seed=3)
    Y = 3 * X[:, 0] + 0 * X[:, 1]
    res = morris_indices(prob, X, Y).set_index("parameter")
    assert abs(res.loc["x2", "mu_star"]) < 1e-9
    assert res.loc["x1", "mu_star"] == pytest.approx(3.0, rel=1e-6)  # slope x range
    assert res.loc["x1", "sigma"] == pytest.approx(0.0, abs=1e-9)  # linear: every effect is the same
    summaries = pd.DataFrame({"point": range(len(X)), "replicate": 0, "x1": X[:, 0], "x2": X[:, 1], "y": Y})
    t = sensitivity_table("morris", prob, X, summaries, ["y"]).set_index("parameter")
    assert abs(t.loc["x2", "mu_star"]) < 1e-9
    assert t.loc["x1", "mu_star"] == pytest.approx(3.0, rel=1e-6)


def test_sample_points_follow_the_spec(tmp_path):
    grid, _ = load_spec(write_spec(tmp_path / "g.toml", {"info_sharing": [0.0, 0.5, 1.0],
                                                          "authority_devolution": [0.2, 0.4]}))
    X = sample_points(grid)
    assert X.shape == (6, 2)
    assert {tuple(r) for r in X} == {(a, b) for a in (0.0, 0.5, 1.0) for b in (0.2, 0.4)}
    rng = {"info_sharing": (0.2, 0.6), "costs.platform": (1.0, 9.0)}
    for sampler, samples, rows in (("lhs", 7, 7), ("sobol", 8, 8 * 4), ("morris", 5, 5 * 3)):
        spec, _ = load_spec(write_spec(tmp_path / f"{sampler}.toml", rng, sampler=sampler, samples=samples))
        X = sample_points(spec)
        assert X.shape == (rows, 2), sampler
        assert (X[:, 0] >= 0.2).all() and (X[:, 0] <= 0.6).all()
        assert (X[:, 1] >= 1.0).all() and (X[:, 1] <= 9.0).all()
        np.testing.assert_array_equal(X, sample_points(spec))  # the spec's seed fixes the sample
        assert problem(spec)["names"] == ["info_sharing", "costs.platform"]


# ---------------------------------------------------------------------------------------------
# results: tidy table of means and 95% CIs; common random numbers; stable keys


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    spec = write_spec(root / "r.toml", GRID, name="res", days=40, replicates=3, seed=77)
    out = root / "out"
    assert cli("sweep", spec, "--out", out, "-q") == 0
    return spec, out


def test_results_writes_tidy_csv_and_parquet_with_t_intervals(finished_sweep, capsys):
    _, out = finished_sweep
    assert cli("results", out) == 0
    printed = capsys.readouterr().out
    assert "12 runs, 4 of 4 points" in printed
    csv, parquet = pd.read_csv(out / "results.csv"), pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False, check_exact=False, rtol=1e-12)
    assert list(parquet.columns) == ["point", "info_sharing", "authority_devolution", "kpi", "n", "mean", "sd",
                                     "ci_low", "ci_high"]
    assert not parquet.duplicated(["point", "kpi"]).any()  # tidy: one row per point and KPI
    assert parquet["point"].nunique() == 4
    assert {"cases_total", "resolution_rate", "escalations"} <= set(parquet["kpi"])
    assert not {"key", "replicate", "seed", "info_sharing"} & set(parquet["kpi"])

    # one point / KPI by hand, from the files' own metadata
    tasks = SweepStore(out).manifest()["tasks"]
    point = next(t["point"] for t in tasks if t["values"] == {"info_sharing": 1.0, "authority_devolution": 0.0})
    values = np.array([SweepStore.read_meta(out / "runs" / f"{t['key']}.parquet")["summary"]["cases_total"]
                       for t in tasks if t["point"] == point], dtype=float)
    assert len(values) == 3 and values.std() > 0, "pick a KPI that varies across replicates"
    mean, sd = values.mean(), values.std(ddof=1)
    half = stats.t.ppf(0.975, df=2) * sd / np.sqrt(3)
    row = parquet[(parquet["point"] == point) & (parquet["kpi"] == "cases_total")].iloc[0]
    assert (row["info_sharing"], row["authority_devolution"], row["n"]) == (1.0, 0.0, 3)
    assert row["mean"] == pytest.approx(mean, rel=1e-12)
    assert row["sd"] == pytest.approx(sd, rel=1e-12)
    assert row["ci_low"] == pytest.approx(mean - half, rel=1e-12)
    assert row["ci_high"] == pytest.approx(mean + half, rel=1e-12)
    # every interval is the t interval of its row, cut to the values its KPI can take (a rate to [0, 1],
    # a count to >= 0), and contains its mean
    from sim.registry import KPIS
    ok = parquet.dropna(subset=["sd"])
    h = stats.t.ppf(0.975, ok["n"] - 1) * ok["sd"] / np.sqrt(ok["n"])
    low = np.array([KPIS[k].range[0] if k in KPIS else -np.inf for k in ok["kpi"]])
    high = np.array([KPIS[k].range[1] if k in KPIS else np.inf for k in ok["kpi"]])
    np.testing.assert_allclose(ok["ci_high"], np.minimum(ok["mean"] + h, high), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ok["ci_low"], np.maximum(ok["mean"] - h, low), rtol=1e-9, atol=1e-9)
    assert (ok["ci_low"] <= ok["mean"]).all() and (ok["mean"] <= ok["ci_high"]).all()


def test_results_out_option_and_missing_folder(finished_sweep, tmp_path, capsys):
    _, out = finished_sweep
    assert cli("results", out, "--out", tmp_path / "tables" / "t.csv") == 2  # parent folder missing
    (tmp_path / "tables").mkdir()
    assert cli("results", out, "--out", tmp_path / "tables" / "t.csv") == 0
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == ["t.csv", "t.parquet"]
    assert cli("results", tmp_path / "no_sweep") == 2
    assert "manifest.json" in capsys.readouterr().err


def test_point_means_known_values():
    summaries = pd.DataFrame({"key": list("abcde"), "point": [0, 0, 0, 1, 1], "replicate": [0, 1, 2, 0, 1],
                              "seed": [1, 2, 3, 1, 2], "p": [0.5, 0.5, 0.5, 1.0, 1.0],
                              "k": [1.0, 2.0, 3.0, 7.0, np.nan]})
    t = point_means(summaries, ["p"]).set_index("point")
    assert t.loc[0, "kpi"] == "k" and t.loc[0, "n"] == 3 and t.loc[0, "mean"] == 2.0 and t.loc[0, "sd"] == 1.0
    half = stats.t.ppf(0.975, 2) / np.sqrt(3)
    assert t.loc[0, "ci_low"] == pytest.approx(2.0 - half) and t.loc[0, "ci_high"] == pytest.approx(2.0 + half)
    # one (non-missing) replicate: mean, but no interval
    assert t.loc[1, "n"] == 1 and t.loc[1, "mean"] == 7.0
    assert np.isnan(t.loc[1, "ci_low"]) and np.isnan(t.loc[1, "ci_high"])
    t90 = point_means(summaries, ["p"], confidence=0.9).set_index("point")
    assert t90.loc[0, "ci_high"] == pytest.approx(2.0 + stats.t.ppf(0.95, 2) / np.sqrt(3))


def test_the_one_t_interval_is_scipys_for_numbers_series_and_arrays():
    values = np.array([1.0, 2.5, 2.0, 4.0])
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    half = t_half_width(values.std(ddof=1), len(values))
    assert isinstance(half, float) and half == pytest.approx((hi - lo) / 2, rel=1e-12)
    assert np.isnan(t_half_width(1.0, 1)) and np.isnan(t_half_width(float("nan"), 0))
    n, sd = pd.Series([1, 2, 4]), pd.Series([np.nan, 1.0, 2.0])
    s = t_half_width(sd, n, 0.9)
    assert isinstance(s, pd.Series) and np.isnan(s[0])
    assert s[1] == pytest.approx(stats.t.ppf(0.95, 1) / np.sqrt(2)) and s[2] == pytest.approx(stats.t.ppf(0.95, 3))
    a = t_half_width(sd.to_numpy(), n.to_numpy(), 0.9)
    assert isinstance(a, np.ndarray) and np.isnan(a[0]) and np.allclose(a[1:], s[1:])
    # paired: the t interval of the differences' mean; infinite and missing differences are left out
    mean, lo2, hi2, k = paired_ci([*values, np.nan, np.inf])
    assert k == 4 and mean == values.mean() and (lo2, hi2) == pytest.approx((lo, hi), rel=1e-12)
    assert paired_ci([3.0])[:3] == (3.0, pytest.approx(np.nan, nan_ok=True), pytest.approx(np.nan, nan_ok=True))


def test_the_t_interval_is_computed_in_one_place():
    uses = [str(p.relative_to(REPO)) for p in (REPO / "sim").rglob("*.py")
            if "stats.t.ppf" in p.read_text(encoding="utf-8")]
    assert uses == ["sim/experiments/analysis.py"]
    assert (REPO / "sim/experiments/analysis.py").read_text(encoding="utf-8").count("stats.t.ppf") == 2  # t_half_width


def test_replicates_share_seeds_across_points(finished_sweep):
    spec_path, out = finished_sweep
    manifest = SweepStore(out).manifest()
    assert manifest["root_seed"] == 77
    tasks = manifest["tasks"]
    assert len(tasks) == 12
    seeds = replicate_seeds(77, 3)
    assert len(set(seeds)) == 3
    for t in tasks:
        assert t["seed"] == seeds[t["replicate"]]
        meta = SweepStore.read_meta(out / "runs" / f"{t['key']}.parquet")
        assert (meta["seed"], meta["point"], meta["replicate"]) == (t["seed"], t["point"], t["replicate"])
        assert meta["summary"]["seed"] == t["seed"]  # the model really ran with that seed
    by_rep = {}
    for t in tasks:
        by_rep.setdefault(t["replicate"], set()).add(t["seed"])
    assert {r: len(s) for r, s in by_rep.items()} == {0: 1, 1: 1, 2: 1}
    # common random numbers across specs: another root seed changes every replicate's seed
    assert not set(replicate_seeds(78, 3)) & set(seeds)


def test_run_keys_are_stable_and_follow_the_scenario(finished_sweep, tmp_path):
    spec_path, out = finished_sweep
    spec, base = load_spec(spec_path)
    keys = [t["key"] for t in build_tasks(spec, base)]
    assert len(set(keys)) == len(keys) == 12
    assert keys == [t["key"] for t in build_tasks(*load_spec(spec_path))]  # same spec twice
    assert keys == [t["key"] for t in SweepStore(out).manifest()["tasks"]]  # and what the sweep stored
    copy = tmp_path / "copy.toml"
    copy.write_bytes(Path(spec_path).read_bytes())
    assert keys == [t["key"] for t in build_tasks(*load_spec(copy))]  # the spec's path is not part of a key

    # a changed value changes the keys of the points that have it, and only those
    changed = write_spec(tmp_path / "changed.toml", {"info_sharing": [0.0, 0.9], "authority_devolution": [0.0, 1.0]},
                         name="res", days=40, replicates=3, seed=77)
    old = {(t["values"]["info_sharing"], t["values"]["authority_devolution"], t["replicate"]): t["key"]
           for t in build_tasks(spec, base)}
    new = {(t["values"]["info_sharing"], t["values"]["authority_devolution"], t["replicate"]): t["key"]
           for t in build_tasks(*load_spec(changed))}
    for (i, a, r), key in new.items():
        if i == 0.0:
            assert key == old[(i, a, r)]
        else:
            assert key not in old.values()
    # days and the root seed are part of the runs too
    longer = write_spec(tmp_path / "longer.toml", GRID, name="res", days=41, replicates=3, seed=77)
    assert not set(t["key"] for t in build_tasks(*load_spec(longer))) & set(keys)
    reseeded = write_spec(tmp_path / "reseeded.toml", GRID, name="res", days=40, replicates=3, seed=78)
    assert not set(t["key"] for t in build_tasks(*load_spec(reseeded))) & set(keys)
    # run_key itself
    sc = apply_parameters(base, {"info_sharing": 0.25})
    assert run_key(sc, 5) == run_key(apply_parameters(base, {"info_sharing": 0.25}), 5)
    assert run_key(sc, 5) != run_key(sc, 6)
    assert run_key(sc, 5) != run_key(apply_parameters(base, {"info_sharing": 0.26}), 5)
    # a scenario's descriptions change nothing a run computes, so not its key
    assert run_key(sc.model_copy(update={"description": "other", "description_zh": "别的"}), 5) == run_key(sc, 5)


def test_run_key_is_the_same_in_another_process(finished_sweep):
    spec_path, out = finished_sweep
    code = ("import json,sys; from sim.experiments.spec import load_spec, build_tasks; "
            "print(json.dumps([t['key'] for t in build_tasks(*load_spec(sys.argv[1]))]))")
    res = subprocess.run([sys.executable, "-c", code, str(spec_path)], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "123"}, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == [t["key"] for t in SweepStore(out).manifest()["tasks"]]


# ---------------------------------------------------------------------------------------------
# resume without interruption; a different spec in the same folder


def test_rerun_does_nothing_and_a_different_spec_is_refused(tmp_path, capsys):
    spec_path = write_spec(tmp_path / "s.toml", GRID, name="again")
    spec, base = load_spec(spec_path)
    out = tmp_path / "out"
    first = run_sweep(spec, base, out, progress=False)
    assert (first.total, first.skipped, first.done, first.failed) == (8, 0, 8, 0)
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "runs").iterdir()}
    manifest = (out / "manifest.json").read_bytes()

    second = run_sweep(spec, base, out, progress=False)
    assert (second.total, second.skipped, second.done, second.failed) == (8, 8, 0, 0)
    assert second.skipped == second.total
    assert cli("sweep", spec_path, "--out", out) == 0
    assert "8 runs (8 already on disk, 0 done now, 0 failed)" in capsys.readouterr().out
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "runs").iterdir()} == before

    # a different spec into the same folder: refused, nothing touched
    for name, params, top in (("values", {"info_sharing": [0.0, 0.5], "authority_devolution": [0.0, 1.0]}, {}),
                              ("replicates", GRID, {"replicates": 3}),
                              ("thin", GRID, {"thin": 5})):
        other = write_spec(tmp_path / f"other_{name}.toml", params, name="again", **top)
        assert cli("sweep", other, "--out", out, "-q") == 2, name
        err = capsys.readouterr().err
        assert "different sweep" in err and str(out) in err
        o_spec, o_base = load_spec(other)
        with pytest.raises(FileExistsError):
            run_sweep(o_spec, o_base, out, progress=False)
    assert cli("sensitivity", write_spec(tmp_path / "rng.toml", {"info_sharing": (0.0, 1.0), "costs.platform":
                                                                  (0.0, 1.0)}, sampler="morris", samples=2),
               "--method", "morris", "--out", out, "-q") == 2
    assert (out / "manifest.json").read_bytes() == manifest
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "runs").iterdir()} == before
    assert list((out / "failures").iterdir()) == []


def test_files_are_written_with_the_usual_permissions(tmp_path):
    import os

    from sim.io import UMASK, atomic_write_bytes

    atomic_write_bytes(tmp_path / "a.json", b"{}")
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~UMASK
    assert os.listdir(tmp_path) == ["a.json"]


def test_a_sampled_value_of_a_whole_number_field_is_rounded_even_where_the_preset_sets_it():
    """Samplers give floats; strict validation refuses 29.6 for a count, so apply_parameters rounds
    by the field's type (not by its current value: ``structure.population`` is None until the preset)."""
    from sim.params import load_scenario
    base = load_scenario({"preset": "classroom"})
    sc = apply_parameters(base, {"structure.population": 4000.4, "evaluation.period": 29.6, "info_sharing": 0.3})
    assert (sc.structure.population, sc.evaluation.period, sc.levers.info_sharing) == (4000, 30, 0.3)
