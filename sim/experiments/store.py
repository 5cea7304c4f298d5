"""A sweep's folder: manifest, one Parquet file per finished run, failures. Resumable and verified.

    DIR/manifest.json         spec, versions, root seed, every task (key, point, replicate, values)
    DIR/runs/KEY.parquet      the run's time series (thinned); its summary row, parameter values and
                              district table are in the file's metadata (key b"cogov")
    DIR/runs/KEY.sha256       the run file's SHA-256 and size, written after it
    DIR/failures/KEY.txt      the traceback of a run that raised

Every file is written to a temporary name and renamed into place (atomic), so a sweep killed at
any moment leaves only complete files. Whatever else damages a run file (a full disk, a copy cut
short, a hand edit) is caught by its checksum: a resume redoes the runs whose files do not verify,
and reading a folder skips them and names them. A manifest is validated before any key in it
is used as a file name.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..io import OutputError, atomic_write_bytes
from ..params import KEY_PATTERN

META_KEY = b"cogov"


class StoreError(OutputError):
    """A sweep folder's manifest cannot be used (the message names the file and the key)."""


class _Task(BaseModel):
    model_config = ConfigDict(strict=True)
    key: str = Field(pattern=KEY_PATTERN)  # a file name: no separator, no dot
    point: int = Field(ge=0)
    replicate: int = Field(ge=0)
    seed: int = Field(ge=0)
    values: dict[str, float]
    arm: int | None = Field(None, ge=0)  # a sweep with effects: 0 the point itself, 1... its reform arms


class _Manifest(BaseModel):
    """What this module and the analyses read of a manifest; other keys are kept as they are."""
    model_config = ConfigDict(strict=True, extra="allow")
    fingerprint: str
    spec: dict
    tasks: list[_Task]


def _digest(data: bytes) -> str:
    return f"{hashlib.sha256(data).hexdigest()} {len(data)}"


class SweepStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.failures = self.root / "failures"
        #: run files found damaged (not verified) by the last reads: skipped, or removed to be redone
        self.rejected: list[Path] = []

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def create(self, manifest: dict) -> None:
        """Start a new sweep folder, or check that an existing one holds the same sweep."""
        if self.exists():
            old = self.manifest()
            if old.get("fingerprint") != manifest["fingerprint"]:
                raise FileExistsError(f"{self.root} holds a different sweep ({old.get('name')!r}); "
                                      "use another --out or remove it")
            return
        self.runs.mkdir(parents=True, exist_ok=True)
        self.failures.mkdir(exist_ok=True)
        atomic_write_bytes(self.manifest_path, json.dumps(manifest, indent=1).encode())

    def manifest(self) -> dict:
        """The manifest, validated (``StoreError`` naming the file and the key if it cannot be used)."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            _Manifest.model_validate(data)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                from ..params import format_error
                detail = format_error(self.manifest_path, exc, _Manifest)
            else:
                detail = f"{self.manifest_path}: not a readable JSON manifest ({exc})"
            raise StoreError(f"{detail}\n(not a folder written by cogov, or damaged: start the study in a new "
                             "--out)") from None
        return data

    def remove_temporary_files(self) -> None:
        """Temporaries of a writer killed mid-file (the folder is held by one command: ``io.folder_lock``)."""
        for folder in (self.runs, self.failures):
            if folder.is_dir():
                for tmp in folder.glob(".*"):
                    tmp.unlink(missing_ok=True)

    def done_keys(self) -> set[str]:
        """Keys of the runs on disk whose files verify. A file that does not is removed (so that its
        run is done again) and its name kept in ``self.rejected``."""
        if not self.runs.is_dir():
            return set()
        done = set()
        for path in sorted(self.runs.glob("*.parquet")):
            if self.verify(path):
                done.add(path.stem)
            else:
                self.rejected.append(path)
                path.unlink(missing_ok=True)
                path.with_suffix(".sha256").unlink(missing_ok=True)
        return done

    def verify(self, path: Path) -> bool:
        """Whether a run file is whole: its recorded checksum, and its Parquet footer and metadata are readable."""
        try:
            data = path.read_bytes()
            if _digest(data) != path.with_suffix(".sha256").read_text().strip():
                return False
            return self.read_meta(path).get("key") == path.stem
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
            return False

    def write_run(self, key: str, timeseries: pd.DataFrame, summary: dict, task: dict,
                  districts: pd.DataFrame | None = None) -> None:
        table = pa.Table.from_pandas(timeseries, preserve_index=False)
        meta = {"key": key, "point": task["point"], "replicate": task["replicate"], "seed": task["seed"],
                "values": task["values"], "summary": summary}
        if districts is not None:  # one record per district (``metrics.district_table``)
            meta["districts"] = districts.to_dict("records")
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               META_KEY: json.dumps(meta, allow_nan=True).encode()})
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        data = sink.getvalue().to_pybytes()
        # the checksum first: a run counts once its file is there, and then its checksum is there too
        atomic_write_bytes(self.runs / f"{key}.sha256", (_digest(data) + "\n").encode())
        atomic_write_bytes(self.runs / f"{key}.parquet", data)
        (self.failures / f"{key}.txt").unlink(missing_ok=True)

    def write_failure(self, key: str, text: str) -> None:
        atomic_write_bytes(self.failures / f"{key}.txt", text.encode())

    @staticmethod
    def read_meta(path: Path) -> dict:
        return json.loads(pq.read_schema(path).metadata[META_KEY])

    def summaries(self) -> pd.DataFrame:
        """One row per task of the manifest whose run is finished: key, point, replicate, seed,
        parameter values and every KPI (a run shared by two points, as Morris may repeat a
        point, appears under both)."""
        cache: dict[str, dict | None] = {}
        rows = []
        for task in self.manifest()["tasks"]:
            path = self.runs / f"{task['key']}.parquet"
            if task["key"] not in cache:
                cache[task["key"]] = self._summary(path) if path.is_file() else None
            if cache[task["key"]] is None:
                continue
            arm = {"arm": task["arm"]} if "arm" in task else {}  # a sweep with effects: 0 the point, 1... its arms
            rows.append({"key": task["key"], "point": task["point"], "replicate": task["replicate"],
                         "seed": task["seed"], **arm, **task["values"], **cache[task["key"]]})
        return pd.DataFrame(rows)

    def districts(self) -> pd.DataFrame:
        """One row per district of each task whose run is finished and holds a district table (runs
        written before cogov stored one have none): key, point, replicate, then the district's columns."""
        rows = []
        for task in self.manifest()["tasks"]:
            path = self.runs / f"{task['key']}.parquet"
            if not (path.is_file() and self.verify(path)):
                continue
            ids = {"key": task["key"], "point": task["point"], "replicate": task["replicate"]}
            rows += [{**ids, **d} for d in self.read_meta(path).get("districts", [])]
        return pd.DataFrame(rows)

    def _summary(self, path: Path) -> dict | None:
        """A verified run file's summary; None (the file named in ``self.rejected``) if it does not verify."""
        if not self.verify(path):
            self.rejected.append(path)
            return None
        return self.read_meta(path)["summary"]

    def timeseries(self) -> pd.DataFrame:
        """All runs' (thinned) time series, with key, point and replicate columns."""
        frames = []
        for path in sorted(self.runs.glob("*.parquet")):
            if not self.verify(path):
                self.rejected.append(path)
                continue
            meta = self.read_meta(path)
            df = pq.read_table(path).to_pandas()
            df.insert(0, "replicate", meta["replicate"])
            df.insert(0, "point", meta["point"])
            df.insert(0, "key", meta["key"])
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
