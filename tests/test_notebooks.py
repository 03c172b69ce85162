"""The notebooks run top to bottom on a real Jupyter kernel, and are stored without outputs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = [
    "01_quickstart.ipynb",
    "02_failure_isolation.ipynb",
    "03_dashboard.ipynb",
    "04_http_checks.ipynb",
    "05_fleet.ipynb",
    "06_tune_a_breaker.ipynb",
    "07_history.ipynb",
]

pytestmark = pytest.mark.notebook


def execute(name: str) -> Any:
    """Run notebook ``name`` in ``notebooks/`` on the python3 kernel; raises on any error."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=60,
        startup_timeout=60,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return notebook


def outputs(notebook: Any, kind: str) -> list[Any]:
    """Every output's data of mime type ``kind``."""
    return [
        out["data"][kind]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if kind in out.get("data", {})
    ]


def test_every_notebook_is_listed() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_quickstart_runs_and_reads_the_frames() -> None:
    notebook = execute("01_quickstart.ipynb")
    text = "\n".join(outputs(notebook, "text/plain"))
    assert "'city': 'Oslo'" in text
    assert "partner_feed" in text and "circuit_open" in text
    assert any("toolkit-frame" in html for html in outputs(notebook, "text/html"))


def test_failure_isolation_tells_the_story_with_plots() -> None:
    notebook = execute("02_failure_isolation.ipynb")
    streams = "".join(
        out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
    )
    assert "payments: circuit_open in" in streams
    assert re.search(r"trial call: half-open -> closed \(ok, [\d.]+ ms\)", streams)
    assert len(outputs(notebook, "image/png")) == 2  # timeline and latency
    events = [h for h in outputs(notebook, "text/html") if "new_state" in h]
    assert events and "half-open" in events[-1]  # the trial call closed the breaker
    assert re.search(r"\d\d:\d\d:\d\d\.\d{3}<", events[-1])  # event times to the millisecond


def test_dashboard_notebook_shows_a_live_dashboard() -> None:
    notebook = execute("03_dashboard.ipynb")
    assert outputs(notebook, "application/vnd.jupyter.widget-view+json")
    assert "<Dashboard over 5 integrations, live>" in outputs(notebook, "text/plain")


def test_http_checks_notebook_runs_its_config_against_its_own_server() -> None:
    notebook = execute("04_http_checks.ipynb")
    texts = outputs(notebook, "text/plain") + outputs(notebook, "text/html")
    streams = "".join(
        out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
    )
    everything = "\n".join(texts) + streams
    assert "timed out after 0.5s" in everything and "HTTP 503 Service Unavailable" in everything
    assert "api_key=***" in everything and "demo-token-4711" not in everything
    assert "<Dashboard over 5 integrations, live>" in outputs(notebook, "text/plain")
    assert "exit status 1" in streams


def test_fleet_notebook_trips_a_breaker_in_every_worker_and_cleans_up(
    redis_server_binary: str,
) -> None:
    notebook = execute("05_fleet.ipynb")
    streams = "".join(
        out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
    )
    assert " runs since the trip, 0 called weather" in streams
    assert "<FleetDashboard 'shop': 4 breakers, live>" in outputs(notebook, "text/plain")
    assert outputs(notebook, "application/vnd.jupyter.widget-view+json")
    assert "<FleetWorkers 0 of 2 running on 'shop'> <LocalRedis stopped>" in streams
    pids = [int(p) for p in streams.split("pids:", 1)[1].splitlines()[0].split()]
    assert len(pids) == 3 and not [p for p in pids if Path(f"/proc/{p}").exists()]


def test_history_notebook_archives_a_week_and_reads_its_incidents() -> None:
    notebook = execute("07_history.ipynb")
    streams = "".join(
        out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
    )
    assert "60,480 calls" in streams and "over 7 days" in streams
    assert "Scan(files=1," in streams  # one day's partition opened
    assert len(outputs(notebook, "image/png")) == 3  # two heatmaps and the incidents
    html = "\n".join(outputs(notebook, "text/html"))
    assert "geocoder" in html and "timeout" in html and "by hand" in html
    assert "mttr_s" in html and "partner_feed" in html
    assert "in force: 3 failures, wait 300 s" in html and "skipped_known_ok" in html  # replay
    assert "archive removed: True" in streams


def test_tune_a_breaker_compares_four_policies_and_applies_the_choice_live() -> None:
    notebook = execute("06_tune_a_breaker.ipynb")
    streams = "".join(
        out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", [])
    )
    assert "minutes of simulated time" in streams
    faithful = "replaying the policy in force: 0 assumed, every decision and state as recorded"
    assert f"{faithful}: True" in streams
    table = next(h for h in outputs(notebook, "text/html") if "skipped_known_ok" in h)
    for label in ("8 in a row (in force)", "3 in a row", "50% of the last 10 calls"):
        assert label in table
    assert len(outputs(notebook, "image/png")) == 1  # plots.replay
    chosen = streams.split("chosen: ", 1)[1].split(":", 1)[0]
    assert chosen in table and chosen != "8 in a row (in force)"
    assert "Policy(timeout=2s, fail_max=3, reset_timeout=20s)" in streams  # applied live
