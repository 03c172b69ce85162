"""EnvSettings: ``${NAME}`` references, configured or not, and which values are secret."""

from __future__ import annotations

import pytest

from toolkit import ConfigError
from toolkit._checks.settings import EnvSettings, check_name, references


def test_references_in_order_without_repeats() -> None:
    assert references("${A}/x/${B}?q=${A}&r=$C&s=${1X}") == ["A", "B"]


def test_nothing_set_is_silent_and_some_set_warns() -> None:
    settings = EnvSettings(["A_URL", "A_TOKEN"], env={})
    assert not settings.is_configured() and settings.warning() is None
    partial = EnvSettings(["A_URL", "A_TOKEN"], env={"A_URL": "u"})
    assert partial.warning() == "environment variable A_TOKEN not set"
    both = EnvSettings(["A_URL", "A_TOKEN", "A_KEY"], literal=True, env={})
    assert both.warning() == "environment variables A_URL, A_TOKEN, A_KEY not set"


def test_empty_value_counts_as_missing() -> None:
    assert EnvSettings(["A"], env={"A": ""}).missing() == ["A"]


def test_values_are_read_when_asked_not_when_built() -> None:
    env: dict[str, str] = {}
    settings = EnvSettings(["LATE"], env=env)
    assert not settings.is_configured()
    env["LATE"] = "now"
    assert settings.is_configured() and settings.expand("${LATE}!") == "now!"


def test_secret_values_are_those_with_secret_names_or_named_secret() -> None:
    env = {"API_URL": "http://x", "API_TOKEN": "tok-1", "ACCOUNT": "acct-2"}
    settings = EnvSettings(["API_URL", "API_TOKEN", "ACCOUNT"], secret=["ACCOUNT"], env=env)
    assert sorted(settings.secret_values()) == ["acct-2", "tok-1"]


def test_a_bad_secret_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="a secret setting must be an environment variable name"):
        EnvSettings([], secret=["not a name"])


@pytest.mark.parametrize("pasted", ["sk-live-SEKRET1abcdef", "SEKRET7=abc"])
def test_a_value_pasted_for_a_name_is_not_echoed(pasted: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_name(pasted, "token_env")
    assert pasted not in str(info.value)
    assert str(info.value).endswith(
        f"got a value of {len(pasted)} characters, not shown (it may be the secret itself)"
    )
