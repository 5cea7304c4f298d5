"""Isolated worker processes of ``--executor processes`` and progress lines without a terminal.

Tiny sweeps (classroom preset, 20 days, 4-6 runs). What is checked:

* a worker killed (SIGKILL) while running a task is replaced, the task is retried, the sweep
  completes with every run on disk, exit 0, and the same results as a serial sweep;
* a task whose worker dies on every attempt is recorded in ``failures/`` after ``MAX_ATTEMPTS``
  attempts, the other runs are done, exit 1;
* the same with Dask: past ``allowed-failures`` its KilledWorker is that run's failure;
* the parent killed with SIGKILL: its worker processes (ours or a local Dask cluster's) exit
  within seconds; Ctrl-C stops a process sweep promptly, exit 130 (Linux, /proc);
* stderr not a terminal: plain progress lines, throttled, the last one included.

The deaths come from the test-only hook of ``sim.experiments.sweep`` (``COGOV_TEST_DIE_KEY``,
``COGOV_TEST_DIE_DIR``, ``COGOV_TEST_DIE_TIMES``): the worker given that task kills itself with
SIGKILL, as ``kill -9`` or the out-of-memory killer would.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_sweeps import cli, parquet_keys
from test_sweeps import write_spec as sweep_spec

from sim.experiments import sweep as sweep_module
from sim.experiments.spec import build_tasks, load_spec
from sim.experiments.store import SweepStore
from sim.experiments.sweep import MAX_ATTEMPTS, PlainProgress

REPO = Path(__file__).resolve().parents[1]
GRID = {"info_sharing": [0.0, 1.0]}


def write_spec(path: Path, values=(0.0, 1.0), name: str = "tiny", replicates: int = 2) -> Path:
    return sweep_spec(path, {"info_sharing": list(values)}, name=name, replicates=replicates, days=20, seed=5,
                      thin=5)


def keys(spec: Path) -> list[str]:
    s, base = load_spec(spec)
    return sorted({t["key"] for t in build_tasks(s, base)})


def children(pid: int) -> list[int]:
    """Child pids of ``pid`` (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            pass
    return found


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="module")
def serial_reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("workers")
    spec = write_spec(root / "w.toml")
    out = root / "serial"
    assert cli("sweep", spec, "--out", out, "-q") == 0
    return spec, out


@pytest.fixture
def die(tmp_path, monkeypatch):
    """Set the test-only hook: ``die(key, times)`` makes the worker given ``key`` kill itself on
    its first ``times`` attempts (None: every attempt); returns a function counting the deaths."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # for spawned workers
    folder = tmp_path / "deaths"
    folder.mkdir()

    def arm(key: str, times: int | None):
        monkeypatch.setenv("COGOV_TEST_DIE_KEY", key)
        monkeypatch.setenv("COGOV_TEST_DIE_DIR", str(folder))
        if times is not None:
            monkeypatch.setenv("COGOV_TEST_DIE_TIMES", str(times))
        return lambda: len(list(folder.glob(f"{key}.*")))

    return arm


# ---------------------------------------------------------------------------------------------
# a worker that dies


def test_killed_worker_is_replaced_and_its_task_retried(serial_reference, die, tmp_path, capsys):
    spec, serial_out = serial_reference
    victim = keys(spec)[1]
    deaths = die(victim, times=1)
    out = tmp_path / "out"
    assert cli("sweep", spec, "--executor", "processes", "--workers", "2", "--out", out, "-q") == 0
    assert deaths() == 1
    assert parquet_keys(out) == set(keys(spec))
    assert list((out / "failures").iterdir()) == []
    a, b = SweepStore(out).summaries(), SweepStore(serial_out).summaries()
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # the retried run is the same run


def test_task_whose_worker_always_dies_is_a_failure_after_max_attempts(serial_reference, die, tmp_path, capsys):
    spec, serial_out = serial_reference
    victim = keys(spec)[0]
    deaths = die(victim, times=None)
    out = tmp_path / "out"
    assert cli("sweep", spec, "--executor", "processes", "--workers", "2", "--out", out) == 1
    captured = capsys.readouterr()
    assert "4 runs (0 already on disk, 3 done now, 1 failed)" in captured.out
    assert str(out / "failures") in captured.err
    assert deaths() == MAX_ATTEMPTS == 3
    assert parquet_keys(out) == set(keys(spec)) - {victim}
    assert [p.name for p in (out / "failures").iterdir()] == [f"{victim}.txt"]
    text = (out / "failures" / f"{victim}.txt").read_text()
    assert "worker process died (exit code -9, SIGKILL) on each of 3 attempts" in text


def test_dask_gives_up_on_a_task_that_kills_its_workers_and_records_it(serial_reference, die, tmp_path):
    """Dask reruns a task whose worker died elsewhere; past distributed.scheduler.allowed-failures
    (default 3, so 4 attempts) it raises KilledWorker: recorded as that run's failure. Dask counts
    a death against every task the worker held, so a run that only waited on a worker the bad
    run killed may be given up on as well (4 tasks on 2 workers are all sent out at once)."""
    pytest.importorskip("distributed")
    spec, serial_out = serial_reference
    victim = keys(spec)[2]
    deaths = die(victim, times=None)
    out = tmp_path / "out"
    assert cli("sweep", spec, "--executor", "dask", "--workers", "2", "--out", out, "-q") == 1
    assert deaths() == 4
    failed = {p.stem for p in (out / "failures").glob("*.txt")}
    assert victim in failed and parquet_keys(out) | failed == set(keys(spec)) and not parquet_keys(out) & failed
    assert len(parquet_keys(out)) >= 1
    for key in failed:
        text = (out / "failures" / f"{key}.txt").read_text()
        assert text.startswith("Dask gave up on this run: ") and "4 different workers" in text


# ---------------------------------------------------------------------------------------------
# the parent killed or interrupted (a real `python -m sim.cli sweep` subprocess)


def start_sweep(tmp_path: Path, executor: str, **popen):
    """Start a 9-run sweep; return (process, its child pids) once its workers are running tasks."""
    spec = write_spec(tmp_path / "p.toml", values=(0.0, 0.5, 1.0), name="parent", replicates=3)
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "sweep", str(spec), "--executor", executor,
                             "--workers", "2", "--out", str(out), "-q"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err, **popen)
    err.close()
    try:
        deadline = time.monotonic() + 120
        while True:  # the workers have started and the first run is written: others are running
            if proc.poll() is not None:
                pytest.fail(f"the sweep ended (exit {proc.returncode}) too early; "
                            f"stderr: {(tmp_path / 'stderr.txt').read_text()}")
            if time.monotonic() > deadline:
                pytest.fail("no run finished within 120 s")
            kids = children(proc.pid)
            workers = [k for k in kids if b"spawn_main" in Path(f"/proc/{k}/cmdline").read_bytes()]
            if len(workers) >= 2 and (out / "runs").is_dir() and parquet_keys(out):
                break
            time.sleep(0.05)
        assert len(parquet_keys(out)) < 9, "the sweep finished too early"
        return proc, children(proc.pid)
    except BaseException:
        proc.kill()
        proc.wait(timeout=30)
        raise


def assert_gone(kids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [k for k in kids if alive(k)]
    for k in left:  # (never leave them behind, even when the test fails)
        os.kill(k, signal.SIGKILL)
    assert left == [], f"child processes still running {seconds} s later: {left}"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers through Linux /proc")
@pytest.mark.parametrize("executor", ["processes", "dask"])
def test_workers_exit_when_the_parent_is_killed(executor, tmp_path):
    if executor == "dask":
        pytest.importorskip("distributed")
    proc, kids = start_sweep(tmp_path, executor)
    try:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert_gone(kids, 10)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers through Linux /proc")
def test_ctrl_c_stops_the_process_workers_promptly(tmp_path):
    """SIGINT to the process group, as Ctrl-C at a terminal sends: exit 130 within seconds, no worker left."""
    def default_sigint():  # (a shell may start background jobs with SIGINT ignored)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc, kids = start_sweep(tmp_path, "processes", start_new_session=True, preexec_fn=default_sigint)
    try:
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        assert time.monotonic() - t0 < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in (tmp_path / "stderr.txt").read_text()
    assert_gone(kids, 5)


# ---------------------------------------------------------------------------------------------
# progress without a terminal


def test_progress_lines_on_stderr_when_it_is_not_a_terminal(tmp_path):
    spec = write_spec(tmp_path / "g.toml", name="plain")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(spec), "--out", str(tmp_path / "out")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr  # no bar
    lines = [line for line in proc.stderr.splitlines() if line.startswith("plain: ")]
    pattern = re.compile(r"plain: (\d)/4 runs, 0 failed, \d+ (s|min|h) elapsed(, ETA \d+ (s|min|h))?$")
    assert lines and all(pattern.match(line) for line in lines), proc.stderr
    assert lines[-1].startswith("plain: 4/4 runs, 0 failed, ") and "ETA" not in lines[-1]
    assert "ETA" in lines[0]


def test_plain_progress_is_throttled_and_ends_with_the_last(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(sweep_module.time, "monotonic", lambda: clock[0])
    stream = io.StringIO()
    bar = PlainProgress(total=100, initial=20, label="compare", stream=stream)
    for i in range(80):  # 80 runs, 1 s each: a line every 10 runs (10% of 100) or 30 s
        clock[0] += 1
        bar.set_postfix(failed=1 if i >= 5 else 0)
        bar.update(1)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 8
    assert lines[0] == "compare: 30/100 runs, 1 failed, 10 s elapsed, ETA 70 s"
    assert lines[-1] == "compare: 100/100 runs, 1 failed, 80 s elapsed"

    stream = io.StringIO()  # slow runs: a line every 30 s at most, and one at an interruption
    bar = PlainProgress(total=1000, label="sweep", stream=stream)
    for _ in range(7):
        clock[0] += 20
        bar.update(1)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines == ["sweep: 2/1000 runs, 0 failed, 40 s elapsed, ETA 5.5 h",
                     "sweep: 4/1000 runs, 0 failed, 80 s elapsed, ETA 5.5 h",
                     "sweep: 6/1000 runs, 0 failed, 2 min elapsed, ETA 5.5 h",
                     "sweep: 7/1000 runs, 0 failed, 2 min elapsed, ETA 5.5 h"]
