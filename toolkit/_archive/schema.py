"""The archive's two tables as Arrow schemas, and their conversions to and from frames.

Calls keep the columns of ``frames.calls`` plus who wrote them (``worker``, and
``source`` and ``seq``: a writer's random id and its running number, so a record is
known again wherever it came from). Times are microseconds, UTC, as ``CallRecord``
holds them; ``duration_ms`` is float milliseconds as in the frames. Strings stay
plain strings (Parquet dictionary-encodes them on disk), so pandas, DuckDB and polars
read the files as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit._archive.extras import missing
from toolkit._engine.history import BreakerEvent, CallRecord
from toolkit._view.frames import OUTCOME_DTYPE, STATE_DTYPE

try:
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without pyarrow
    raise missing("toolkit.Archive", exc) from exc

TIME = pa.timestamp("us", tz="UTC")

CALLS = pa.schema(
    [
        ("worker", pa.string()),
        ("source", pa.string()),
        ("seq", pa.int64()),
        ("run_id", pa.int64()),
        ("name", pa.string()),
        ("started_at", TIME),
        ("duration_ms", pa.float64()),
        ("outcome", pa.string()),
        ("error", pa.string()),
        ("state_before", pa.string()),
        ("state_after", pa.string()),
        ("fault", pa.string()),
        ("slow", pa.bool_()),
    ]
)
"""One row per call."""

EVENTS = pa.schema(
    [
        ("worker", pa.string()),
        ("at", TIME),
        ("name", pa.string()),
        ("old_state", pa.string()),
        ("new_state", pa.string()),
        ("by_hand", pa.bool_()),
    ]
)
"""One row per breaker state change; ``by_hand``: a trip, reset, isolate or expire."""

SCHEMAS = {"calls": CALLS, "events": EVENTS}
TIME_FIELD = {"calls": "started_at", "events": "at"}
SORT_KEYS = {
    "calls": [("name", "ascending"), ("started_at", "ascending"), ("seq", "ascending")],
    "events": [("name", "ascending"), ("at", "ascending")],
}
"""On disk each file is sorted by name, so a row group's statistics can rule it out."""

CALL_COLUMNS = [
    "worker", "run_id", "name", "started_at", "duration_ms", "outcome", "error",
    "state_before", "state_after", "fault", "slow",
]  # fmt: skip
EVENT_COLUMNS = ["worker", "at", "name", "old_state", "new_state", "by_hand"]


def records_table(
    records: Sequence[CallRecord], worker: str, source: str, first_seq: int
) -> pa.Table:
    """Call records as a calls table; ``seq`` counts on from ``first_seq``.

    Column by column (no tuple per record for the collector to scan); times go through
    ``datetime.timestamp()`` (much faster than Arrow converting tz-aware datetimes one
    by one), exact to the microsecond.
    """
    n = len(records)
    if n == 0:
        return CALLS.empty_table()
    started = [r.started_at.timestamp() for r in records]  # column by column: no tuples
    micros = np.round(np.asarray(started, dtype="float64") * 1e6).astype("int64")
    return pa.table(
        {
            "worker": pa.array([worker] * n, pa.string()),
            "source": pa.array([source] * n, pa.string()),
            "seq": pa.array(np.arange(first_seq, first_seq + n, dtype="int64")),
            "run_id": pa.array([r.run_id for r in records], pa.int64()),
            "name": pa.array([r.name for r in records], pa.string()),
            "started_at": pa.array(micros).cast(TIME),
            "duration_ms": pa.array(
                np.asarray([r.duration_s for r in records], dtype="float64") * 1000.0
            ),
            "outcome": pa.array([r.outcome for r in records], pa.string()),
            "error": pa.array([r.error for r in records], pa.string()),
            "state_before": pa.array([r.state_before for r in records], pa.string()),
            "state_after": pa.array([r.state_after for r in records], pa.string()),
            "fault": pa.array([r.fault for r in records], pa.string()),
            "slow": pa.array([r.slow for r in records], pa.bool_()),
        },
        schema=CALLS,
    )


def events_table(events: Sequence[tuple[BreakerEvent, bool]], worker: str) -> pa.Table:
    """Breaker events, each with whether it was made by hand, as an events table."""
    return pa.table(
        {
            "worker": pa.array([worker] * len(events), pa.string()),
            "at": pa.array(
                np.round(np.asarray([e.at.timestamp() for e, _ in events]) * 1e6).astype("int64")
            ).cast(TIME),
            "name": pa.array([e.name for e, _ in events], pa.string()),
            "old_state": pa.array([e.old_state for e, _ in events], pa.string()),
            "new_state": pa.array([e.new_state for e, _ in events], pa.string()),
            "by_hand": pa.array([hand for _, hand in events], pa.bool_()),
        },
        schema=EVENTS,
    )


def _times(values: pd.Series) -> pa.Array:
    stamps = pd.to_datetime(values, utc=True)
    return pa.array(stamps.astype("datetime64[us, UTC]"), TIME)


def _strings(values: pd.Series) -> pa.Array:
    return pa.array(values.astype(object).where(values.notna(), None), pa.string())


def frame_table(kind: str, frame: pd.DataFrame, worker: str, source: str) -> pa.Table:
    """A calls or events frame (``frames.calls``, ``fleet.calls()``...) as its table.

    A frame without ``worker`` is ``worker``'s; rows get ``source`` and numbers in order.
    """
    columns = CALL_COLUMNS if kind == "calls" else EVENT_COLUMNS
    needed = [c for c in columns if c not in ("worker", "by_hand")]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        from toolkit._engine.errors import ConfigError

        raise ConfigError(
            f"a {kind} frame needs the columns of frames.{kind}; {', '.join(absent)} missing"
        )
    n = len(frame)
    workers = frame["worker"] if "worker" in frame.columns else pd.Series([worker] * n)
    data: dict[str, Any] = {"worker": _strings(workers.reset_index(drop=True))}
    if kind == "calls":
        data |= {
            "source": pa.array([source] * n, pa.string()),
            "seq": pa.array(np.arange(1, n + 1, dtype="int64")),
            "run_id": pa.array(frame["run_id"].to_numpy(dtype="int64")),
            "name": _strings(frame["name"]),
            "started_at": _times(frame["started_at"]),
            "duration_ms": pa.array(frame["duration_ms"].to_numpy(dtype="float64")),
            "outcome": _strings(frame["outcome"]),
            "error": _strings(frame["error"]),
            "state_before": _strings(frame["state_before"]),
            "state_after": _strings(frame["state_after"]),
            "fault": _strings(frame["fault"]),
            "slow": pa.array(frame["slow"].to_numpy(dtype="bool")),
        }
    else:
        data |= {
            "at": _times(frame["at"]),
            "name": _strings(frame["name"]),
            "old_state": _strings(frame["old_state"]),
            "new_state": _strings(frame["new_state"]),
            "by_hand": pa.array(
                frame["by_hand"].fillna(False).to_numpy(dtype="bool")
                if "by_hand" in frame.columns
                else np.zeros(n, dtype="bool")
            ),
        }
    return pa.table(data, schema=SCHEMAS[kind])


def _text(column: pa.ChunkedArray) -> pd.Series:
    return pd.Series(column.to_pandas(), dtype="string")


def _category(column: pa.ChunkedArray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    return pd.Categorical(column.to_numpy(zero_copy_only=False), dtype=dtype)


def _stamps(column: pa.ChunkedArray) -> pd.Series:
    return pd.Series(column.to_pandas()).astype("datetime64[ns, UTC]")


def calls_frame(table: pa.Table) -> pd.DataFrame:
    """A calls table as the frame of ``fleet.calls()``: ``worker``, then ``frames.calls``."""
    table = table.sort_by(
        [("started_at", "ascending"), ("worker", "ascending"), ("seq", "ascending")]
    )
    return pd.DataFrame(
        {
            "worker": _text(table["worker"]),
            "run_id": table["run_id"].to_numpy().astype("int64"),
            "name": _text(table["name"]),
            "started_at": _stamps(table["started_at"]),
            "duration_ms": table["duration_ms"].to_numpy().astype("float64"),
            "outcome": _category(table["outcome"], OUTCOME_DTYPE),
            "error": _text(table["error"]),
            "state_before": _category(table["state_before"], STATE_DTYPE),
            "state_after": _category(table["state_after"], STATE_DTYPE),
            "fault": _text(table["fault"]),
            "slow": table["slow"].to_numpy(zero_copy_only=False).astype("bool"),
        },
        columns=CALL_COLUMNS,
    )


def events_frame(table: pa.Table) -> pd.DataFrame:
    """An events table as ``worker``, the columns of ``frames.events`` and ``by_hand``,
    oldest first."""
    table = table.sort_by([("at", "ascending"), ("worker", "ascending")])
    return pd.DataFrame(
        {
            "worker": _text(table["worker"]),
            "at": _stamps(table["at"]),
            "name": _text(table["name"]),
            "old_state": _category(table["old_state"], STATE_DTYPE),
            "new_state": _category(table["new_state"], STATE_DTYPE),
            "by_hand": table["by_hand"].to_numpy(zero_copy_only=False).astype("bool"),
        },
        columns=EVENT_COLUMNS,
    )


def day_numbers(table: pa.Table, kind: str) -> np.ndarray:
    """Each row's UTC day as days since the epoch (the partition it belongs in)."""
    micros = pc.cast(table[TIME_FIELD[kind]], pa.int64()).to_numpy(zero_copy_only=False)
    return np.asarray(np.floor_divide(micros, 86_400_000_000), dtype="int64")
