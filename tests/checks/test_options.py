"""Options of the ready-made checks: accepted statuses and JSON paths."""

from __future__ import annotations

import pytest

from toolkit import ConfigError
from toolkit._checks.options import dig, statuses


@pytest.mark.parametrize(
    ("given", "inside", "outside", "label"),
    [
        (200, [200], [201], "200"),
        (range(200, 400), [200, 399], [199, 400], "200-399"),
        ([200, 204], [200, 204], [201], "200, 204"),
        ("2xx", [200, 299], [300], "2xx"),
        ("200-299", [200, 299], [300], "200-299"),
        ("204", [204], [200], "204"),
    ],
)
def test_statuses_accept_each_form(
    given: object, inside: list[int], outside: list[int], label: str
) -> None:
    accepted = statuses(given)
    assert all(code in accepted for code in inside)
    assert not any(code in accepted for code in outside)
    assert accepted.label == label


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (True, "expect_status must be a status"),
        (99, "expect_status 99 is not an HTTP status from 100 to 599"),
        ("299-200", "ends before it starts"),
        ("ok", "expect_status must be a status"),
        ([], "expect_status is an empty list"),
        (range(300, 200), "is empty"),
        (2.5, "expect_status must be a status"),
    ],
)
def test_statuses_refuse_bad_values_saying_what_is_accepted(given: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        statuses(given)


def test_dig_follows_keys_and_list_indexes() -> None:
    document = {"data": {"items": [{"id": 7}, {"id": 8}]}}
    assert dig(document, "data.items.1.id") == 8
    assert dig(document, "data.items.-1.id") == 8


def test_dig_says_where_it_stopped() -> None:
    with pytest.raises(KeyError) as info:
        dig({"data": {"items": [1]}}, "data.items.3")
    assert info.value.args[0] == "'3' not found at data.items (a list of 1)"
    with pytest.raises(KeyError) as info:
        dig({"a": 1}, "a.b")
    assert info.value.args[0] == "'b' not found at a (a int, not an object)"
