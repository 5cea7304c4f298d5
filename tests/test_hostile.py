"""Nothing lost, nothing accepted that should not be (issue 13): the cases a hostile user found.

* a damaged run file (truncated to 100 bytes or to nothing) is redone on resume, and skipped,
  by name, by ``cogov results``;
* a manifest with a path for a task key, or with nothing in it, is a clear error (exit 2);
* a second command on an output folder in use stops at once, naming the process that holds it;
* a run's files appear together: an interrupted write leaves the folder as it was, and a
  temporary folder left by a killed run is removed by the next run;
* Ctrl-C at any moment exits 130 with one line;
* a scenario that cannot fit in memory and a spec of too many runs are refused before anything
  is allocated; a file of many unknown keys gives a capped list of errors.

Sweeps are tiny (classroom preset, 30 days, 2 points x 2 replicates): a second or two each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomli_w
from test_sweeps import write_spec

from sim import io
from sim.cli import main
from sim.experiments.spec import build_tasks, load_spec, n_tasks
from sim.experiments.store import SweepStore
from sim.params import MAX_ERRORS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_sweep(tmp_path, capsys):
    """A finished 4-run sweep: (spec path, output folder)."""
    spec = write_spec(tmp_path / "tiny.toml", {"info_sharing": [0.2, 0.8]})
    out = tmp_path / "sweep"
    assert main(["sweep", str(spec), "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    return spec, out


def _runs(out: Path) -> list[Path]:
    return sorted((out / "runs").glob("*.parquet"))


# ---------------------------------------------------------------------------------------------
# verified store


def test_damaged_run_files_are_redone_on_resume(tiny_sweep, capsys):
    spec, out = tiny_sweep
    runs = _runs(out)
    assert len(runs) == 4
    whole = {p.name: p.read_bytes() for p in runs}
    runs[0].write_bytes(runs[0].read_bytes()[:100])
    runs[1].write_bytes(b"")
    assert main(["sweep", str(spec), "--out", str(out)]) == 0
    cap = capsys.readouterr()
    assert "2 already on disk, 2 done now" in cap.out
    for damaged in runs[:2]:
        assert f"{damaged}: incomplete or altered run file" in cap.err
    assert {p.name: p.read_bytes() for p in _runs(out)} == whole  # redone, and the same (seeded)
    assert main(["results", str(out)]) == 0
    assert "4 runs, 2 of 2 points" in capsys.readouterr().out


def test_results_names_and_skips_a_damaged_run_file(tiny_sweep, capsys):
    _, out = tiny_sweep
    bad = _runs(out)[2]
    bad.write_bytes(bad.read_bytes()[:100])
    assert main(["results", str(out)]) == 0
    cap = capsys.readouterr()
    assert f"{bad}: incomplete or altered run file" in cap.err and "skipped" in cap.err
    assert "3 runs" in cap.out


def test_a_run_file_altered_after_writing_does_not_verify(tiny_sweep):
    _, out = tiny_sweep
    path = _runs(out)[0]
    store = SweepStore(out)
    assert store.verify(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the footer still reads, the checksum does not match
    path.write_bytes(bytes(data))
    assert not store.verify(path)


@pytest.mark.parametrize("damage, fragment", [
    ("path_key", "key 'tasks.0.key'"),
    ("empty", "key 'fingerprint'"),
    ("not_json", "not a readable JSON manifest"),
])
def test_a_bad_manifest_is_a_clear_error(damage, fragment, tiny_sweep, tmp_path, capsys):
    spec, out = tiny_sweep
    manifest = out / "manifest.json"
    data = json.loads(manifest.read_text())
    if damage == "path_key":
        (tmp_path / "outside").mkdir()
        (tmp_path / "outside" / "secret.parquet").write_bytes(b"secret")
        data["tasks"][0]["key"] = "../../outside/secret"
        manifest.write_text(json.dumps(data))
    elif damage == "empty":
        manifest.write_text("{}")
    else:
        manifest.write_text("{not json")
    for argv in (["results", str(out)], ["sweep", str(spec), "--out", str(out), "-q"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert str(manifest) in err and fragment in err
        assert "Traceback" not in err


def test_results_on_a_folder_that_is_not_a_sweep(tiny_sweep, capsys):
    _, out = tiny_sweep
    manifest = out / "manifest.json"
    data = json.loads(manifest.read_text())
    data["spec"] = {"kind": "compare"}
    manifest.write_text(json.dumps(data))
    assert main(["results", str(out)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# one command per folder


def test_a_second_sweep_on_a_folder_in_use_stops_naming_the_holder(tmp_path, capsys):
    spec = write_spec(tmp_path / "tiny.toml", {"info_sharing": [0.2, 0.8]})
    out = tmp_path / "sweep"
    with io.folder_lock(out, "sweep"):
        assert main(["sweep", str(spec), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"in use by process {os.getpid()}" in err and "cogov sweep" in err
    assert not (out / "manifest.json").exists() and not (out / "runs").exists()
    assert not (out / io.HOLDER_NAME).exists()  # released with the lock
    assert main(["sweep", str(spec), "--out", str(out), "-q"]) == 0  # free again


def test_two_sweep_processes_on_one_folder(tmp_path):
    """The real case: a second ``cogov sweep`` (another spec) while the first runs exits 2 at once,
    naming the first's pid; the first finishes, and its folder holds only its own sweep."""
    first = write_spec(tmp_path / "first.toml", {"info_sharing": [0.1, 0.3, 0.5, 0.7]}, days=60)
    second = write_spec(tmp_path / "second.toml", {"info_sharing": [0.2, 0.8]}, name="other")
    out = tmp_path / "sweep"
    env = {**os.environ, "COGOV_THREADS": "1"}
    cmd = [sys.executable, "-m", "sim.cli", "sweep"]
    proc = subprocess.Popen([*cmd, str(first), "--out", str(out), "-q"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / io.HOLDER_NAME).exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the first sweep never took the folder"
            time.sleep(0.05)
        res = subprocess.run([*cmd, str(second), "--out", str(out), "-q"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 2, res.stderr
        assert f"in use by process {proc.pid}" in res.stderr
        assert proc.wait(timeout=600) == 0, proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["name"] == "tiny" and len(_runs(out)) == 8


# ---------------------------------------------------------------------------------------------
# atomic runs, interruptions


def _run(out: Path, *extra: str) -> int:
    return main(["run", "--preset", "classroom", "--days", "20", "--out", str(out), "-q", *extra])


def test_an_interrupted_write_leaves_the_previous_run_whole(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert _run(out, "--seed", "1") == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupt(*_):
        raise KeyboardInterrupt

    monkeypatch.setattr(io, "scenario_toml", interrupt)  # Ctrl-C half-way through writing the new run
    assert _run(out, "--seed", "2") == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("cogov: interrupted") and "\n" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".cogov-*"))  # no temporary left behind


def test_a_new_run_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "run"
    assert _run(out, "--csv") == 0
    assert (out / "cases.csv").exists()
    assert _run(out) == 0
    assert not (out / "cases.csv").exists()  # the new run's files and none of the old
    assert sorted(p.name for p in out.iterdir()) == sorted(n for n in io.RUN_FILES if n.endswith((".parquet", ".json",
                                                                                                 ".toml")))


def test_a_folder_with_other_files_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    assert _run(out) == 2
    assert "thesis.docx" in capsys.readouterr().err
    assert (out / "thesis.docx").read_text() == "years of work"


def test_the_temporary_of_a_killed_run_is_removed_by_the_next(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer exists
    stale = tmp_path / f"{io.TMP_PREFIX}{dead.pid}-abc-run"
    stale.mkdir()
    (stale / "timeseries.parquet").write_bytes(b"half")
    live = tmp_path / f"{io.TMP_PREFIX}{os.getpid()}-abc-other"  # a run still writing: kept
    live.mkdir()
    assert _run(tmp_path / "run") == 0
    assert not stale.exists() and live.exists()


@pytest.mark.parametrize("delay", [0.5, 2.0, 5.0])
def test_ctrl_c_at_any_moment_exits_130_with_one_line(delay, tmp_path):
    """SIGINT while importing, building or running: exit 130 and one line (or, before Python has
    started, the shell's own 130 from the signal), never a traceback; the run folder is whole or absent."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", "--preset", "classroom", "--days", "20000",
                             "--no-cache", "--out", str(out)], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            # a child started from a background job inherits SIGINT ignored: as from a terminal
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1].strip()
    if proc.returncode == 0:
        pytest.skip(f"the run finished within {delay} s: {err[-500:]}")
    assert proc.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err and len(err.splitlines()) <= 1, err
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == sorted(
        n for n in io.RUN_FILES if not n.endswith(".csv"))


# ---------------------------------------------------------------------------------------------
# refused before anything is allocated


def test_a_run_that_cannot_fit_in_memory_is_refused(tmp_path, monkeypatch, capsys):
    from sim import memory
    monkeypatch.setattr(memory, "available_bytes", lambda: 1e9)  # 1 GB free
    out = tmp_path / "run"
    assert main(["run", "--preset", "tianjin", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "need about" in err and "GB" in err and "COGOV_MEMORY_CHECK" in err
    assert not out.exists()


def test_the_memory_estimate_follows_the_counts():
    from sim import memory
    from sim.params import load_scenario
    small, large = (memory.estimate_bytes(load_scenario({"preset": p})) for p in ("classroom", "tianjin"))
    assert small < 0.5e9 < 3e9 < large < 12e9  # benchmarks/: 0.22 GB and 5.7 GB measured peaks


def test_a_spec_of_too_many_runs_is_refused_unless_allowed(tmp_path, capsys):
    spec = write_spec(tmp_path / "huge.toml", {"info_sharing": (0.0, 1.0)}, sampler="lhs",
                      samples=1_000_000, replicates=10_000)  # 10^10 runs
    t0 = time.perf_counter()
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out")]) == 2
    assert time.perf_counter() - t0 < 30  # refused from the counts, not after building 10^10 tasks
    err = capsys.readouterr().err
    assert "--max-tasks" in err and str(spec) in err
    assert not (tmp_path / "out").exists()
    small = write_spec(tmp_path / "small.toml", {"info_sharing": [0.1, 0.2, 0.3]})
    assert main(["sweep", str(small), "--max-tasks", "5", "--out", str(tmp_path / "o2")]) == 2
    assert "6 runs" in capsys.readouterr().err
    # allowed, but the list of 10^10 tasks cannot be held: refused from the counts too, not after filling memory
    assert main(["sweep", str(spec), "--max-tasks", str(10**11), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the list of 10,000,000,000 runs alone needs about 80,000.0 GB" in err[0]
    assert str(spec) in err[0] and not (tmp_path / "out").exists()


def test_the_memory_check_can_be_switched_off_with_false(monkeypatch):
    from sim import memory
    monkeypatch.setattr(memory, "available_bytes", lambda: 1.0)
    with pytest.raises(memory.MemoryNeedError):
        memory.check_task_memory(10, "here")
    monkeypatch.setenv("COGOV_MEMORY_CHECK", "false")
    memory.check_task_memory(10, "here")


@pytest.mark.parametrize("sampler, extra", [("grid", {}), ("lhs", {"samples": 5}), ("sobol", {"samples": 4}),
                                             ("morris", {"samples": 3})])
def test_the_counted_tasks_are_the_built_tasks(sampler, extra, tmp_path):
    params = ({"info_sharing": [0.1, 0.5], "authority_devolution": [0.2, 0.4, 0.6]} if sampler == "grid"
              else {"info_sharing": (0.1, 0.9), "authority_devolution": (0.1, 0.5)})
    spec, base = load_spec(write_spec(tmp_path / "s.toml", params, sampler=sampler, **extra))
    assert n_tasks(spec) == len(build_tasks(spec, base))


def test_many_unknown_keys_give_a_capped_list(tmp_path, capsys):
    path = tmp_path / "keys.toml"
    path.write_text(tomli_w.dumps({"handling": {f"k{i}": 1 for i in range(100_000)}}))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == MAX_ERRORS + 1 and len(err) < 50_000
    assert f"and {100_000 - MAX_ERRORS:,} more problem(s)" in err


def test_a_file_too_large_to_be_a_scenario_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "big.toml"
    path.write_text("[handling]\n" + "".join(f"k{i} = 1\n" for i in range(300_000)))  # ~3 MB
    assert main(["validate", str(path)]) == 2
    assert "bytes; a scenario or sweep spec file is at most" in capsys.readouterr().err


def test_a_ctrl_c_that_an_import_turned_into_another_error_exits_130(monkeypatch, capsys):
    """networkx's import can turn a KeyboardInterrupt into a RuntimeError (``__set_name__``)."""
    import sim.cli as cli_module

    def import_interrupted(argv):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise RuntimeError("Error calling __set_name__ on 'cached_property' instance 'adj'") from exc

    monkeypatch.setattr(cli_module, "_main", import_interrupted)
    assert main(["run"]) == 130
    assert capsys.readouterr().err.startswith("cogov: interrupted")
    monkeypatch.setattr(cli_module, "_main", lambda argv: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # any other error is not hidden
        main(["run"])


def test_pruning_the_cache_skips_entries_another_process_removed(tmp_path, monkeypatch):
    from sim import burnin
    monkeypatch.setenv("COGOV_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("COGOV_CACHE_MAX_MB", "0")
    for name in ("a", "b"):
        (tmp_path / f"{name}{burnin.SUFFIX}").write_bytes(b"x" * 10)
    real_stat = Path.stat

    def vanishing(self, *a, **k):  # "b" is removed by another process between the glob and the stat
        if self.name.startswith("b"):
            raise FileNotFoundError(self)
        return real_stat(self, *a, **k)

    monkeypatch.setattr(Path, "stat", vanishing)
    burnin.prune()
    assert not (tmp_path / f"a{burnin.SUFFIX}").exists()


def test_a_ctrl_c_that_numpy_swallowed_still_stops_the_run_at_the_end_of_the_day(model_factory):
    """numpy/numpy#20596: a KeyboardInterrupt raised inside an IntEnum comparison can be lost; the
    command's SIGINT handler also sets ``sim.interrupt.requested``, which the run checks after each day."""
    from sim import interrupt
    model = model_factory(days=10)
    interrupt.requested.set()  # as the handler does, its KeyboardInterrupt lost
    day = model.reported_day
    with pytest.raises(KeyboardInterrupt):
        model.run(5)
    assert model.reported_day == day + 1 and not interrupt.requested.is_set()
    model.run(2)  # cleared: the run goes on
    assert model.reported_day == day + 3


def test_a_run_too_big_for_memory_is_refused_naming_the_file(tmp_path, capsys, monkeypatch):
    from sim import memory
    monkeypatch.setattr(memory, "available_bytes", lambda: 1e6)
    path = tmp_path / "big.toml"
    path.write_text("[structure]\npopulation = 50000000\n", encoding="utf-8")
    assert main(["run", str(path), "--days", "2", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cogov: error: {path}: 50,000,000 residents")
    assert not (tmp_path / "r").exists()


def test_a_preset_that_replaces_the_file_s_structure_says_so(tmp_path, capsys):
    path = tmp_path / "p.toml"
    path.write_text("[structure]\npopulation = 50000000\n", encoding="utf-8")
    assert main(["run", str(path), "--preset", "classroom", "--days", "2", "--out", str(tmp_path / "r"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "--preset classroom replaces the counts" in err and "population = 50,000,000" in err
    assert main(["run", "baseline", "--preset", "classroom", "--days", "2", "--out", str(tmp_path / "r2"), "-q"]) == 0
    assert "replaces" not in capsys.readouterr().err  # the baseline sets no counts of its own


def test_a_comparison_of_too_many_runs_is_refused_unless_allowed(tmp_path, capsys):
    assert main(["compare", "baseline", "whistle", "--reps", "20000", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "40,000 runs, more than the 20,000 allowed; pass --max-tasks 40000" in err[0]
    assert not (tmp_path / "c").exists()


def test_results_intervals_stay_inside_what_a_kpi_can_take():
    import pandas as pd
    from sim.experiments.analysis import point_means
    summaries = pd.DataFrame({"point": [0, 0, 0], "replicate": [0, 1, 2], "resolution_rate": [0.99, 1.0, 0.7],
                              "escalations": [1.0, 2.0, 40.0]})
    table = point_means(summaries, []).set_index("kpi")
    assert table.loc["resolution_rate", "ci_high"] == 1.0 and table.loc["resolution_rate", "ci_low"] < 0.9
    assert table.loc["escalations", "ci_low"] == 0.0  # a count is never negative
