"""Hostile configs: each bad value is one located ``ConfigFileError`` problem, no traceback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import toolkit
from toolkit import ConfigError, IntegrationRegistry, IntegrationRunner
from toolkit._engine.errors import ConfigFileError
from toolkit.integrations import HttpCheck, TcpCheck

HUGE = 10**30
TCP = '[[tcp]]\nname = "db"\nhost = "127.0.0.1"\nport = 1\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "integrations.toml"
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigFileError) as info:
        toolkit.load_config(path, env={})
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    "table, key",
    [("runner", "history_size"), ("runner", "timeout"), ("runner", "reset_timeout"),
     ("runner", "grace"), ("runner", "slow_after"), ("tcp", "port"), ("tcp", "timeout"),
     ("tcp", "reset_timeout")],
)  # fmt: skip
def test_an_integer_too_large_for_its_setting_is_a_problem_with_line_and_key(
    tmp_path: Path, table: str, key: str
) -> None:
    if table == "runner":
        path = write(tmp_path, f"[runner]\n{key} = {HUGE}\n{TCP}")
        expected = f"{path}:2: runner.{key}: "
    else:
        tcp = TCP.replace("port = 1\n", "") if key == "port" else TCP
        path = write(tmp_path, f"{tcp}{key} = {HUGE}\n")
        expected = f"{path}:{tcp.count(chr(10)) + 1}: tcp[1] 'db'.{key}: "
    (problem,) = problems_of(path)
    assert problem.startswith(expected), problem


def test_the_check_command_exits_2_for_an_integer_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, f"[runner]\nhistory_size = {HUGE}\n{TCP}")
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "toolkit", "check", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"{path}:2: runner.history_size: must be at most 100,000,000" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_inline_table_check_keeps_the_line_of_each_problem(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'http = [\n  { name = "a", url = "http://127.0.0.1:1/", timout = 2 },\n'
        '  { name = "b", url = "ftp://x/" },\n]\n',
    )
    assert problems_of(path) == [
        f"{path}:2: http[1] 'a'.timout: unknown key 'timout'; did you mean 'timeout'? "
        + problems_of(path)[0].split("did you mean 'timeout'? ", 1)[1],
        f"{path}:3: http[2] 'b'.url: must start with http:// or https:// and name a host, "
        "got 'ftp://x/'",
    ]


@pytest.mark.parametrize(
    "key, value",
    [("url", '"http://127.0.0.1:1/${TOKEN"'), ("url", '"http://${HOST/x"'),
     ("headers", '{ X-Api-Key = "${KEY" }'), ("url", '"http://127.0.0.1:1/?a=${}"')],
)  # fmt: skip
def test_an_unterminated_reference_is_refused_at_load_time(
    tmp_path: Path, key: str, value: str
) -> None:
    path = write(tmp_path, f'[[http]]\nname = "a"\nurl = "http://127.0.0.1:1/"\n{key} = {value}\n')
    if key == "url":
        path = write(tmp_path, f'[[http]]\nname = "a"\n{key} = {value}\n')
    (problem,) = problems_of(path)
    assert "that does not start a ${NAME} reference" in problem
    line = 3 if key == "url" else 4
    where = "header 'X-Api-Key' " if key == "headers" else ""
    assert problem.startswith(f"{path}:{line}: http[1] 'a'.{key}: {where}has a '${{' at character")


def test_an_unterminated_reference_is_refused_by_the_constructors_too() -> None:
    with pytest.raises(ConfigError, match="does not start a"):
        HttpCheck("a", "http://127.0.0.1:1/${X")
    with pytest.raises(ConfigError, match="does not start a"):
        TcpCheck("a", "${HOST", 1)


@pytest.mark.parametrize("key", ["secret_env", "secret_headers"])
@pytest.mark.parametrize("value", ['"sk-live-SEKRET1abcdef"', '["ok", 12345678]'])
def test_a_secret_or_its_name_given_wrongly_is_never_echoed(
    tmp_path: Path, key: str, value: str
) -> None:
    path = write(tmp_path, f'[[http]]\nname = "a"\nurl = "http://127.0.0.1:1/"\n{key} = {value}\n')
    (problem,) = problems_of(path)
    assert "SEKRET" not in problem and "12345678" not in problem
    assert f"{path}:4: http[1] 'a'.{key}: must be a list of strings" in problem
    assert "not shown" in problem


@pytest.mark.parametrize("host", ["db\n.internal", "db .internal", "db\x00x", "\t", "db\u200b"])
def test_a_literal_host_with_whitespace_or_control_characters_is_refused(
    tmp_path: Path, host: str
) -> None:
    escaped = json.dumps(host)[1:-1]  # TOML's basic strings take JSON's escapes
    path = write(tmp_path, f'[[tcp]]\nname = "a"\nhost = "{escaped}"\nport = 1\n')
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3: tcp[1] 'a'.host: must be a host name")
    url_path = write(tmp_path, f'[[http]]\nname = "a"\nurl = "http://{escaped}/"\n')
    (problem,) = problems_of(url_path)
    assert f"{url_path}:3: http[1] 'a'.url:" in problem


class ResolverSpy:
    """Records every name the event loop is asked to resolve (it never answers)."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    async def getaddrinfo(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        self.asked.append(host)
        raise OSError("the resolver was asked")


@pytest.mark.parametrize("value", ["db.internal\n", " db", "db\x00evil", "db\r\nX: y", "a b"])
async def test_a_host_from_the_environment_is_refused_before_anything_is_resolved(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = ResolverSpy()
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", spy.getaddrinfo)
    env = {"DB_HOST": value, "API_HOST": value}
    registry = IntegrationRegistry()
    registry.register(TcpCheck("db", "${DB_HOST}", 5432, env=env))
    registry.register(HttpCheck("api", "http://${API_HOST}:8080/health", env=env))
    async with IntegrationRunner(registry, timeout=2) as runner:
        results = await runner.run_all()
    assert spy.asked == []
    db, api = results.sections
    assert not db.success and "not resolved" in str(db.error_message)
    assert not api.success and "not sent" in str(api.error_message)
