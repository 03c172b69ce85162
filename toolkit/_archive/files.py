"""Where the archive's files live, and how one appears: written aside, then renamed.

``<root>/calls/day=YYYY-MM-DD/<writer>-<n>.parquet`` and the same under ``events/``:
Hive-style partitions by UTC day, which pyarrow, DuckDB and polars understand. A file
is written to a hidden temporary name in its partition (``.<name>.<pid>.tmp``, which
readers skip), synced to disk and renamed over its final name, so a reader sees a
whole old version or a whole new one, never a torn file. A writer killed mid-write
leaves only its temporary file, removed by the next writer once its process is gone.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path

from toolkit._archive.schema import pa

try:
    import pyarrow.parquet as pq
except ImportError as exc:  # pragma: no cover - pyarrow imported above already
    from toolkit._archive.extras import missing

    raise missing("toolkit.Archive", exc) from exc

KINDS = ("calls", "events")
ROW_GROUP = 8_192
"""Rows per row group: small enough that one integration's rows skip most of a file."""
COMPRESSION = "zstd"
STALE_S = 3_600.0
"""A temporary file this old is removed even when its process seems alive."""
_EPOCH = date(1970, 1, 1)


def day_name(day: int) -> str:
    """The partition directory of a UTC day given as days since the epoch."""
    return f"day={_EPOCH + timedelta(days=int(day))}"


def partition(root: Path, kind: str, day: int) -> Path:
    """The directory of ``kind``'s rows of ``day``."""
    return root / kind / day_name(day)


def write_atomically(path: Path, table: pa.Table, metadata: Mapping[str, str] | None) -> int:
    """Write ``table`` to ``path`` through a temporary file and a rename; return its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if metadata:
        table = table.replace_schema_metadata(dict(metadata))
    temporary = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        with temporary.open("wb") as sink:
            pq.write_table(
                table, sink, compression=COMPRESSION, row_group_size=ROW_GROUP,
                write_statistics=True,
            )  # fmt: skip
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return path.stat().st_size


def data_files(
    root: Path, kind: str, first: str | None = None, last: str | None = None
) -> list[Path]:
    """``kind``'s Parquet files in partitions from day ``first`` to ``last`` (ISO dates)."""
    base = root / kind
    if not base.is_dir():
        return []
    files: list[Path] = []
    for folder in sorted(base.iterdir()):
        name = folder.name
        if not name.startswith("day=") or not folder.is_dir():
            continue
        day = name[4:]
        if (first is not None and day < first) or (last is not None and day > last):
            continue
        files.extend(
            sorted(p for p in folder.iterdir() if p.suffix == ".parquet" and p.name[0] not in "._")
        )
    return files


def days(root: Path, kind: str) -> list[date]:
    """The UTC days that have a partition of ``kind``."""
    base = root / kind
    if not base.is_dir():
        return []
    found = []
    for folder in base.iterdir():
        if folder.name.startswith("day="):
            with contextlib.suppress(ValueError):
                found.append(date.fromisoformat(folder.name[4:]))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(root: Path) -> int:
    """Remove temporary files that writers killed mid-write left behind; return how many."""
    removed = 0
    now = time.time()
    for kind in KINDS:
        for temporary in (root / kind).glob("day=*/.*.tmp"):
            pid_text = temporary.name.rsplit(".", 2)[-2]
            try:
                pid = int(pid_text)
                old = now - temporary.stat().st_mtime > STALE_S
            except (ValueError, OSError):
                continue
            if pid != os.getpid() and (old or not _alive(pid)):
                with contextlib.suppress(OSError):
                    temporary.unlink()
                    removed += 1
    return removed
