"""The call stream: entries written off the hot path, capped, kept while Redis is down."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from loopback_redis import RedisServer

from toolkit import CallRecord, Fleet
from toolkit._fleet.client import Health, connect
from toolkit._fleet.stream import StreamWriter, XaddPacker, encode

KEY = "ns:toolkit:calls"


@pytest.fixture
def health(redis_server: RedisServer) -> Iterator[Health]:
    client, label = connect(redis_server.url)
    shared = Health(client, label, retry_first=0.05, retry_max=0.1)
    yield shared
    shared.close()
    client.close()


def stream_seqs(client: redis.Redis) -> list[int]:
    """The ``seq`` field of every entry in the stream, oldest first."""
    entries: Any = client.xrange(KEY)
    return [int(fields[b"seq"]) for _, fields in entries]


def entry(seq: int, worker: str = "w") -> dict[str, str | int | float]:
    record = CallRecord(1, "pay", datetime.now(UTC), 0.01, "ok", None, "closed", "closed")
    return encode(record, worker, seq)


def test_encode_keeps_every_field_and_leaves_out_missing_ones() -> None:
    at = datetime(2030, 1, 1, tzinfo=UTC)
    record = CallRecord(3, "pay", at, 0.25, "error", "boom", "closed", "open", None, True)
    fields = encode(record, "web-1", 9)
    assert fields == {
        "worker": "web-1", "seq": 9, "run_id": 3, "name": "pay",
        "started_at": repr(at.timestamp()), "duration_s": "0.25", "outcome": "error",
        "state_before": "closed", "state_after": "open", "slow": 1, "error": "boom",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("record", "source"),
    [
        (CallRecord(3, "pay", datetime(2030, 1, 1, tzinfo=UTC), 0.25, "ok", None, "closed",
                    "closed"), "a1b2c3d4"),
        (CallRecord(12345, "näme", datetime.now(UTC), 1e-7, "error", "boom\r\nü \udcff",
                    "half-open", "open", "latency 2s", True), None),
        (CallRecord(0, "x", datetime.now(UTC), 3.0, "timeout", "", "open", "closed", "",
                    False), "s"),
    ],
)  # fmt: skip
def test_a_record_packed_at_once_is_the_command_of_its_encoded_entry(
    record: CallRecord, source: str | None
) -> None:
    packer = XaddPacker(KEY, 1000)
    fields = (
        record.run_id, record.name, record.started_at.timestamp(), record.duration_s,
        record.outcome, record.error, record.state_before, record.state_after, record.fault,
        record.slow,
    )  # fmt: skip
    for seq in (1, 98765):  # twice: the second from the texts packed the first time
        expected = packer.pack(encode(record, "web-1", seq, source))
        assert packer.pack_record(record, "web-1", seq, source) == expected
        assert packer.pack_fields(fields, "web-1", seq, source) == expected


def test_entries_are_acknowledged_in_order(health: Health) -> None:
    writer = StreamWriter(health.client, KEY, health)
    for seq in range(1, 501):
        writer.append(entry(seq))
    assert writer.flush(5.0) and writer.pending == 0
    assert writer.acknowledged == 500
    assert stream_seqs(health.client) == list(range(1, 501))
    writer.close()


def test_the_stream_is_capped(health: Health) -> None:
    writer = StreamWriter(health.client, KEY, health, maxlen=50)
    for seq in range(2000):
        writer.append(entry(seq))
    writer.close()
    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default), never below 50
    assert 50 <= health.client.xlen(KEY) <= 150


def test_entries_wait_while_redis_is_down_and_the_oldest_give_way(
    redis_server: RedisServer, health: Health
) -> None:
    writer = StreamWriter(health.client, KEY, health, queue_limit=10)
    redis_server.stop()
    writer.append(entry(1))
    assert not writer.flush(5.0)  # returns at once: Redis is known to be down
    assert not health.ok
    for seq in range(2, 26):
        writer.append(entry(seq))
    assert writer.pending == 10 and writer.dropped == 15
    redis_server.start()
    assert health.wait_ok(5.0) and writer.flush(5.0)
    assert stream_seqs(health.client) == list(range(16, 26))
    writer.close()


def test_close_with_redis_down_is_quick_and_says_what_was_lost(
    redis_server: RedisServer, health: Health, caplog: pytest.LogCaptureFixture
) -> None:
    writer = StreamWriter(health.client, KEY, health)
    redis_server.stop()
    for seq in range(1, 4):
        writer.append(entry(seq))
    started = time.monotonic()
    writer.close(timeout=5.0)
    assert time.monotonic() - started < 1.5
    assert any("3 call record(s) not written" in r.getMessage() for r in caplog.records)


def test_a_refused_write_is_logged_once_and_does_not_mark_redis_down(
    health: Health, caplog: pytest.LogCaptureFixture
) -> None:
    health.client.set(KEY, "not a stream")
    writer = StreamWriter(health.client, KEY, health)
    for seq in range(1, 6):
        writer.append(entry(seq))
        assert writer.flush(5.0)
    assert health.ok and writer.dropped == 5 and writer.acknowledged == 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "WRONGTYPE" in warnings[0].getMessage()
    writer.close()


def test_an_entry_sent_twice_is_read_once(redis_server: RedisServer, health: Health) -> None:
    writer = StreamWriter(health.client, KEY, health)
    writer.append(entry(1))
    writer.append(entry(1))  # what a resend after a lost reply looks like
    writer.append(entry(1, worker="other"))
    writer.close()
    assert health.client.xlen(KEY) == 3
    with Fleet(redis_server.url, "ns") as fleet:
        assert list(fleet.calls()["worker"]) == ["w", "other"]


def test_nothing_is_sent_without_entries(health: Health) -> None:
    writer = StreamWriter(health.client, KEY, health)
    assert writer.flush(0.1) and writer.acknowledged == 0
    writer.close()
    with pytest.raises(redis.ResponseError):
        health.client.xinfo_stream(KEY)  # never created


def test_a_lone_surrogate_in_an_error_is_written_escaped(health: Health) -> None:
    writer = StreamWriter(health.client, KEY, health)
    at = datetime.now(UTC)
    record = CallRecord(1, "pay", at, 0.01, "error", "bad \udc80 byte", "closed", "closed")
    writer.append(encode(record, "w", 1))
    writer.append(entry(2))
    assert writer.flush(5.0) and writer.acknowledged == 2
    entries: Any = health.client.xrange(KEY)
    fields = entries[0][1]
    assert fields[b"error"] == b"bad \\udc80 byte"
    writer.close()


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_an_entry_that_cannot_be_packed_is_dropped_alone_and_logged_once(
    health: Health, caplog: pytest.LogCaptureFixture
) -> None:
    writer = StreamWriter(health.client, KEY, health)
    bad: Any = Unprintable()
    for seq in range(1, 4):
        writer.append(entry(seq))
        writer.append({"worker": "w", "seq": bad})
        assert writer.flush(5.0)
    assert writer.acknowledged == 3 and writer.dropped == 3 and writer.pending == 0
    assert stream_seqs(health.client) == [1, 2, 3]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no text" in warnings[0].getMessage()
    writer.close()


def test_the_writer_survives_a_batch_that_raises(
    health: Health, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = StreamWriter(health.client, KEY, health)
    real = writer.direct.call_many
    calls = []

    def broken_once(packed: Any, count: int, **kwargs: Any) -> list[Any]:
        calls.append(count)
        if len(calls) == 1:
            raise RuntimeError("unexpected")
        return real(packed, count, **kwargs)

    monkeypatch.setattr(writer.direct, "call_many", broken_once)
    writer.append(entry(1))
    writer.flush(5.0)
    assert writer.pending == 0 and writer.dropped == 1
    writer.append(entry(2))
    assert writer.flush(5.0) and writer.acknowledged == 1
    assert stream_seqs(health.client) == [2]
    writer.close()


def test_repeats_are_told_apart_by_source_as_well_as_worker_and_seq(
    redis_server: RedisServer, health: Health
) -> None:
    writer = StreamWriter(health.client, KEY, health)
    record = CallRecord(1, "pay", datetime.now(UTC), 0.01, "ok", None, "closed", "closed")
    writer.append(encode(record, "w", 1, "aaaa"))
    writer.append(encode(record, "w", 1, "aaaa"))  # a resend: read once
    writer.append(encode(record, "w", 1, "bbbb"))  # another storage under the same name
    writer.close()
    with Fleet(redis_server.url, "ns") as fleet:
        assert list(fleet.entries()[0][1]) == ["worker", "source", "seq", *list(entry(1))[2:]]
        assert len(fleet.calls()) == 2
