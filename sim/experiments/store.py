"""A sweep's folder: manifest, one Parquet file per finished run, failures. Resumable.

    DIR/manifest.json         spec, versions, root seed, every task (key, point, replicate, values)
    DIR/runs/KEY.parquet      the run's time series (thinned); its summary row and parameter values
                              are in the file's metadata (key b"cogov")
    DIR/failures/KEY.txt      the traceback of a run that raised

Every file is written to a temporary name and renamed into place (atomic), so a sweep killed
at any moment leaves only complete files; rerunning skips the runs already on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..io import atomic_write_bytes

META_KEY = b"cogov"


class SweepStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.failures = self.root / "failures"

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
        return json.loads(self.manifest_path.read_text())

    def remove_temporary_files(self) -> None:
        for folder in (self.runs, self.failures):
            if folder.is_dir():
                for tmp in folder.glob(".*"):
                    tmp.unlink(missing_ok=True)

    def done_keys(self) -> set[str]:
        return {p.stem for p in self.runs.glob("*.parquet")} if self.runs.is_dir() else set()

    def write_run(self, key: str, timeseries: pd.DataFrame, summary: dict, task: dict) -> None:
        table = pa.Table.from_pandas(timeseries, preserve_index=False)
        meta = {"key": key, "point": task["point"], "replicate": task["replicate"], "seed": task["seed"],
                "values": task["values"], "summary": summary}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               META_KEY: json.dumps(meta, allow_nan=True).encode()})
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        atomic_write_bytes(self.runs / f"{key}.parquet", sink.getvalue().to_pybytes())
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
        cache: dict[str, dict] = {}
        rows = []
        for task in self.manifest()["tasks"]:
            path = self.runs / f"{task['key']}.parquet"
            if task["key"] not in cache:
                if not path.is_file():
                    continue
                cache[task["key"]] = self.read_meta(path)["summary"]
            rows.append({"key": task["key"], "point": task["point"], "replicate": task["replicate"],
                         "seed": task["seed"], **task["values"], **cache[task["key"]]})
        return pd.DataFrame(rows)

    def timeseries(self) -> pd.DataFrame:
        """All runs' (thinned) time series, with key, point and replicate columns."""
        frames = []
        for path in sorted(self.runs.glob("*.parquet")):
            meta = self.read_meta(path)
            df = pq.read_table(path).to_pandas()
            df.insert(0, "replicate", meta["replicate"])
            df.insert(0, "point", meta["point"])
            df.insert(0, "key", meta["key"])
            frames.append(df)
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
