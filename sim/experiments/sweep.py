"""Running a sweep: tasks through an executor (serial, local processes, Dask), results to a store.

Each task is one (point, replicate) run, identified by a stable key. Finished runs are
written by this process as they arrive (atomic files), so an interrupted sweep (Ctrl-C,
``kill -9``, a lost worker) is resumed by running the same command again: runs on disk are
skipped, the rest are done. A run that raises is recorded in ``failures/`` and the sweep goes on.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path

from ..io import versions
from .spec import SweepSpec, build_tasks
from .store import SweepStore

EXECUTORS = ("serial", "processes", "dask")


def run_task(task: dict) -> dict:
    """Run one task (in any process); returns its key and either its results or a traceback."""
    try:
        from ..model import CoGovernanceModel
        from ..params import load_scenario

        model = CoGovernanceModel(load_scenario(task["scenario"]))
        model.run()
        ts = model.timeseries()
        ts = ts[ts["day"] % task["thin"] == 0].reset_index(drop=True)
        return {"key": task["key"], "ok": True, "timeseries": ts, "summary": model.summary()}
    except Exception:  # noqa: BLE001 - any failure of one run is recorded, the sweep goes on
        return {"key": task["key"], "ok": False, "error": traceback.format_exc()}


def _worker_init() -> None:
    os.environ.setdefault("COGOV_THREADS", "1")  # one thread per worker process


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
                  "tasks": [{k: t[k] for k in ("key", "point", "replicate", "seed", "values")} for t in tasks]})
    store.remove_temporary_files()  # left by a writer killed mid-file
    done = store.done_keys()
    todo = [t for k, t in unique.items() if k not in done]
    report = SweepReport(total=len(unique), skipped=len(unique) - len(todo), done=0, failed=0, seconds=0.0)
    if not todo:
        return report
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(unique), initial=report.skipped, desc=label, unit="run", file=sys.stderr,
                   disable=None if sys.stderr.isatty() else True)
    t0 = time.perf_counter()

    def collect(result: dict) -> None:
        if result["ok"]:
            store.write_run(result["key"], result["timeseries"], result["summary"], unique[result["key"]])
            report.done += 1
        else:
            store.write_failure(result["key"], result["error"])
            report.failed += 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(failed=report.failed)

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


def _run_processes(tasks: list[dict], workers: int, collect) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        pending = set()
        it = iter(tasks)
        try:
            for task in it:  # keep a bounded number of tasks in flight
                pending.add(pool.submit(run_task, task))
                if len(pending) >= 2 * workers:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        collect(f.result())
            for f in as_completed(pending):
                collect(f.result())
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _run_dask(tasks: list[dict], workers: int, scheduler: str | None, collect) -> None:
    import dask
    from distributed import Client, LocalCluster
    from distributed import as_completed as dask_completed

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
        futures = [client.submit(run_task, t, key=f"cogov-{t['key']}", pure=False) for t in tasks]
        for future in dask_completed(futures):
            collect(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

