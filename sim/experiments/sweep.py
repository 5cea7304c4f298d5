"""Running a sweep: tasks through an executor (serial, local processes, Dask), results to a store.

Each task is one (point, replicate) run, identified by a stable key. Finished runs are
written by this process as they arrive (atomic files), so an interrupted sweep (Ctrl-C,
``kill -9``) is resumed by running the same command again: runs on disk are skipped, the rest
are done. A run that raises is recorded in ``failures/`` and the sweep goes on.

``processes`` runs one spawned worker process per slot, each fed one task at a time through its
own pipe. A worker that dies (killed, out of memory, a crash in native code) is replaced and its
task retried, up to ``MAX_ATTEMPTS`` attempts in all; then the task is recorded in ``failures/``.
Workers exit when the parent dies (``PR_SET_PDEATHSIG`` on Linux, and everywhere a thread that
waits on the parent's sentinel).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from ..io import versions
from .spec import SweepSpec, build_tasks
from .store import SweepStore

EXECUTORS = ("serial", "processes", "dask")
MAX_ATTEMPTS = 3  # attempts at a task whose worker process dies (--executor processes), the first included


def run_task(task: dict) -> dict:
    """Run one task (in any process); returns its key and either its results or a traceback."""
    _test_die_hook(task["key"])
    try:
        from ..model import CoGovernanceModel
        from ..params import load_scenario

        model = CoGovernanceModel(load_scenario(task["scenario"]))
        model.run()
        ts = model.timeseries()
        ts = ts[ts["day"] % task["thin"] == 0].reset_index(drop=True)
        return {"key": task["key"], "ok": True, "timeseries": ts, "summary": model.summary(),
                "districts": model.districts()}
    except Exception:  # noqa: BLE001 - any failure of one run is recorded, the sweep goes on
        return {"key": task["key"], "ok": False, "error": traceback.format_exc()}


def _worker_init() -> None:
    os.environ.setdefault("COGOV_THREADS", "1")  # one thread per worker process


# --- test-only hook (tests/test_workers.py) ------------------------------------------------
# COGOV_TEST_DIE_KEY=KEY makes a worker process (``--executor processes`` or a local Dask
# worker) kill itself (SIGKILL) when it starts task KEY, as ``kill -9`` or the out-of-memory
# killer would. With COGOV_TEST_DIE_DIR=DIR each such attempt leaves a file DIR/KEY.N, and
# COGOV_TEST_DIE_TIMES=N stops the deaths after N of them (default: every attempt). It does
# nothing unless the variable is set, and never acts in a process that has no multiprocessing
# parent (the command itself, so not in the serial executor).
def _test_die_hook(key: str) -> None:
    if os.environ.get("COGOV_TEST_DIE_KEY") != key:
        return
    import multiprocessing
    if multiprocessing.parent_process() is None:
        return
    folder = os.environ.get("COGOV_TEST_DIE_DIR")
    times = int(os.environ.get("COGOV_TEST_DIE_TIMES", "0")) or None
    if folder:
        deaths = sum(1 for name in os.listdir(folder) if name.startswith(f"{key}."))
        if times is not None and deaths >= times:
            return
        Path(folder, f"{key}.{deaths + 1}").touch()
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(9)


def _exit_with_parent(parent_pid: int) -> None:
    """Make this worker process end when its parent does (called first thing in the worker)."""
    if sys.platform.startswith("linux"):
        try:  # the kernel sends SIGTERM when the parent (the thread that started us) exits
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    import multiprocessing
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()  # its sentinel becomes ready when the parent ends
    if parent is not None and parent.sentinel is not None:
        def watch() -> None:
            wait([parent.sentinel])
            os._exit(1)
        threading.Thread(target=watch, name="cogov-parent-watch", daemon=True).start()


def _worker_main(conn, parent_pid: int) -> None:
    """A worker process of ``--executor processes``: says "ready", then runs the tasks it is sent
    (one at a time) and sends each result back, until it gets None or the pipe closes."""
    _exit_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    _worker_init()
    from .. import model  # noqa: F401 - the imports are part of starting, not of the first task

    conn.send("ready")
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        result = run_task(task)
        try:
            conn.send(result)
        except (BrokenPipeError, EOFError, ConnectionResetError):
            return
        except Exception:  # noqa: BLE001 - a result that does not pickle is this run's failure
            conn.send({"key": task["key"], "ok": False, "error": traceback.format_exc()})


def fingerprint(spec: dict, tasks: list[dict]) -> str:
    """Identifies a study: its spec and every run key (a folder holds one study)."""
    blob = json.dumps({"spec": spec, "keys": [t["key"] for t in tasks]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


@dataclass
class SweepReport:
    total: int
    skipped: int
    done: int
    failed: int
    seconds: float
    interrupted: bool = False
    rejected: list[Path] = field(default_factory=list)  # run files on disk that did not verify: redone


def run_sweep(spec: SweepSpec, scenario, out: Path, executor: str = "serial", workers: int | None = None,
              scheduler: str | None = None, progress: bool = True, spec_path: str | None = None) -> SweepReport:
    """Run (or resume) a sweep into ``out``."""
    tasks = build_tasks(spec, scenario)
    manifest = {"name": spec.name, "spec": spec.model_dump(mode="json"), "spec_path": spec_path,
                "base_scenario": scenario.model_dump(mode="json"), "root_seed": spec.seed,
                "fingerprint": fingerprint(spec.model_dump(mode="json"), tasks)}
    return run_tasks(tasks, out, manifest, executor, workers, scheduler, progress, spec.name)


def run_tasks(tasks: list[dict], out: Path, manifest: dict, executor: str = "serial", workers: int | None = None,
              scheduler: str | None = None, progress: bool = True, label: str = "runs") -> SweepReport:
    """Run (or resume) ``tasks`` into the store at ``out`` whose manifest is ``manifest`` (plus the tasks)."""
    unique = {t["key"]: t for t in tasks}  # a point repeated by a sampler is run once
    store = SweepStore(out)
    store.create({**manifest, "versions": versions(),
                  "tasks": [{k: t[k] for k in ("key", "point", "replicate", "seed", "values", "arm") if k in t}
                            for t in tasks]})
    store.remove_temporary_files()  # left by a writer killed mid-file
    done = store.done_keys()
    todo = [t for k, t in unique.items() if k not in done]
    report = SweepReport(total=len(unique), skipped=len(unique) - len(todo), done=0, failed=0, seconds=0.0,
                         rejected=list(store.rejected))
    for path in report.rejected:  # said before the runs, which redo them
        print(f"cogov: warning: {path}: incomplete or altered run file (checksum does not match); removed and "
              "run again", file=sys.stderr)
    if not todo:
        return report
    bar = None
    if progress and sys.stderr.isatty():
        from tqdm import tqdm
        bar = tqdm(total=len(unique), initial=report.skipped, desc=label, unit="run", file=sys.stderr)
    elif progress:  # a log file or a pipe: a plain line now and then instead of a bar
        bar = PlainProgress(total=len(unique), initial=report.skipped, label=label)
    t0 = time.perf_counter()

    def collect(result: dict) -> None:
        if result["ok"]:
            store.write_run(result["key"], result["timeseries"], result["summary"], unique[result["key"]],
                            result.get("districts"))
            report.done += 1
        else:
            store.write_failure(result["key"], result["error"])
            report.failed += 1
        if bar is not None:
            bar.set_postfix(failed=report.failed)
            bar.update(1)

    try:
        if executor == "serial":
            for task in todo:
                collect(run_task(task))
        elif executor == "processes":
            _run_processes(todo, workers or os.cpu_count() or 1, collect)
        elif executor == "dask":
            _run_dask(todo, workers or os.cpu_count() or 1, scheduler, collect)
        else:
            raise ValueError(f"unknown executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        report.seconds = time.perf_counter() - t0
        if bar is not None:
            bar.close()
    return report


class PlainProgress:
    """Progress of a study as plain lines on a stream that is not a terminal (a log, a pipe).

    ``label: 12/40 runs, 1 failed, 3 min elapsed, ETA 7 min`` is printed when at least
    ``every_share`` of the runs or ``every_seconds`` have gone by since the last line (checked
    as runs finish), and for the last run. Has the two methods of tqdm that ``run_tasks`` uses.
    """

    def __init__(self, total: int, initial: int = 0, label: str = "runs", stream=None,
                 every_seconds: float = 30.0, every_share: float = 0.1):
        self.total, self.n, self.initial, self.label = total, initial, initial, label
        self.stream = stream if stream is not None else sys.stderr
        self.every_seconds, self.every_runs = every_seconds, max(1, int(total * every_share))
        self.failed = 0
        self.t0 = self.last_time = time.monotonic()
        self.last_n = initial

    def set_postfix(self, failed: int = 0) -> None:
        self.failed = failed

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if self.n >= self.total or self.n - self.last_n >= self.every_runs or now - self.last_time >= self.every_seconds:
            self._print(now)

    def close(self) -> None:
        if self.n != self.last_n:  # (an interrupted study) say where it stopped
            self._print(time.monotonic())

    def _print(self, now: float) -> None:
        elapsed = now - self.t0
        line = f"{self.label}: {self.n}/{self.total} runs, {self.failed} failed, {_duration(elapsed)} elapsed"
        done_now, left = self.n - self.initial, self.total - self.n
        if done_now > 0 and left > 0:
            line += f", ETA {_duration(elapsed / done_now * left)}"
        print(line, file=self.stream, flush=True)
        self.last_n, self.last_time = self.n, now


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"exit code {code}, {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"


class _Worker:
    """One worker process of ``--executor processes`` and the task it is running (if any)."""

    def __init__(self, ctx):
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, os.getpid()), name="cogov-worker", daemon=True)
        self.process.start()
        child.close()  # only the worker holds its end: its death makes ours readable (EOF)
        self.ready = False
        self.task: tuple[dict, int] | None = None  # (task, attempt) in flight

    def give(self, task: dict, attempt: int) -> bool:
        try:
            self.conn.send(task)
        except (BrokenPipeError, ConnectionResetError, EOFError):
            return False
        self.task = (task, attempt)
        return True

    def exit_code(self) -> int | None:
        self.process.join(timeout=5)
        if self.process.exitcode is None:  # closed its pipe but hangs: end it
            self.process.kill()
            self.process.join(timeout=5)
        return self.process.exitcode


def _stop_workers(pool: list[_Worker], graceful: bool) -> None:
    """End every worker: asked to finish (after the last task) or terminated (an interrupt, an error)."""
    for w in pool:
        if graceful:
            try:
                w.conn.send(None)
            except (BrokenPipeError, ConnectionResetError, EOFError):
                pass
        else:
            w.process.terminate()
    deadline = time.monotonic() + 10
    for w in pool:
        w.process.join(timeout=max(0.0, deadline - time.monotonic()))
        if w.process.exitcode is None:
            w.process.kill()
            w.process.join(timeout=5)
        w.conn.close()


def _run_processes(tasks: list[dict], workers: int, collect) -> None:
    """Run ``tasks`` in ``workers`` spawned processes, one task in flight per process. A worker
    that dies is replaced; its task is retried, and after ``MAX_ATTEMPTS`` deaths recorded as a
    failure. Workers that cannot even start (``MAX_ATTEMPTS`` of them die before they say
    "ready", and none starts meanwhile) end the sweep with RuntimeError."""
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    queue = deque((task, 1) for task in tasks)  # (task, attempt)
    codes: dict[str, list] = {}  # task key -> exit codes of the workers that died running it
    pool: list[_Worker] = []
    failed_starts = 0
    graceful = False
    try:
        pool = [_Worker(ctx) for _ in range(min(workers, len(queue)))]
        while True:
            for w in pool:
                if w.ready and w.task is None and queue:
                    task, attempt = queue.popleft()
                    if not w.give(task, attempt):  # it died: seen below through its sentinel
                        queue.appendleft((task, attempt))
            if not queue and all(w.task is None for w in pool):
                break
            ready = set(wait([w.conn for w in pool] + [w.process.sentinel for w in pool]))
            for w in list(pool):
                dead = False
                if w.conn in ready or w.process.sentinel in ready:
                    try:
                        while w.conn.poll():  # a result sent just before dying still counts
                            message = w.conn.recv()
                            if message == "ready":
                                w.ready, failed_starts = True, 0
                            else:
                                w.task = None
                                collect(message)
                    except (EOFError, OSError):
                        dead = True
                    dead = dead or w.process.sentinel in ready
                if not dead:
                    continue
                code = w.exit_code()
                w.conn.close()
                pool.remove(w)
                if not w.ready:
                    failed_starts += 1
                    if failed_starts >= MAX_ATTEMPTS:
                        raise RuntimeError(f"worker processes exit before they start ({_exit_description(code)}, "
                                           f"{failed_starts} times); see their messages above")
                if w.task is not None:  # died running it
                    task, attempt = w.task
                    codes.setdefault(task["key"], []).append(code)
                    if attempt < MAX_ATTEMPTS:
                        queue.appendleft((task, attempt + 1))
                    else:
                        exits = codes.pop(task["key"])
                        what = (_exit_description(exits[0]) if len(set(exits)) == 1
                                else "exit codes " + ", ".join(map(str, exits)))
                        why = ("; SIGKILL comes from `kill -9` or the system's out-of-memory killer"
                               if -getattr(signal, "SIGKILL", 9) in exits else "")
                        collect({"key": task["key"], "ok": False,
                                 "error": f"worker process died ({what}) on each of {MAX_ATTEMPTS} attempts{why}\n"})
                if len(pool) < min(workers, len(queue) + sum(x.task is not None for x in pool)):
                    pool.append(_Worker(ctx))
        graceful = True
    finally:  # done (ask the idle workers to finish), or Ctrl-C / an error (terminate them)
        _stop_workers(pool, graceful)


def _run_dask(tasks: list[dict], workers: int, scheduler: str | None, collect) -> None:
    import dask
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

    try:
        from distributed import KilledWorker
    except ImportError:  # (older distributed)
        from distributed.scheduler import KilledWorker

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        # the workers' statistical profiler samples the running task every 10 ms: a heavy tax on
        # a Python-level model, and nobody reads it here
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40, env={"COGOV_THREADS": "1"})
        client = Client(cluster)
    try:
        futures = {client.submit(run_task, t, key=f"cogov-{t['key']}", pure=False): t["key"] for t in tasks}
        for future in dask_completed(list(futures)):
            try:
                result = future.result()
            except KilledWorker as exc:  # its workers died more than distributed.scheduler.allowed-failures times
                result = {"key": futures[future], "ok": False, "error": f"Dask gave up on this run: {exc}\n"}
            collect(result)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

