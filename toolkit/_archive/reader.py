"""Reading an archive: only the day partitions a time range needs, and in each file only
the row groups whose statistics (name, time) can hold a wanted row; files side by side.

Each file is opened once and read through that one handle, so a writer renaming a new
version over it meanwhile changes nothing for this read.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit._archive.files import data_files
from toolkit._archive.schema import SCHEMAS, TIME, TIME_FIELD, pa, pc
from toolkit._engine.errors import ConfigError

try:
    import pyarrow.parquet as pq
except ImportError as exc:  # pragma: no cover - pyarrow imported above already
    from toolkit._archive.extras import missing

    raise missing("toolkit.Archive", exc) from exc

When = datetime | date | pd.Timestamp | str | None
READERS = min(8, os.cpu_count() or 1)
"""Files read at once."""


@dataclass(frozen=True, slots=True)
class Scan:
    """What one read touched: files opened, row groups read of those files', rows kept."""

    files: int = 0
    row_groups: int = 0
    row_groups_total: int = 0
    rows: int = 0


def moment(value: When, label: str) -> pd.Timestamp | None:
    """A bound as a UTC timestamp; a naive one is taken as UTC, a date as its midnight."""
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{label} must be a datetime, a date or an ISO 8601 text, got {value!r}"
        ) from exc
    if pd.isna(stamp):
        raise ConfigError(f"{label} must be a moment, got {value!r}")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def wanted_names(names: str | Iterable[str] | None) -> list[str] | None:
    """``names`` as a sorted list (a single name may be given as a string)."""
    if names is None:
        return None
    listed = [names] if isinstance(names, str) else list(names)
    if not all(isinstance(n, str) for n in listed):
        raise ConfigError(f"names must be integration names (strings), got {names!r}")
    return sorted(set(listed))


def read(
    root: Path, kind: str, since: When = None, until: When = None, names: Any = None
) -> tuple[pa.Table, Scan]:
    """``kind``'s rows with ``since <= time < until`` of ``names`` (None: no bound)."""
    start, end = moment(since, "since"), moment(until, "until")
    wanted = wanted_names(names)
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"until ({end}) must come after since ({start})")
    first = start.date().isoformat() if start is not None else None
    last = (end - pd.Timedelta(microseconds=1)).date().isoformat() if end is not None else None
    files = data_files(root, kind, first, last)
    schema = SCHEMAS[kind]
    field = TIME_FIELD[kind]

    def one(path: Path) -> tuple[pa.Table | None, int, int]:
        try:
            handle = path.open("rb")
        except FileNotFoundError:  # sealed and removed by hand meanwhile
            return None, 0, 0
        with handle:
            parquet = pq.ParquetFile(handle)
            keep = _row_groups(parquet, field, start, end, wanted)
            found = (
                parquet.read_row_groups(keep).select(schema.names).cast(schema) if keep else None
            )
            return found, len(keep), parquet.metadata.num_row_groups

    # Files are read side by side (pyarrow releases the GIL while it decodes).
    with ThreadPoolExecutor(max_workers=min(READERS, max(1, len(files)))) as pool:
        results = list(pool.map(one, files))
    tables = [found for found, _, _ in results if found is not None]
    groups = sum(kept for _, kept, _ in results)
    total = sum(count for _, _, count in results)
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    mask = None
    if start is not None:
        mask = pc.greater_equal(table[field], pa.scalar(start.to_pydatetime(), TIME))
    if end is not None:
        below = pc.less(table[field], pa.scalar(end.to_pydatetime(), TIME))
        mask = below if mask is None else pc.and_(mask, below)
    if wanted is not None:
        named = pc.is_in(table["name"], value_set=pa.array(wanted, pa.string()))
        mask = named if mask is None else pc.and_(mask, named)
    if mask is not None:
        table = table.filter(mask)
    return table, Scan(len(files), groups, total, len(table))


def _row_groups(
    parquet: pq.ParquetFile,
    field: str,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    wanted: Sequence[str] | None,
) -> list[int]:
    """The row groups whose min/max statistics may hold a wanted row."""
    meta = parquet.metadata
    names = parquet.schema_arrow.names
    name_at, time_at = names.index("name"), names.index(field)
    keep = []
    for index in range(meta.num_row_groups):
        group = meta.row_group(index)
        if wanted is not None:
            stats = group.column(name_at).statistics
            if stats is not None and stats.has_min_max:
                at = bisect.bisect_left(wanted, stats.min)
                if at == len(wanted) or wanted[at] > stats.max:
                    continue
        if start is not None or end is not None:
            stats = group.column(time_at).statistics
            if stats is not None and stats.has_min_max:
                low, high = pd.Timestamp(stats.min), pd.Timestamp(stats.max)
                if (start is not None and high < start) or (end is not None and low >= end):
                    continue
        keep.append(index)
    return keep
