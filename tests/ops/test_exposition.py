"""The text renderer writes exactly what prometheus_client's generate_latest writes."""

from __future__ import annotations

from typing import Any

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from toolkit._ops.exposition import Family, Histogram, TextRenderer, to_metric

LES = ("0.1", "1.0", "+Inf")


class Fixed:
    """A registry-like object collecting the given families."""

    def __init__(self, families: list[Family]) -> None:
        self.families = families

    def collect(self) -> Any:
        return [to_metric(f, LES) for f in self.families]


def families(odd_name: str) -> list[Family]:
    gauge = Family("t_state", "gauge", 'Help with \\ and\nnewline "quotes"', ("name", "state"))
    gauge.add((odd_name, "open"), 1)
    gauge.add(("plain", "open"), 0.25)
    gauge.add(("big", "open"), 12_345_678)
    gauge.add(("neg", "open"), -1)
    counter = Family("t_refused", "counter", "Refused", ("name",))
    counter.add((odd_name,), 3)
    hist = Family("t_calls_seconds", "histogram", "Calls", ("name", "outcome"))
    hist.add_histogram(Histogram((odd_name, "ok"), [1, 2, 5], 5, 3.75))
    empty = Family("t_empty", "gauge", "Nothing", ())
    return [gauge, counter, hist, empty]


def test_renders_byte_for_byte_what_generate_latest_writes() -> None:
    fams = families('we"ird\\name\nwith lines')
    expected = generate_latest(Fixed(fams)).decode()
    renderer = TextRenderer(LES)
    assert renderer.render(fams) == expected
    assert renderer.render(fams) == expected  # and again from its cache


def test_the_output_parses_back_to_the_values() -> None:
    text = TextRenderer(LES).render(families("svc"))
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    buckets = {
        s.labels["le"]: s.value
        for s in parsed["t_calls_seconds"].samples
        if s.name.endswith("_bucket")
    }
    assert buckets == {"0.1": 1.0, "1.0": 2.0, "+Inf": 5.0}
    refused = parsed["t_refused"].samples[0]
    assert (refused.name, refused.value) == ("t_refused_total", 3.0)
