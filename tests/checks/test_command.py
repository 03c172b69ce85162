"""``python -m toolkit check``: a real subprocess against a loopback HTTP server."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import pytest
from loopback_http import HttpServer

from toolkit import IntegrationRegistry, IntegrationRunner, integration
from toolkit._checks.command import main
from toolkit._checks.report import Reporter

HEALTHY = """\
[runner]
timeout = 2.0

[[http]]
name = "api"
url = "{url}/ok"
json_key = "value"

[[tcp]]
name = "port"
host = "127.0.0.1"
port = {port}
"""

ONE_DOWN = (
    HEALTHY
    + """
[[http]]
name = "down"
url = "{url}/status/503"
fail_max = 2
"""
)


def config(tmp_path: Path, server: HttpServer, text: str) -> Path:
    path = tmp_path / "integrations.toml"
    path.write_text(text.format(url=server.url, port=server.port))
    return path


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command to completion, as cron or CI would."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "toolkit", "check", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )  # fmt: skip


class Watch:
    """``check --watch`` running in the background, its stdout read line by line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-W", "error", "-m", "toolkit", "check", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: Queue[str] = Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 20.0) -> None:
        """Read lines until one contains ``text`` (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            try:
                self.seen.append(self.lines.get(timeout=max(0.0, deadline - time.monotonic())))
            except Empty:
                pytest.fail(f"no line with {text!r} within {timeout}s; got:\n{''.join(self.seen)}")

    def interrupt(self) -> tuple[int, str]:
        """Send SIGINT (Ctrl-C); the exit code and stderr."""
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=20)
        return self.process.returncode, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for watch in started:
        watch.kill()


class TestOnce:
    def test_all_healthy_exits_0_with_results_and_breakers(
        self, tmp_path: Path, http_server: HttpServer
    ) -> None:
        done = check(str(config(tmp_path, http_server, HEALTHY)))
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert "round 1: 2 checks, all healthy" in lines[0]
        assert lines[2] == "results:"
        assert lines[3].split() == ["name", "result", "ms", "detail"]
        assert lines[4].split()[:2] == ["api", "ok"] and "value=42" in lines[4]
        assert "breakers:" in lines and lines[lines.index("breakers:") + 2].split() == [
            "api", "closed", "0/3",
        ]  # fmt: skip
        assert done.stderr == ""

    def test_any_failure_exits_1(self, tmp_path: Path, http_server: HttpServer) -> None:
        done = check(str(config(tmp_path, http_server, ONE_DOWN)))
        assert done.returncode == 1
        assert "round 1: 3 checks, 1 failed" in done.stdout
        assert f"HTTP 503 Service Unavailable from GET {http_server.url}/status/503" in done.stdout

    def test_bad_config_exits_2_listing_problems(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.toml"
        path.write_text('[[http]]\nname = "a"\nurl = "nope"\ntimeout = 0\n')
        done = check(str(path))
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.splitlines() == [
            "error: 2 problems in config:",
            f"  {path}:3: http[1] 'a'.url: must start with http:// or https:// and name a host, "
            "got 'nope'",
            f"  {path}:4: http[1] 'a'.timeout: must be a finite number of seconds > 0, got 0",
        ]

    def test_json_is_machine_readable(self, tmp_path: Path, http_server: HttpServer) -> None:
        done = check(str(config(tmp_path, http_server, ONE_DOWN)), "--json")
        assert done.returncode == 1
        report = json.loads(done.stdout)
        assert report["healthy"] is False and report["exit_code"] == 1
        by_name = {r["name"]: r for r in report["results"]}
        assert by_name["api"]["success"] is True and by_name["api"]["data"]["value"] == 42
        assert by_name["down"]["outcome"] == "error"
        assert by_name["down"]["error"].startswith("HTTP 503 Service Unavailable")
        assert [b["state"] for b in report["breakers"]] == ["closed", "closed", "closed"]
        assert report["skipped"] == []

    def test_unconfigured_checks_are_listed_as_skipped(
        self, tmp_path: Path, http_server: HttpServer
    ) -> None:
        text = HEALTHY + '\n[[http]]\nname = "later"\nurl = "${{LATER_URL}}/ok"\n'
        done = check(str(config(tmp_path, http_server, text)), "--json")
        assert done.returncode == 0
        assert json.loads(done.stdout)["skipped"] == ["later"]
        assert done.stderr == ""  # nothing configured at all: no warning


class TestWatch:
    def test_watch_shows_changes_and_ctrl_c_exits_with_the_last_code(
        self, tmp_path: Path, http_server: HttpServer, watches: list[Watch]
    ) -> None:
        watch = Watch(str(config(tmp_path, http_server, ONE_DOWN)), "--watch", "0.1")
        watches.append(watch)
        watch.wait_for("breaker down: closed -> open")  # fail_max = 2: it opens in round 2
        assert any("round 2: 3 checks, 1 failed" in line for line in watch.seen)
        code, err = watch.interrupt()
        assert code == 1
        assert "Traceback" not in err and "KeyboardInterrupt" not in err

    def test_watch_json_prints_one_document_per_round(
        self, tmp_path: Path, http_server: HttpServer, watches: list[Watch]
    ) -> None:
        watch = Watch(str(config(tmp_path, http_server, HEALTHY)), "--watch", "0.1", "--json")
        watches.append(watch)
        watch.wait_for('"round": 2')
        code, err = watch.interrupt()
        assert code == 0 and "Traceback" not in err
        rounds = [json.loads(line) for line in watch.seen]
        assert [r["round"] for r in rounds] == [1, 2] and all(r["healthy"] for r in rounds)

    def test_ctrl_c_during_the_first_round_exits_130_cleanly(
        self, tmp_path: Path, http_server: HttpServer, watches: list[Watch]
    ) -> None:
        text = '[[http]]\nname = "slow"\nurl = "{url}/slow/30"\ntimeout = 50\n'
        watch = Watch(str(config(tmp_path, http_server, text)), "--watch", "5")
        watches.append(watch)
        deadline = time.monotonic() + 20
        while http_server.hits["/slow/30"] == 0:
            assert time.monotonic() < deadline, "the check never reached the server"
            time.sleep(0.02)
        code, err = watch.interrupt()
        assert code == 130 and "Traceback" not in err


class TestArguments:
    def test_watch_needs_a_positive_number(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["x.toml", "--watch", "0"]) == 2
        assert "expected a number of seconds > 0, got '0'" in capsys.readouterr().err

    def test_config_is_required(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main([]) == 2
        assert "the following arguments are required: config" in capsys.readouterr().err

    def test_help_exits_0(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["--help"]) == 0
        assert "usage: python -m toolkit check" in capsys.readouterr().out


def test_round_where_nothing_ran_says_so(tmp_path: Path) -> None:
    path = tmp_path / "integrations.toml"
    path.write_text('[[http]]\nname = "elsewhere"\nurl = "${TOOLKIT_TEST_UNSET_URL}"\n')
    env = {k: v for k, v in os.environ.items() if k != "TOOLKIT_TEST_UNSET_URL"}
    out = subprocess.run(
        [sys.executable, "-W", "error", "-m", "toolkit", "check", str(path)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "round 1: 0 checks, nothing ran (1 not configured)" in out.stdout
    assert "skipped (not configured): elsewhere" in out.stdout


async def test_json_shows_non_finite_numbers_as_null() -> None:
    @integration(name="gauge")
    async def gauge() -> dict[str, float]:
        return {"load": math.nan, "peak": math.inf, "ok": 1.5}

    registry = IntegrationRegistry()
    registry.register(gauge)
    async with IntegrationRunner(registry, timeout=2) as runner:
        reporter = Reporter(runner)
        text = reporter.json(reporter.round(1, await runner.run_all(), []), indent=None)
    document = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
    assert document["results"][0]["data"] == {"load": None, "peak": None, "ok": 1.5}


def test_a_reader_that_goes_away_ends_watch_quietly(
    tmp_path: Path, http_server: HttpServer
) -> None:
    path = config(tmp_path, http_server, HEALTHY)
    process = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "toolkit", "check", str(path), "--watch", "0.05"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # like ``| head -1``
    with process.stderr:
        stderr = process.stderr.read()
    assert process.wait(timeout=20) == 0 and stderr == b""


class _Unreadable:
    def __repr__(self) -> str:
        raise RuntimeError("repr refused")

    __str__ = __repr__


async def test_report_survives_unreadable_and_huge_data_and_caps_it_with_a_note() -> None:
    from toolkit._engine.shown import SHOWN_CHARS

    huge = "h" * 3_000_000

    @integration(name="odd")
    async def odd() -> dict[str, object]:
        return {"strange": _Unreadable(), "huge": huge, "many": list(range(5_000))}

    @integration(name="loud")
    async def loud() -> None:
        raise RuntimeError("e " * 1_000_000)

    registry = IntegrationRegistry()
    registry.register(odd)
    registry.register(loud)
    async with IntegrationRunner(registry, timeout=2, fail_max=5) as runner:
        reporter = Reporter(runner)
        rnd = reporter.round(1, await runner.run_all(), [])
        text = reporter.text(rnd, full=True)
        document = json.loads(reporter.json(rnd, indent=None))
    assert len(text) < 10 * SHOWN_CHARS
    assert "strange=<unreadable _Unreadable>" in text
    assert "characters]" in text  # the long error is cut with a note
    data = document["results"][0]["data"]
    assert data["strange"] == "<unreadable _Unreadable>"
    assert data["huge"] == "h" * SHOWN_CHARS + f"… [+{3_000_000 - SHOWN_CHARS:,} characters]"
    assert data["many"][:3] == [0, 1, 2] and data["many"][-1] == "… [+4,000 items]"
    error = document["results"][1]["error"]
    assert len(error) < SHOWN_CHARS + 40 and error.endswith("characters]")
