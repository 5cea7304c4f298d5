"""``cogov reproduce``: the sources' seven claims (MODEL §10) tested by designed experiments
(``sim.experiments.claims``), the findings written by ``sim.report.findings``.

Its own parser (one error line instead of argparse's usage + message); exit codes 0 ok, 1 failed
runs, 2 bad option, 130 interrupted.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import shlex
import sys
import time
from pathlib import Path

from ..params import PRESETS, ScenarioError
from .common import add_executor_options, check_days, fail, failed_runs, interrupted, print_written, runs_at_once, warn

COMMAND = "reproduce"


class _OptionError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one clear line, exit code 2, instead of usage + message
        raise _OptionError(message)


def build_parser() -> argparse.ArgumentParser:
    from ..experiments.claims import DEFAULT_MEMBERS, DEFAULT_PRESET, DEFAULT_REPS, REFERENCE

    p = _Parser(
        prog="cogov reproduce",
        description="Test the sources' seven claims (MODEL.md §10) with designed experiments, on each of --members "
                    "parameter sets drawn from the calibrated ensemble (scenarios/calibration/posterior.parquet): "
                    "each claim's arms are the member's baseline with a few levers changed; replicate r uses the "
                    "same seed in every arm (common random numbers), and each test is a paired contrast with a "
                    "Holm-adjusted paired-t CI, judged against the KPI's minimum important difference (cogov kpis): "
                    "supported / reversed / not supported / inconclusive per member, and across the members "
                    "supported / reversed / not supported when 80% of them agree, else depends on parameters "
                    "(or inconclusive). Writes findings.csv, findings_effects.png and FINDINGS.md into --out, and "
                    "the markdown to --findings. Resumable: rerunning the same command reuses finished runs.",
        epilog="Defaults (20 members x 14 arms x 5 replicates at the city preset) take one to two hours on two "
               "cores. For teaching or a quick look: cogov reproduce --members 0 --preset classroom --reps 3 "
               "--days 120")
    p.add_argument("--reps", type=int, default=DEFAULT_REPS, help=f"replicates per arm (default {DEFAULT_REPS})")
    p.add_argument("--members", type=int,
                   help=f"parameter sets drawn from the calibrated ensemble (default {DEFAULT_MEMBERS}, or 0 when "
                        "no ensemble is committed); 0: the committed best point alone")
    p.add_argument("--posterior", metavar="PATH",
                   help="the ensemble to draw from (default scenarios/calibration/posterior.parquet)")
    p.add_argument("--preset", default=DEFAULT_PRESET, choices=sorted(PRESETS), metavar="NAME",
                   help=f"structure preset: {', '.join(sorted(PRESETS))} (default {DEFAULT_PRESET})")
    p.add_argument("--days", type=int, help="days per run (default: the baseline scenario's, 365)")
    p.add_argument("--seed", type=int, default=1, help="root seed of the replicates (default 1)")
    p.add_argument("--out", help="study folder (default: out/reproduce/<id of this study>); rerun to resume")
    p.add_argument("--findings", metavar="PATH",
                   help="also write the markdown here (default: docs/FINDINGS.md when run from the cogov "
                        f"repository at the reference settings, city preset, {REFERENCE['reps']} or more replicates, "
                        f"{REFERENCE['days']} or more days and {REFERENCE['members']} or more ensemble members; else "
                        "only OUT/FINDINGS.md); its figure is written beside it")
    add_executor_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; print only the table and paths")
    return p


def in_cogov_repository(cwd: Path) -> bool:
    """Whether ``cwd`` is the cogov repository: ``./docs`` and a ``./pyproject.toml`` naming cogov."""
    pp = cwd / "pyproject.toml"
    if not ((cwd / "docs").is_dir() and pp.is_file()):
        return False
    try:
        import tomllib
        return tomllib.loads(pp.read_text(encoding="utf-8")).get("project", {}).get("name") == "cogov"
    except (OSError, ValueError):
        return False


def main(argv: list[str] | None = None) -> int:
    """``cogov reproduce [options]``; returns the exit code (0 ok, 1 failed runs, 2 bad option, 130 interrupted)."""
    from ..experiments.claims import (
        CLAIMS,
        DEFAULT_MEMBERS,
        analyse,
        arm_names,
        arm_text,
        build_study,
        record_timing,
        run_study,
        small_note,
        study_spec,
        study_tasks,
    )
    from ..experiments.ensemble import default_posterior_path
    from ..experiments.sweep import fingerprint
    from ..io import OutputError, check_writable, folder_lock, git_state
    from ..memory import MemoryNeedError, check_memory
    from ..report.findings import text_table, write_findings

    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    try:
        args = build_parser().parse_args(argv)
    except _OptionError as exc:
        return fail(f"{exc} (see cogov reproduce --help)", COMMAND)
    if args.reps < 1:
        return fail(f"--reps must be at least 1 (got {args.reps})", COMMAND)
    if args.members is not None and args.members < 0:
        return fail(f"--members must be 0 or more (got {args.members})", COMMAND)
    no_ensemble = args.members is None and not (args.posterior or default_posterior_path().is_file())
    if args.members is None:
        args.members = 0 if no_ensemble else DEFAULT_MEMBERS
    if args.workers is not None and args.workers < 1:
        return fail(f"--workers must be at least 1 (got {args.workers})", COMMAND)
    if (bad := check_days(args.days, COMMAND)) is not None:
        return bad
    if args.seed < 0:
        return fail(f"--seed must be 0 or more (got {args.seed})", COMMAND)
    if args.scheduler and args.executor != "dask":
        return fail("--scheduler needs --executor dask", COMMAND)
    for opt in ("out", "findings"):
        if getattr(args, opt) is not None and not getattr(args, opt).strip():
            return fail(f"--{opt} must not be empty", COMMAND)
    t0 = time.perf_counter()
    try:
        arms, values = build_study(args.preset, args.days, args.members, args.seed, args.posterior)
    except ScenarioError as exc:
        return fail(str(exc), COMMAND)
    spec = study_spec(arms, args.reps, args.seed, values)
    out = Path(args.out) if args.out else Path("out") / "reproduce" / fingerprint(
        spec, study_tasks(arms, args.reps, args.seed))[:10]
    first = arms[0]
    if args.findings is not None:
        findings = Path(args.findings)
    else:
        # the committed findings are replaced only by a study at the reference settings, never by a quick look
        reference = not small_note(args.preset, args.reps, first[0].days, args.members)
        findings = Path("docs") / "FINDINGS.md" if reference and in_cogov_repository(Path.cwd()) else None
    try:
        check_writable(out)
        if findings is not None:
            if findings.is_dir():
                return fail(f"--findings {findings}: is a folder; give a file path such as {findings}/FINDINGS.md",
                            COMMAND)
            check_writable(findings.parent)
    except OutputError as exc:
        msg = str(exc)
        if findings is not None and msg.startswith(f"--out {findings.parent}"):
            msg = msg.replace(f"--out {findings.parent}", f"--findings {findings}", 1)
        return fail(msg, COMMAND)
    if no_ensemble:
        warn("no calibrated ensemble is committed yet (scenarios/calibration/posterior.parquet): testing at the "
             "fitted point alone, so the intervals hold simulation noise only", COMMAND)
    if args.reps < 2:
        warn("with one replicate no confidence interval exists: every member's verdict will be 'inconclusive'",
             COMMAND)
    who = f"{args.members} ensemble members x " if args.members else ""
    if not args.quiet:
        print(f"reproduce: {who}{len(first)} arms x {args.reps} replicates at the {args.preset} preset, "
              f"{first[0].days} days, root seed {args.seed} -> {out}/", file=sys.stderr)
    commit, dirty = git_state()  # the code the runs start with
    try:
        check_memory(first[0], runs_at_once(args.executor, args.workers, args.scheduler), f"--preset {args.preset}")
        with folder_lock(out, COMMAND):
            report = run_study(arms, args.reps, out, args.seed, args.executor, args.workers, args.scheduler,
                               progress=not args.quiet, values=values)
    except (FileExistsError, OutputError, MemoryNeedError) as exc:
        return fail(str(exc), COMMAND)
    except KeyboardInterrupt:
        report = None
    if report is None or report.interrupted:
        return interrupted(command=COMMAND)
    if report.failed:
        return failed_runs(report.failed, out, "rerun the same command to retry them", COMMAND)
    try:
        table = analyse(out)
        from .. import __version__
        timing = record_timing(out, report.seconds, report.done)
        wall = time.perf_counter() - t0
        meta = {"command": shlex.join(["cogov", "reproduce", *argv]), "date": _dt.datetime.now().astimezone()
                .strftime("%Y-%m-%d %H:%M %Z"), "version": __version__, "commit": commit, "dirty": dirty,
                "preset": args.preset, "days": first[0].days, "reps": args.reps, "seed": args.seed,
                "members": args.members, "residents": first[0].n_residents(), "arms": len(first), "runs": report.total,
                "reused": report.skipped, "wall": wall,
                "compute_total": timing["run_seconds"], "invocations": timing["invocations"],
                "small": small_note(args.preset, args.reps, first[0].days, args.members)}
        arm_texts = {name: arm_text(name, first[0]) for name in arm_names(CLAIMS)}
        written = write_findings(table, meta, out, findings, CLAIMS, arm_texts)
    except KeyboardInterrupt:
        return interrupted("interrupted while writing the findings; the runs are on disk: rerun to finish", COMMAND)
    except OSError as exc:
        return fail(f"cannot write the findings: {exc}", COMMAND)
    print(text_table(table))
    print(f"{who}{len(first)} arms x {args.reps} replicates ({report.total} runs, {report.skipped} reused) "
          f"in {wall:.0f} s (wall time)")
    print_written("findings", written, (".md", ".csv"))
    return 0
