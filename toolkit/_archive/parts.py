"""Parts: the files one writer is filling, rewritten whole as rows arrive, then sealed.

Each flush merges its rows into the writer's open file for that day and kind and
renames a new version of the file over the old one, so frequent small flushes do not
leave thousands of tiny files. A file is sealed (left as it is, and a new one started)
once it holds ``ROLL_ROWS`` rows or has been open ``ROLL_S`` seconds; a batch of
``ALONE_ROWS`` or more (a busy writer's) is written as a file of its own. The rows of
open files are what a writer holds in memory, so that is bounded too.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toolkit._archive.files import partition, write_atomically
from toolkit._archive.schema import SORT_KEYS, day_numbers, pa

ROLL_ROWS = 50_000
ROLL_S = 600.0
ALONE_ROWS = 10_000
"""A batch this large gets a file of its own at once (merging it would only cost rewrites)."""


class WriteFailed(Exception):
    """Writing some of a table's days failed; ``remaining`` holds the rows not written."""

    def __init__(self, remaining: pa.Table, cause: BaseException) -> None:
        super().__init__(f"{len(remaining)} rows not written: {cause!r}")
        self.remaining = remaining
        self.cause = cause


@dataclass(slots=True)
class OpenPart:
    """A file still taking rows: its path, every row it holds, and when it was started."""

    path: Path
    table: pa.Table
    opened: float = field(default_factory=time.monotonic)


class Parts:
    """The files of one writer (named ``<prefix>-<n>.parquet``) under an archive root.

    Not thread-safe: one thread writes through it.
    """

    def __init__(
        self, root: Path, prefix: str, *, roll_rows: int = ROLL_ROWS, roll_s: float = ROLL_S
    ) -> None:
        self.root = root
        self.prefix = prefix
        self.roll_rows = roll_rows
        self.roll_s = roll_s
        self.files = 0
        """Versions of files renamed into place."""
        self.bytes = 0
        """Bytes of the current version of every file written."""
        self._open: dict[tuple[str, int], OpenPart] = {}
        self._sizes: dict[Path, int] = {}
        self._next = _next_number(root, prefix)

    @property
    def held_rows(self) -> int:
        """Rows of open files kept in memory for their next version."""
        return sum(len(part.table) for part in self._open.values())

    def write(self, kind: str, table: pa.Table, metadata: Mapping[str, str] | None = None) -> None:
        """Add ``table``'s rows to ``kind``'s files, one per UTC day they fall on.

        Raises:
            WriteFailed: with the rows of the days not written (those written stay).
        """
        now = time.monotonic()
        for key, part in list(self._open.items()):
            if now - part.opened >= self.roll_s:
                del self._open[key]
        if len(table) == 0:
            return
        day_of = day_numbers(table, kind)
        every = np.unique(day_of)
        for index, day in enumerate(every):
            rows = table if len(every) == 1 else table.filter(pa.array(day_of == day))
            try:
                self._add(kind, int(day), rows, metadata)
            except Exception as exc:
                remaining = table.filter(pa.array(np.isin(day_of, every[index:])))
                raise WriteFailed(remaining, exc) from exc

    def _add(self, kind: str, day: int, rows: pa.Table, metadata: Mapping[str, str] | None) -> None:
        key = (kind, day)
        part = self._open.get(key)
        if part is None or len(rows) >= ALONE_ROWS:
            name = f"{self.prefix}-{self._next:06d}.parquet"
            part = OpenPart(partition(self.root, kind, day) / name, rows.slice(0, 0))
            self._next += 1
        table = pa.concat_tables([part.table, rows]).sort_by(SORT_KEYS[kind])
        size = write_atomically(part.path, table, metadata)  # the old version stays on failure
        part.table = table
        self.files += 1
        self.bytes += size - self._sizes.get(part.path, 0)
        self._sizes[part.path] = size
        if len(table) >= self.roll_rows or len(rows) >= ALONE_ROWS:
            self._sizes.pop(part.path, None)
            if self._open.get(key) is part:
                del self._open[key]
        else:
            self._open[key] = part

    def seal(self) -> None:
        """Leave every open file as it is; later rows start new files."""
        self._open.clear()
        self._sizes.clear()


def _next_number(root: Path, prefix: str) -> int:
    """One past the highest number a file of ``prefix`` has (a writer restarted under a
    stable prefix never rewrites its earlier files)."""
    highest = 0
    for path in root.glob(f"*/day=*/{prefix}-*.parquet"):
        number = path.stem[len(prefix) + 1 :]
        if number.isdigit():
            highest = max(highest, int(number))
    return highest + 1
