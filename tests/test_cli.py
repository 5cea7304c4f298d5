"""The ``cogov`` command (sim/cli/): exit codes, messages and the files a run writes (MODEL §6-§7).

Most tests call ``sim.cli.main(argv)`` in-process; two run ``python -m sim.cli`` as a
subprocess to check the real exit status.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim import __version__, load_scenario
from sim.cli import main
from sim.params import LEVER_NAMES, scenarios_dir

REPO = Path(__file__).resolve().parents[1]
BUILTIN = sorted(scenarios_dir().glob("*.toml"))
RUN_FILES = {"timeseries.parquet", "cases.parquet", "districts.parquet", "network.parquet", "summary.json",
             "scenario.toml", "meta.json"}
TS_COLUMNS = ["day", "detected_report", "detected_patrol", "detected_data", "resolution_rate_30d",
              "satisfaction_30d", "dept_resolution_rate_30d", "dept_satisfaction_30d"]
CASE_COLUMNS = ["type", "severity", "channel", "levels_visited", "bounces", "days", "outcome"]
SUMMARY_KEYS = ["residents", "communities", "days", "cases_total", "detected", "resolved", "closed_superficially",
                "reopened", "erupted", "open_end", "resolution_rate", "closure_rate_reported",
                "median_days_to_resolve", "p90_days_to_resolve", "share_resolved_grassroots", "share_resolved_street",
                "share_resolved_above_street", "escalations", "bounces", "petitions", "collective_incidents",
                "trust_mean_end", "satisfaction_mean", "dept_resolution_rate", "dept_satisfaction",
                "worker_utilisation_mean", "worker_turnover", "person_days", "budget", "cost_per_resolved"]


def cli(*argv) -> int:
    """Exit code of ``cogov ARGV`` run in-process (argparse errors raise SystemExit)."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def listing(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# cogov validate
# ---------------------------------------------------------------------------------------------


def test_validate_builtin_files_exit_0(capsys):
    assert cli("validate", *BUILTIN) == 0
    out, err = capsys.readouterr()
    assert err == ""
    ok = [line for line in out.splitlines() if line.startswith("ok: ")]
    assert len(ok) == len(BUILTIN)
    for f in BUILTIN:
        assert any(str(f) in line for line in ok)


BAD = {
    # id: (file content, fragments the one error message must contain besides the file path)
    "malformed_toml": ('name = "x"\ndays = \n', ["malformed TOML", "line 2"]),
    "unknown_top_level_key": ('foo = 1\n', ["'foo'", "unknown key", "allowed", "levers"]),
    "unknown_lever": ("[levers]\ninfo_sharin = 0.5\n", ["levers.info_sharin", "allowed", *LEVER_NAMES]),
    "wrong_type": ('days = "ten"\n', ["'days'", "expected a whole number"]),
    "out_of_range": ("[levers]\ninfo_sharing = 1.5\n", ["levers.info_sharing", "less than or equal to 1"]),
    "days_zero": ("days = 0\n", ["'days'", "greater than or equal to 1"]),
    "schedule_unknown_lever": ("[[schedule]]\nday = 3\nlevers = { nosuch = 0.5 }\n",
                               ["schedule", "nosuch", "allowed", "whistle_power"]),
    "extends_missing": ('extends = "nope.toml"\n', ["'extends'", "nope.toml", "not found"]),
}


@pytest.mark.parametrize("content,fragments", BAD.values(), ids=BAD.keys())
def test_validate_bad_file_exits_2_with_one_message(tmp_path, capsys, content, fragments):
    path = write(tmp_path / "bad.toml", content)
    assert cli("validate", path) == 2
    out, err = capsys.readouterr()
    assert "ok:" not in out
    lines = error_lines(err)
    assert len(lines) == 1, f"expected one message, got: {err}"
    msg = lines[0]
    assert msg.startswith("cogov: error: ")
    assert "bad.toml" in msg
    assert "Traceback" not in err
    missing = [f for f in fragments if f not in msg]
    assert not missing, f"message lacks {missing}: {msg}"


def test_validate_missing_file_exits_2(tmp_path, capsys):
    path = tmp_path / "absent.toml"
    assert cli("validate", path) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert str(path) in lines[0] and "not found" in lines[0]


def test_validate_extends_cycle_exits_2(tmp_path, capsys):
    a = write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    assert cli("validate", a) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert "a.toml" in lines[0] and "b.toml" in lines[0] and "cycle" in lines[0] and "'extends'" in lines[0]


def test_validate_reports_every_bad_file_and_still_checks_good_ones(tmp_path, capsys):
    bad1 = write(tmp_path / "bad1.toml", "days = 0\n")
    bad2 = write(tmp_path / "bad2.toml", "[levers]\nwhistle_power = 9\n")
    good = scenarios_dir() / "whistle.toml"
    assert cli("validate", bad1, good, bad2) == 2
    out, err = capsys.readouterr()
    lines = error_lines(err)
    assert len(lines) == 2
    assert "bad1.toml" in lines[0] and "bad2.toml" in lines[1]
    assert out.count("ok: ") == 1 and "whistle.toml" in out


# ---------------------------------------------------------------------------------------------
# cogov run: the files it writes
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run30(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "DIR"
    code = cli("run", "baseline", "--preset", "classroom", "--days", 30, "--out", out, "-q")
    return code, out


def test_run_exits_0_and_writes_exactly_the_five_files(run30):
    code, out = run30
    assert code == 0
    assert set(os.listdir(out)) == RUN_FILES  # nothing else, no leftover temporary folder
    assert all((out / f).stat().st_size > 0 for f in RUN_FILES)


def test_run_timeseries_has_one_row_per_day(run30):
    _, out = run30
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 30
    assert ts["day"].tolist() == list(range(30))
    missing = [c for c in TS_COLUMNS if c not in ts.columns]
    assert not missing
    assert (ts["detected_report"] + ts["detected_patrol"] + ts["detected_data"] + ts["detected_hotline"]
            == ts["detected"]).all()
    for col in ("resolution_rate_30d", "dept_resolution_rate_30d", "satisfaction_30d", "dept_satisfaction_30d"):
        values = ts[col].dropna()
        assert ((values >= 0) & (values <= 1)).all(), col


def test_run_cases_has_one_row_per_case(run30):
    _, out = run30
    cases = pd.read_parquet(out / "cases.parquet")
    ts = pd.read_parquet(out / "timeseries.parquet")
    summary = json.loads((out / "summary.json").read_text())
    missing = [c for c in CASE_COLUMNS if c not in cases.columns]
    assert not missing
    assert len(cases) > 0
    # the cases of the reported period: open at day 0 (created in the burn-in) and created since
    new = cases["created"] >= 0
    assert len(cases) == summary["cases_open_start"] + summary["cases_total"]
    assert new.sum() == summary["cases_total"] == ts["new_cases"].sum()
    assert (~new).sum() == summary["cases_open_start"] > 0
    assert cases["case"].is_monotonic_increasing and cases["case"].is_unique
    assert set(cases["outcome"]) <= {"latent", "active", "resolved", "superficial", "erupted", "withdrawn"}
    assert set(cases["channel"]) <= {"report", "patrol", "data", "hotline", "none"}
    found = cases["detected"].notna() & (cases["detected"] >= 0)  # found in the period
    assert found.sum() == summary["detected"] == ts["detected"].sum()
    for ch in ("report", "patrol", "data", "hotline"):
        assert (found & (cases["channel"] == ch)).sum() == ts[f"detected_{ch}"].sum()
    assert (cases["channel"][cases["detected"].isna()] == "none").all()
    assert (cases["days"] >= 0).all() and (cases.loc[new, "days"] <= 30).all()
    assert (cases["days"] <= 30 + summary["burn_in"]).all()
    assert ((cases["severity"] >= 0) & (cases["severity"] <= 1)).all()


def test_run_summary_has_the_kpis(run30):
    _, out = run30
    summary = json.loads((out / "summary.json").read_text())
    missing = [k for k in SUMMARY_KEYS if k not in summary]
    assert not missing
    assert summary["residents"] == 3000
    assert summary["communities"] == 12
    assert summary["days"] == 30
    assert summary["seed"] == 1 and summary["preset"] == "classroom"
    for k in ("resolution_rate", "closure_rate_reported", "share_resolved_grassroots", "trust_mean_end"):
        assert math.isnan(summary[k]) or 0 <= summary[k] <= 1, k


def test_run_meta_has_versions_and_seed(run30):
    import mesa
    import numpy
    import platform

    _, out = run30
    meta = json.loads((out / "meta.json").read_text())
    assert meta["cogov"] == __version__
    assert meta["mesa"] == mesa.__version__
    assert meta["numpy"] == numpy.__version__
    assert meta["python"] == platform.python_version()
    assert meta["seed"] == 1
    assert meta["days"] == 30


def test_run_scenario_toml_is_fully_resolved(run30):
    _, out = run30
    sc = load_scenario(out / "scenario.toml")
    assert (sc.name, sc.preset, sc.days, sc.seed) == ("baseline", "classroom", 30, 1)
    assert sc.structure.communities == 12 and sc.structure.streets == 3 and sc.structure.districts == 1


def test_rerun_of_written_scenario_reproduces_summary_exactly(run30, tmp_path):
    _, out = run30
    again = tmp_path / "again"
    assert cli("run", out / "scenario.toml", "--seed", 1, "--out", again, "-q") == 0
    assert (again / "summary.json").read_bytes() == (out / "summary.json").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(again / "cases.parquet"), pd.read_parquet(out / "cases.parquet"))
    assert (again / "scenario.toml").read_text() == (out / "scenario.toml").read_text()


def test_run_seed_option_changes_the_seed_everywhere(run30, tmp_path):
    _, first = run30
    out = tmp_path / "s7"
    assert cli("run", "baseline", "--preset", "classroom", "--days", 30, "--seed", 7, "--out", out, "-q") == 0
    assert json.loads((out / "meta.json").read_text())["seed"] == 7
    assert json.loads((out / "summary.json").read_text())["seed"] == 7
    assert load_scenario(out / "scenario.toml").seed == 7
    assert not pd.read_parquet(out / "cases.parquet").equals(pd.read_parquet(first / "cases.parquet"))


def test_run_csv_option_adds_csv_copies(tmp_path):
    out = tmp_path / "csv"
    assert cli("run", "baseline", "--preset", "classroom", "--days", 10, "--out", out, "--csv", "-q") == 0
    assert set(os.listdir(out)) == RUN_FILES | {"timeseries.csv", "cases.csv", "districts.csv", "network.csv"}
    assert len(pd.read_csv(out / "timeseries.csv")) == 10
    assert len(pd.read_csv(out / "cases.csv")) == len(pd.read_parquet(out / "cases.parquet"))


def test_run_prints_kpis_unless_quiet(tmp_path, capsys):
    assert cli("run", "baseline", "--preset", "classroom", "--days", 5, "--out", tmp_path / "a") == 0
    out = capsys.readouterr().out
    assert "resolution_rate" in out and "classroom" in out
    assert cli("run", "baseline", "--preset", "classroom", "--days", 5, "--out", tmp_path / "b", "-q") == 0
    assert capsys.readouterr().out == ""


def test_run_into_existing_folder_replaces_results(tmp_path):
    out = tmp_path / "DIR"
    assert cli("run", "baseline", "--preset", "classroom", "--days", 5, "--out", out, "-q") == 0
    assert cli("run", "baseline", "--preset", "classroom", "--days", 8, "--out", out, "-q") == 0
    assert set(os.listdir(out)) == RUN_FILES
    assert len(pd.read_parquet(out / "timeseries.parquet")) == 8
    assert json.loads((out / "meta.json").read_text())["days"] == 8


# ---------------------------------------------------------------------------------------------
# cogov run: bad input stops before anything is written
# ---------------------------------------------------------------------------------------------


def bad_run_args(tmp_path, case):
    bad_file = write(tmp_path / "bad.toml", "[levers]\ninfo_sharing = 1.5\n")
    return {
        "bad_scenario_file": [bad_file],
        "missing_scenario_file": [tmp_path / "absent.toml"],
        "unknown_scenario_name": ["no_such_scenario"],
        "days_zero": ["baseline", "--days", 0],
        "days_negative": ["baseline", "--days", -3],
        "days_too_many": ["baseline", "--days", 100000],
        "days_not_a_number": ["baseline", "--days", "ten"],
        "seed_negative": ["baseline", "--seed", -1],
        "unknown_preset": ["baseline", "--preset", "village"],
    }[case]


BAD_RUN = ["bad_scenario_file", "missing_scenario_file", "unknown_scenario_name", "days_zero", "days_negative",
           "days_too_many", "days_not_a_number", "seed_negative", "unknown_preset"]


@pytest.mark.parametrize("case", BAD_RUN)
def test_run_bad_input_exits_2_and_creates_nothing(tmp_path, capsys, case):
    out = tmp_path / "DIR"
    args = bad_run_args(tmp_path, case)
    if case != "unknown_preset":
        args = [*args, "--preset", "classroom"]
    assert cli("run", *args, "--out", out, "-q") == 2
    err = capsys.readouterr().err
    assert "error" in err and "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]  # nothing else appeared either


def test_run_bad_scenario_message_names_file_and_key(tmp_path, capsys):
    bad = write(tmp_path / "bad.toml", "[levers]\ninfo_sharing = 1.5\n")
    assert cli("run", bad, "--out", tmp_path / "DIR", "-q") == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert "bad.toml" in lines[0] and "levers.info_sharing" in lines[0] and "less than or equal to 1" in lines[0]


def test_run_days_zero_message_names_the_option(tmp_path, capsys):
    assert cli("run", "baseline", "--days", 0, "--out", tmp_path / "DIR") == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "--days" in lines[0] and "between 1 and 36500" in lines[0]


def test_run_days_above_maximum_message_names_the_option(tmp_path, capsys):
    assert cli("run", "baseline", "--days", 100000, "--out", tmp_path / "DIR") == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "--days" in lines[0]


@pytest.mark.parametrize("case", ["bad_scenario_file", "days_zero", "unknown_preset", "seed_negative"])
def test_run_bad_input_leaves_previous_results_intact(tmp_path, case):
    out = tmp_path / "DIR"
    assert cli("run", "baseline", "--preset", "classroom", "--days", 5, "--out", out, "-q") == 0
    (out / "notes.txt").write_text("mine")
    before = listing(out)
    assert cli("run", *bad_run_args(tmp_path, case), "--out", out, "-q") == 2
    assert listing(out) == before


def test_run_out_under_a_regular_file_exits_2(tmp_path, capsys):
    blocker = write(tmp_path / "afile", "not a folder")
    out = blocker / "sub"
    assert cli("run", "baseline", "--preset", "classroom", "--days", 5, "--out", out, "-q") == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1
    assert "--out" in lines[0] and str(out) in lines[0]
    assert blocker.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_run_out_is_a_regular_file_exits_2(tmp_path, capsys):
    blocker = write(tmp_path / "afile", "not a folder")
    assert cli("run", "baseline", "--preset", "classroom", "--days", 5, "--out", blocker, "-q") == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "--out" in lines[0] and "not a folder" in lines[0]
    assert blocker.read_text() == "not a folder"


def test_run_unwritable_out_fails_before_simulating(tmp_path, monkeypatch):
    from sim.model import CoGovernanceModel

    ran = []
    monkeypatch.setattr(CoGovernanceModel, "run", lambda self, *a, **k: ran.append(1) or self)
    out = write(tmp_path / "afile", "x") / "sub"
    assert cli("run", "baseline", "--preset", "classroom", "--days", 5, "--out", out, "-q") == 2
    assert ran == [], "the model was run although --out could never be written"


def test_run_inconsistent_structure_exits_2_with_message(tmp_path, capsys):
    bad = write(tmp_path / "bad.toml", 'preset = "classroom"\n[structure]\ndistricts = 5\n')
    out = tmp_path / "DIR"
    code = cli("validate", bad)
    assert code == 2
    try:
        code = cli("run", bad, "--days", 5, "--out", out, "-q")
    except ValueError:  # the bug: the error escapes main()
        code = "ValueError"
    assert code == 2
    lines = error_lines(capsys.readouterr().err)
    assert any("bad.toml" in line and "districts" in line for line in lines)
    assert not out.exists()


# ---------------------------------------------------------------------------------------------
# cogov scenarios and the command line itself
# ---------------------------------------------------------------------------------------------


def test_scenarios_lists_the_builtins(capsys):
    assert cli("scenarios") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(BUILTIN)
    assert "INVALID" not in out
    names = [line.split()[0] for line in lines]
    assert names == [f.stem for f in BUILTIN]
    for f in BUILTIN:
        desc = load_scenario(f).description
        assert any(line.startswith(f.stem) and desc in line for line in lines)


def test_no_command_is_a_usage_error(capsys):
    assert cli() == 2
    assert "usage" in capsys.readouterr().err


def subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_subprocess_run(tmp_path):
    out = tmp_path / "DIR"
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "run", "baseline", "--preset", "classroom",
                           "--days", "10", "--out", str(out), "-q"],
                          cwd=REPO, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert set(os.listdir(out)) == RUN_FILES
    assert len(pd.read_parquet(out / "timeseries.parquet")) == 10


def test_subprocess_bad_input_exit_status(tmp_path):
    bad = write(tmp_path / "bad.toml", "[levers]\nnosuch = 1\n")
    out = tmp_path / "DIR"
    for argv, must in ((["validate", str(bad)], "levers.nosuch"),
                       (["run", "baseline", "--preset", "village", "--out", str(out)], "--preset")):
        proc = subprocess.run([sys.executable, "-m", "sim.cli", *argv], cwd=REPO, env=subprocess_env(),
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert must in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_a_closed_pipe_ends_a_command_quietly():
    """`cogov kpis | head`: the reader has gone before the table is written; no traceback, exit 141."""
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "kpis"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # closed before the command (still importing) writes a line
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == 141
