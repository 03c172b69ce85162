"""load_config: checks and runner settings from TOML; all problems reported, none half-loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback_http import HttpServer

import toolkit
from toolkit import ConfigError
from toolkit._engine.errors import ConfigFileError
from toolkit.integrations import HttpCheck, TcpCheck


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "integrations.toml"
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigFileError) as info:
        toolkit.load_config(path)
    return [str(p) for p in info.value.problems]


GOOD = """\
[runner]
timeout = 2.5
fail_max = 4
reset_timeout = 30
slow_after = 0.5

[[http]]
name = "api"
display_name = "Partner API"
url = "{url}/ok"
json_key = "value"
expect_status = "2xx"
timeout = 1.0
fail_max = 2

[[http]]
name = "secured"
url = "{url}/echo-headers"
token_env = "SECURED_TOKEN"

[[tcp]]
name = "port"
host = "127.0.0.1"
port = {port}
"""


class TestLoading:
    def test_checks_become_a_registry_in_file_order(
        self, tmp_path: Path, http_server: HttpServer
    ) -> None:
        path = write(tmp_path, GOOD.format(url=http_server.url, port=http_server.port))
        config = toolkit.load_config(path, env={"SECURED_TOKEN": "tok"})
        assert config.names == ["api", "secured", "port"]
        api, secured, port = config.registry.get_all()
        assert isinstance(api, HttpCheck) and api.display_name == "Partner API"
        assert api.json_key == "value" and api.expect_status.label == "2xx"
        assert isinstance(secured, HttpCheck) and secured.token_env == "SECURED_TOKEN"
        assert isinstance(port, TcpCheck) and port.port == http_server.port

    def test_runner_defaults_and_per_check_overrides(
        self, tmp_path: Path, http_server: HttpServer
    ) -> None:
        path = write(tmp_path, GOOD.format(url=http_server.url, port=http_server.port))
        config = toolkit.load_config(path, env={"SECURED_TOKEN": "tok"})
        assert config.runner_kwargs == {
            "timeout": 2.5, "fail_max": 4, "reset_timeout": 30, "slow_after": 0.5,
            "policies": {"api": {"timeout": 1.0, "fail_max": 2}},
        }  # fmt: skip
        with config.make_runner() as runner:
            assert runner.policy("api").timeout == 1.0 and runner.policy("api").fail_max == 2
            assert runner.policy("port").timeout == 2.5 and runner.policy("port").fail_max == 4

    def test_the_runner_runs_the_loaded_checks(
        self, tmp_path: Path, http_server: HttpServer
    ) -> None:
        path = write(tmp_path, GOOD.format(url=http_server.url, port=http_server.port))
        config = toolkit.load_config(path, env={"SECURED_TOKEN": "tok"})
        with config.make_runner() as runner:
            results = runner.run_all_sync()
        assert [s.success for s in results.sections] == [True, True, True]
        api = results.get_section("api")
        assert api is not None and api.data["value"] == 42

    def test_unset_token_variable_leaves_the_check_out_with_a_warning(
        self, tmp_path: Path, http_server: HttpServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = write(tmp_path, GOOD.format(url=http_server.url, port=http_server.port))
        config = toolkit.load_config(path, env={})
        with config.make_runner() as runner:
            assert runner.names == ["api", "port"]
        assert "environment variable SECURED_TOKEN not set" in caplog.text

    def test_make_runner_overrides_win(self, tmp_path: Path, http_server: HttpServer) -> None:
        path = write(tmp_path, GOOD.format(url=http_server.url, port=http_server.port))
        with toolkit.load_config(path).make_runner(timeout=9.0) as runner:
            assert runner.policy("port").timeout == 9.0


class TestProblems:
    def test_every_problem_is_listed_with_line_key_and_expectation(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """\
[runner]
timeout = -1
fial_max = 3

[[http]]
name = "api"
url = "ftp://example.com/x"
expect_status = 700
timout = 2

[[http]]
name = "api"
url = "http://127.0.0.1/ok"
headers = { Accept = 5 }

[[tcp]]
name = "db"
port = 70000

[extra]
""",
        )
        assert problems_of(path) == [
            f"{path}:2: runner.timeout: must be a finite number of seconds > 0, got -1",
            f"{path}:3: runner.fial_max: unknown key 'fial_max'; did you mean 'fail_max'? "
            "(known keys: backoff, fail_max, failure_rate, grace, half_open_calls, history_size, "
            "max_reset_timeout, min_calls, reset_timeout, shared_window, slow_after, slow_rate, "
            "timeout, window, window_s)",
            f"{path}:7: http[1] 'api'.url: must start with http:// or https:// and name a host, "
            "got 'ftp://example.com/x'",
            f"{path}:8: http[1] 'api'.expect_status: 700 is not an HTTP status from 100 to 599; "
            "expected a status (200), a range (range(200, 400)), a list of statuses, "
            "or '2xx' / '200-299'",
            f"{path}:9: http[1] 'api'.timout: unknown key 'timout'; did you mean 'timeout'? "
            "(known keys: backoff, display_name, expect_status, fail_max, failure_rate, "
            "follow_redirects, half_open_calls, headers, json_key, max_body_bytes, "
            "max_reset_timeout, method, min_calls, name, reset_timeout, secret_env, "
            "secret_headers, shared_window, slow_after, slow_rate, timeout, token_env, "
            "token_scheme, url, verify, window, window_s)",
            f"{path}:12: http[2] 'api'.name: name already used by http[1] 'api'; "
            "names must be unique",
            f"{path}:14: http[2] 'api'.headers: header values must be strings; "
            "not a string: Accept",
            f"{path}:16: tcp[1] 'db': missing required key 'host'",
            f"{path}:18: tcp[1] 'db'.port: must be a number from 1 to 65535 (or '${{NAME}}'), "
            "got 70000",
            f"{path}:20: extra: unknown table 'extra' (known tables: http, runner, tcp)",
        ]

    def test_nothing_is_half_loaded(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            '[[http]]\nname = "good"\nurl = "http://127.0.0.1/"\n\n'
            '[[http]]\nname = "bad"\nurl = "nope"\n',
        )
        with pytest.raises(ConfigFileError) as info:
            toolkit.load_config(path)
        assert len(info.value.problems) == 1
        assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)

    def test_a_missing_ca_bundle_is_a_config_problem(self, tmp_path: Path) -> None:
        missing = tmp_path / "no-such-ca.pem"
        path = write(
            tmp_path, f'[[http]]\nname = "a"\nurl = "https://127.0.0.1/"\nverify = "{missing}"\n'
        )
        (problem,) = problems_of(path)
        assert "CA bundle file that does not exist" in problem and ":4:" in problem

    def test_syntax_error_names_its_line(self, tmp_path: Path) -> None:
        path = write(tmp_path, '[[http]]\nname = "a"\nurl = \n')
        (problem,) = problems_of(path)
        assert problem.startswith(f"{path}:3: not valid TOML: ")

    def test_missing_file(self, tmp_path: Path) -> None:
        assert problems_of(tmp_path / "absent.toml") == [
            f"{tmp_path / 'absent.toml'}: file not found; give the path of a TOML config file"
        ]

    def test_a_file_without_checks_is_refused(self, tmp_path: Path) -> None:
        path = write(tmp_path, "[runner]\ntimeout = 1\n")
        assert problems_of(path) == [
            f"{path}: no checks: add at least one [[http]] or [[tcp]] table"
        ]

    def test_http_written_as_a_table_not_an_array(self, tmp_path: Path) -> None:
        path = write(tmp_path, '[http]\nname = "a"\n')
        assert problems_of(path) == [f"{path}:1: http: write each check as a [[http]] table"]

    def test_the_message_lists_all_problems_in_one_error(self, tmp_path: Path) -> None:
        path = write(tmp_path, '[[tcp]]\nname = "a"\n')
        with pytest.raises(ConfigFileError) as info:
            toolkit.load_config(path)
        assert str(info.value) == (
            "2 problems in config:\n"
            f"  {path}:1: tcp[1] 'a': missing required key 'host'\n"
            f"  {path}:1: tcp[1] 'a': missing required key 'port'"
        )

    def test_credentials_in_a_bad_value_are_masked(self, tmp_path: Path) -> None:
        path = write(
            tmp_path, '[[http]]\nname = "a"\nurl = "ftp://bob:hunter2@example.com/?token=abc123"\n'
        )
        (problem,) = problems_of(path)
        assert "hunter2" not in problem and "abc123" not in problem
        assert "ftp://***@example.com/?token=***" in problem


def test_a_token_pasted_into_token_env_or_secret_env_is_not_echoed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[http]]\nname = "x"\nurl = "https://example.test/"\n'
        'token_env = "sk-live-SEKRET1abcdef"\nsecret_env = ["SEKRET7=abc"]\n',
    )
    with pytest.raises(ConfigFileError) as info:
        toolkit.load_config(path)
    assert "SEKRET" not in str(info.value)
    assert "token_env: must be an environment variable name" in str(info.value)
    assert "got a value of 21 characters, not shown" in str(info.value)


class TestRatePolicies:
    def test_rate_keys_under_runner_apply_to_every_check_and_a_check_overrides_them(
        self, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path,
            """\
[runner]
reset_timeout = 10
window = 20
failure_rate = 0.25
backoff = 2.0
max_reset_timeout = 80

[[tcp]]
name = "db"
host = "127.0.0.1"
port = 5432

[[tcp]]
name = "cache"
host = "127.0.0.1"
port = 6379
window_s = 30.0
window = 0
""",
        )
        assert problems_of(path) == [
            f"{path}:18: tcp[2] 'cache'.window: must be a whole number of calls >= 1, got 0"
        ]
        path.write_text(path.read_text().replace("window = 0\n", ""))
        runner = toolkit.load_config(path).make_runner()
        db, cache = runner.policy("db"), runner.policy("cache")
        assert (db.window, db.failure_rate, db.backoff, db.max_reset_timeout) == (20, 0.25, 2.0, 80)
        assert db.reset_timeout == 10
        assert cache.window_s == 30.0 and cache.window is None  # its own kind replaces
        runner.close()

    def test_keys_that_go_together_are_checked_together(self, tmp_path: Path) -> None:
        path = write(
            tmp_path,
            """\
[runner]
reset_timeout = 60
max_reset_timeout = 30

[[tcp]]
name = "db"
host = "127.0.0.1"
port = 5432
shared_window = true
""",
        )
        assert problems_of(path) == [
            f"{path}:1: runner: max_reset_timeout (30) must be at least reset_timeout (60):"
            " it caps the waits backoff lengthens",
        ]
