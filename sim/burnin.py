"""The burn-in (MODEL §12.1): a city that has been running, and its cache on disk.

A run starts from a city in its long-run regime: before reported day 0 the model runs
``burn_in`` days of the *burn-in scenario* (``city_scenario``): the run's scenario with the
baseline's levers (the ``Levers()`` defaults), no schedule, and no name, so the state at day 0
is a function of the non-lever parameters, the seed and ``burn_in`` only. Every scenario that
shares them starts from the same city (common random numbers, burn-in included).

The burned-in state is cached so that comparisons and sweeps do not pay it again. An entry is
the whole model (every mechanism, actor, array and random stream; pickled with numpy views kept
as views of their base arrays), keyed by a hash of the burn-in scenario and a code fingerprint
(the model's sources under ``sim/``, numpy, mesa, scipy, networkx and Python versions). The
state is pickled straight into the entry's file (no second copy of it in memory).

- Where: ``$COGOV_CACHE_DIR``, else ``$XDG_CACHE_HOME/cogov/burnin``, else
  ``~/.cache/cogov/burnin``. ``COGOV_CACHE=off`` (or ``CoGovernanceModel(..., cache=False)``,
  ``cogov run --no-cache``) disables it. ``cogov cache`` lists the entries, ``--clear`` empties it.
- Invalidation: a change of any non-lever parameter, of the seed or ``burn_in``, of the
  model's code or of a library version gives another key (the old entry is never read again and
  is pruned when the cache grows past ``$COGOV_CACHE_MAX_MB``, default 4096 MB, oldest use first).
- Safety: an entry is written to a temporary file and renamed into place (``os.replace``), with
  a SHA-256 checksum of its payload in its header; an entry whose header, length, checksum or
  key does not match, or that does not unpickle, is rebuilt and replaced, never used. Builders
  of the same entry take a lock on it (``fcntl.flock``; the second waits and then reads the
  first one's entry), so concurrent processes neither corrupt nor duplicate it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import pickle
import platform
import struct
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .params import Levers, Scenario

#: First bytes of an entry (the format's version is in it).
MAGIC = b"COGOV-BURNIN-1\n"
SUFFIX = ".burnin"
#: Bytes reserved for the JSON header (written after the payload, so padded to a fixed size).
HEADER_BYTES = 4096
#: Fields of the scenario that do not shape the city at day 0 (they are reset in the burn-in scenario).
NOT_IN_KEY = ("name", "description", "description_zh", "levers", "schedule", "days")
#: Parts of ``sim/`` that never run inside a model (the fingerprint ignores them).
NOT_MODEL_CODE = ("cli", "report", "experiments", "app.py", "docs.py", "bench.py")
DEFAULT_MAX_MB = 4096
#: A temporary file older than this was left by a killed writer (a live one is younger).
STALE_TMP_SECONDS = 6 * 3600


class CacheCorrupt(Exception):
    """An entry cannot be used (it is then rebuilt)."""


# ---------------------------------------------------------------------------------------------
# what determines the city at day 0
# ---------------------------------------------------------------------------------------------


def city_scenario(scenario: Scenario) -> Scenario:
    """The scenario the burn-in runs: ``scenario`` with the baseline's levers, no schedule, and a
    fixed name; ``days`` is the burn-in's length (at least 1, as the schema wants)."""
    data = scenario.model_dump()
    data.update(name="burn-in", description="", description_zh="", levers=Levers().model_dump(), schedule=[],
                days=max(scenario.burn_in, 1))
    return Scenario.model_validate(data)


_FINGERPRINT: str | None = None


def code_fingerprint() -> str:
    """A hash of the model's sources (``sim/``, without the CLI, report, experiments, app and docs)
    and of the versions of Python and the libraries the model runs on."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import mesa
        import networkx
        import scipy

        root = Path(__file__).resolve().parent
        h = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root)
            if rel.parts[0] in NOT_MODEL_CODE or "__pycache__" in rel.parts:
                continue
            h.update(str(rel.as_posix()).encode() + b"\0" + path.read_bytes() + b"\0")
        h.update(json.dumps([sys.version, platform.machine(), np.__version__, mesa.__version__,
                             scipy.__version__, networkx.__version__]).encode())
        _FINGERPRINT = h.hexdigest()[:16]
    return _FINGERPRINT


def key(city: Scenario, fingerprint: str | None = None) -> str:
    """The cache key of a burn-in scenario: its parameters (levers, schedule, name, days are fixed
    by ``city_scenario``) and the code fingerprint."""
    params = city.model_dump(mode="json")
    blob = json.dumps({"scenario": params, "code": fingerprint or code_fingerprint()}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------
# the snapshot: the whole model, numpy views kept as views
# ---------------------------------------------------------------------------------------------


class _Pickler(pickle.Pickler):
    """Pickles a model's ``__dict__``: the model itself becomes a reference, and a numpy view
    (``strategy[:, 0]`` is ``effort``) is stored as its base array and where it lies in it, so
    it is a view of the same array again after loading (plain pickling would copy it)."""

    def __init__(self, file, model):
        super().__init__(file, protocol=5)
        self.model = model

    def persistent_id(self, obj):
        if obj is self.model:
            return "model"
        if type(obj) is np.ndarray and type(obj.base) is np.ndarray:
            base = obj.base
            offset = obj.__array_interface__["data"][0] - base.__array_interface__["data"][0]
            return ("view", base, offset, obj.shape, obj.strides, obj.dtype.str)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, model):
        super().__init__(file)
        self.model = model

    def persistent_load(self, pid):
        if pid == "model":
            return self.model
        if isinstance(pid, tuple) and pid[:1] == ("view",):
            _, base, offset, shape, strides, dtype = pid
            return np.ndarray(shape, np.dtype(dtype), buffer=base, offset=offset, strides=strides)
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def snapshot(model) -> bytes:
    """The whole state of ``model`` as bytes (``restore`` puts it into another model object)."""
    buf = io.BytesIO()
    _Pickler(buf, model).dump(model.__dict__)
    return buf.getvalue()


def restore(model, data: bytes) -> None:
    """Make the bare ``model`` (not initialised) the model ``data`` was taken from."""
    state = _Unpickler(io.BytesIO(data), model).load()
    model.__dict__.update(state)
    _continue_agent_ids(model)


def _continue_agent_ids(model) -> None:
    """Mesa numbers agents from a per-model counter held by the Agent class: continue it."""
    import mesa

    ids = getattr(mesa.Agent, "_ids", None)
    if ids is not None and hasattr(model, "_agents"):
        top = max((a.unique_id for a in model._agents), default=0)
        ids[model] = itertools.count(top + 1)


# ---------------------------------------------------------------------------------------------
# the cache on disk
# ---------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Where entries live: ``$COGOV_CACHE_DIR``, else ``$XDG_CACHE_HOME/cogov/burnin``, else
    ``~/.cache/cogov/burnin``."""
    if os.environ.get("COGOV_CACHE_DIR"):
        return Path(os.environ["COGOV_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "cogov" / "burnin"


def enabled(cache: bool | None = None) -> bool:
    """Whether to use the cache: ``cache`` if given, else unless ``$COGOV_CACHE`` is off/0/no/false."""
    if cache is not None:
        return bool(cache)
    return os.environ.get("COGOV_CACHE", "on").strip().lower() not in ("off", "0", "no", "false")


def entry_path(entry_key: str) -> Path:
    return cache_dir() / f"{entry_key}{SUFFIX}"


class _HashingWriter:
    """A file that hashes and counts what is written through it."""

    def __init__(self, f):
        self.f, self.hash, self.size = f, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.hash.update(data)
        self.size += len(memoryview(data).cast("B"))
        return self.f.write(data)


class _HashingReader:
    """A file that hashes and counts what is read through it, never past ``limit`` bytes."""

    def __init__(self, f, limit: int):
        self.f, self.hash, self.size, self.limit = f, hashlib.sha256(), 0, limit

    def _take(self, data: bytes) -> bytes:
        self.hash.update(data)
        self.size += len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        left = self.limit - self.size
        return self._take(self.f.read(left if n is None or n < 0 else min(n, left)))

    def readinto(self, buf) -> int:
        view = memoryview(buf).cast("B")
        view = view[: max(0, min(len(view), self.limit - self.size))]
        n = self.f.readinto(view)
        self._take(view[:n])
        return n

    def readline(self) -> bytes:
        return self._take(self.f.readline(max(0, self.limit - self.size)))


def _header(entry_key: str, city: Scenario, sha256: str, size: int) -> bytes:
    header = json.dumps({"key": entry_key, "sha256": sha256, "size": size, "preset": city.preset,
                         "seed": city.seed, "burn_in": city.burn_in, "residents": city.n_residents(),
                         "code": code_fingerprint(),
                         "created": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}).encode()
    if len(header) > HEADER_BYTES:  # pragma: no cover - the fields are short
        raise ValueError("header too long")
    return header.ljust(HEADER_BYTES)


def read_header(f) -> dict:
    """The header of an open entry (the file then positioned at its payload); ``CacheCorrupt`` if malformed."""
    if f.read(len(MAGIC)) != MAGIC:
        raise CacheCorrupt("not a burn-in entry of this format")
    raw = f.read(4)
    if len(raw) != 4 or struct.unpack("<I", raw)[0] != HEADER_BYTES:
        raise CacheCorrupt("truncated or malformed header")
    try:
        header = json.loads(f.read(HEADER_BYTES))
    except ValueError as exc:
        raise CacheCorrupt(f"malformed header: {exc}") from None
    if not isinstance(header, dict):
        raise CacheCorrupt("malformed header")
    return header


def write_entry(path: Path, entry_key: str, city: Scenario, model) -> int:
    """Write ``model``'s state as the entry at ``path``, whole or not at all: pickled straight into a
    temporary file of the cache folder (no copy of the state in memory) while its checksum is
    computed, the header written last, then the file renamed into place (``os.replace``).
    Returns the entry's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w+b") as f:
            f.write(MAGIC + struct.pack("<I", HEADER_BYTES) + b" " * HEADER_BYTES)
            out = _HashingWriter(f)
            _Pickler(out, model).dump(model.__dict__)
            f.seek(len(MAGIC) + 4)
            f.write(_header(entry_key, city, out.hash.hexdigest(), out.size))
            f.flush()
            os.fsync(f.fileno())
            size = f.seek(0, os.SEEK_END)
        os.replace(tmp, path)
        return size
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_entry(path: Path, entry_key: str, model) -> None:
    """Restore the bare ``model`` from the entry at ``path``; ``CacheCorrupt`` (or the error of a
    damaged pickle) if the key, length or checksum does not match: the state is then not to be used."""
    with open(path, "rb") as f:
        header = read_header(f)
        if header.get("key") != entry_key:
            raise CacheCorrupt("entry of another key")
        size = header.get("size")
        if not isinstance(size, int) or os.fstat(f.fileno()).st_size != f.tell() + size:
            raise CacheCorrupt(f"truncated or padded: {os.fstat(f.fileno()).st_size - f.tell()} of {size} bytes")
        src = _HashingReader(f, size)
        state = _Unpickler(src, model).load()
        src.read()  # whatever the pickle did not read still counts
        if src.size != size or src.hash.hexdigest() != header.get("sha256"):
            raise CacheCorrupt("checksum mismatch")
    model.__dict__.update(state)
    _continue_agent_ids(model)


def verify(path: Path) -> bool:
    """Whether the entry at ``path`` is whole: its payload has the length and checksum of its header."""
    with open(path, "rb") as f:
        header = read_header(f)
        h = hashlib.sha256()
        n = 0
        while chunk := f.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return n == header.get("size") and h.hexdigest() == header.get("sha256")


@contextmanager
def building(path: Path):
    """Hold the lock of an entry while it is looked up and built (no-op where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def load_into(model, city: Scenario, path: Path, entry_key: str) -> bool:
    """Restore ``model`` from the entry at ``path`` if it is there and sound; False otherwise (a
    corrupt entry is removed, so that it is rebuilt)."""
    if not path.is_file():
        return False
    try:
        read_entry(path, entry_key, model)
        if model.p != city or model.day != city.burn_in:
            raise CacheCorrupt("entry holds another city")
    except (CacheCorrupt, OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError,
            ValueError, KeyError, IndexError, MemoryError, struct.error) as exc:
        model.__dict__.clear()
        model.cache_problem = f"{path.name}: {exc}"
        path.unlink(missing_ok=True)
        return False
    os.utime(path)  # last use, for pruning
    return True


def prune(keep: Path | None = None) -> None:
    """Remove the least recently used entries until the cache is under ``$COGOV_CACHE_MAX_MB``."""
    try:
        limit = float(os.environ.get("COGOV_CACHE_MAX_MB", DEFAULT_MAX_MB)) * 2**20
    except ValueError:
        limit = DEFAULT_MAX_MB * 2**20
    now = time.time()
    for tmp in cache_dir().glob(f".*{SUFFIX}.*.tmp"):  # left by a writer that was killed
        if now - _stat(tmp, "st_mtime", now) > STALE_TMP_SECONDS:
            tmp.unlink(missing_ok=True)
    # other processes write, rename and remove entries meanwhile: a file gone is simply skipped
    files = sorted(cache_dir().glob(f"*{SUFFIX}"), key=lambda p: _stat(p, "st_mtime", now))
    sizes = {p: _stat(p, "st_size", 0) for p in files}
    total = sum(sizes.values())
    for p in files:
        if total <= limit:
            break
        if p != keep:
            total -= sizes[p]
            p.unlink(missing_ok=True)
            p.with_suffix(".lock").unlink(missing_ok=True)


def _stat(path: Path, field: str, missing: float) -> float:
    """``path.stat().field``, or ``missing`` if another process removed the file meanwhile."""
    try:
        return getattr(path.stat(), field)
    except FileNotFoundError:
        return missing


def burned_in(model, city: Scenario, build, cache: bool | None = None) -> str:
    """Bring the bare ``model`` to day 0 of ``city``: from the cache, or by ``build(model, city)``
    (which builds and runs the burn-in) and then stored. Returns where the state came from:
    ``"cache"``, ``"built"`` (and stored) or ``"built, not cached"``."""
    if not enabled(cache) or city.burn_in == 0:
        build(model, city)
        return "built, not cached"
    entry_key = key(city)
    path = entry_path(entry_key)
    built = False
    try:
        with building(path):
            if load_into(model, city, path, entry_key):
                return "cache"
            problem = model.__dict__.pop("cache_problem", None)
            build(model, city)
            built = True
            write_entry(path, entry_key, city, model)
            if problem is not None:  # an entry was there and was not used (the caller may say so)
                model.cache_problem = problem
    except OSError as exc:  # an unwritable cache folder must not stop a run
        if not built:
            model.__dict__.clear()
            build(model, city)
        model.cache_problem = f"cache not used: {exc}"
        return "built, not cached"
    prune(keep=path)
    return "built"


# ---------------------------------------------------------------------------------------------
# listing and clearing (``cogov cache``)
# ---------------------------------------------------------------------------------------------


def entries() -> list[dict]:
    """The entries in the cache: file, size in bytes, last use, and what their header says."""
    out = []
    folder = cache_dir()
    for p in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        info = {"file": str(p), "bytes": p.stat().st_size,
                "used": time.strftime("%Y-%m-%d %H:%M", time.gmtime(p.stat().st_mtime))}
        try:
            with open(p, "rb") as f:
                info.update(read_header(f))
            info["current_code"] = info.get("code") == code_fingerprint()
        except (CacheCorrupt, OSError) as exc:
            info["problem"] = str(exc)
        out.append(info)
    return out


def clear() -> tuple[int, int]:
    """Remove every entry (and lock and temporary file) of the cache; returns (files, bytes) removed."""
    folder = cache_dir()
    n = size = 0
    if not folder.is_dir():
        return 0, 0
    for p in folder.iterdir():
        if p.suffix in (SUFFIX, ".lock", ".tmp") and p.is_file():
            size += p.stat().st_size
            p.unlink(missing_ok=True)
            n += p.suffix == SUFFIX
    return n, size
