"""``shown``: any value as capped text with a note of what was cut, never raising."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit._engine.shown import SHOWN_CHARS, Shown, shown, shown_parts


class Unreadable:
    """Both ``str`` and ``repr`` raise."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class NotText:
    """``__str__`` returns something that is not a string; ``repr`` raises."""

    def __str__(self) -> Any:
        return 42

    def __repr__(self) -> str:
        raise ValueError("no")


class Shouting:
    """``str`` raises, ``repr`` works."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        return "Shouting()"


def test_short_values_are_shown_whole() -> None:
    assert shown("abc") == "abc"
    assert shown(12.5) == "12.5"
    assert shown({"a": [1, (2,), {3}], "b": None}) == str({"a": [1, (2,), {3}], "b": None})
    assert shown(frozenset()) == "frozenset()"
    assert shown(()) == "()"


def test_long_string_is_cut_with_the_count_of_what_was_cut() -> None:
    text = "x" * 50_000_000
    result = shown(text)
    assert result == "x" * SHOWN_CHARS + f"… [+{50_000_000 - SHOWN_CHARS:,} characters]"
    parts = shown_parts(text, 10)
    assert parts == Shown("x" * 10, 49_999_990, "characters")


def test_one_character_cut_is_singular() -> None:
    assert shown("abcd", 3) == "abc… [+1 character]"


def test_value_whose_str_and_repr_raise_is_marked() -> None:
    assert shown(Unreadable()) == "<unreadable Unreadable>"
    assert shown(NotText()) == "<unreadable NotText>"
    assert shown(Shouting()) == "Shouting()"


def test_unreadable_item_is_marked_in_place() -> None:
    assert shown([1, Unreadable(), "a"]) == "[1, <unreadable Unreadable>, 'a']"
    assert shown({"k": Unreadable()}) == "{'k': <unreadable Unreadable>}"


def test_huge_list_costs_only_what_is_shown_and_counts_the_items_left_out() -> None:
    items = list(range(10_000_000))
    result = shown_parts(items, 20)
    assert result.text == "[0, 1, 2, 3, 4, 5, 6"
    assert result.unit == "items"
    assert result.cut == 10_000_000 - 7
    assert str(result).endswith(f"… [+{10_000_000 - 7:,} items]")


def test_a_list_that_holds_itself_is_written_like_repr() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    assert shown(loop) == repr(loop)


class Anything:
    """A value drawn from hypothesis with a hostile ``repr`` mixed in."""


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=50),
    st.binary(max_size=20),
    st.builds(Unreadable),
    st.builds(NotText),
    st.builds(Shouting),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=_values, limit=st.integers(min_value=1, max_value=200))
def test_any_value_is_shown_within_the_cap(value: object, limit: int) -> None:
    result = shown_parts(value, limit)
    assert len(result.text) <= limit
    whole = _readable(value)
    if whole is not None:
        # What is kept is the start of the value's own text, and the note counts the rest.
        assert whole.startswith(result.text)
        if result.unit == "characters":
            assert len(result.text) + result.cut == len(whole)
        assert (result.cut == 0) == (len(whole) <= limit)


def _readable(value: object) -> str | None:
    try:
        return str(value)
    except Exception:
        return None
