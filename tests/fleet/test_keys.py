"""The Redis key layout: pybreaker's own keys, our keys beside them, and scanning for them."""

from __future__ import annotations

import fnmatch

import pybreaker
import pytest

from toolkit import ConfigError, Fleet, RedisStorage
from toolkit._fleet.keys import (
    BreakerKeys,
    check_namespace,
    name_of_state_key,
    state_pattern,
    stream_key,
)

UNUSED_URL = "redis://127.0.0.1:1/0"  # the namespace is refused before anything is sent


def pybreaker_key(namespace: str, field: str) -> str:
    """The key pybreaker's own CircuitRedisStorage uses for ``field`` under ``namespace``."""
    storage = object.__new__(pybreaker.CircuitRedisStorage)
    storage._namespace_name = namespace
    return storage._namespace(field)


@pytest.mark.parametrize("field", ["state", "fail_counter", "success_counter", "opened_at"])
def test_breaker_keys_are_pybreakers_own(field: str) -> None:
    keys = BreakerKeys("shop", "payments")
    assert keys.pybreaker(field) == pybreaker_key(keys.pybreaker_namespace, field)
    assert keys.pybreaker(field) == f"shop:payments:pybreaker:{field}"


def test_toolkit_keys_sit_beside_pybreakers() -> None:
    keys = BreakerKeys("shop", "payments")
    assert keys.isolated == "shop:payments:toolkit:isolated"
    assert keys.policy == "shop:payments:toolkit:policy"
    assert keys.snapshot() == [
        keys.state,
        keys.fail_counter,
        keys.success_counter,
        keys.opened_at,
        keys.isolated,
    ]
    assert stream_key("shop") == "shop:toolkit:calls"


@pytest.mark.parametrize("name", ["payments", "eu:payments", "a*b", "[x]"])
def test_state_key_name_round_trip(name: str) -> None:
    key = BreakerKeys("shop", name).state
    assert name_of_state_key("shop", key) == name


def test_other_keys_are_not_breakers() -> None:
    assert name_of_state_key("shop", "shop:toolkit:calls") is None
    assert name_of_state_key("shop", "other:payments:pybreaker:state") is None
    assert name_of_state_key("shop", "shop::pybreaker:state") is None


def test_scan_pattern_escapes_glob_characters_in_the_namespace() -> None:
    pattern = state_pattern("sh*p[1]")
    assert pattern == r"sh\*p\[1\]:*:pybreaker:state"
    # Redis globs treat a backslash as an escape, as fnmatch treats [*]
    as_fnmatch = pattern.replace(r"\*", "[*]").replace(r"\[", "[[]").replace(r"\]", "[]]")
    assert fnmatch.fnmatchcase("sh*p[1]:payments:pybreaker:state", as_fnmatch)
    assert not fnmatch.fnmatchcase("shop1:payments:pybreaker:state", as_fnmatch)


@pytest.mark.parametrize("bad", ["", "a b", None, 3])
def test_bad_namespace_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="namespace"):
        check_namespace(bad)


@pytest.mark.parametrize("nested", ["shop:eu", ":shop", "shop:"])
def test_a_namespace_with_a_colon_is_refused_saying_why(nested: str) -> None:
    with pytest.raises(ConfigError, match="':'"):
        check_namespace(nested)
    with pytest.raises(ConfigError, match="':'"):
        RedisStorage(UNUSED_URL, nested)
    with pytest.raises(ConfigError, match="':'"):
        Fleet(UNUSED_URL, nested)
