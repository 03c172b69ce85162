"""The dashboard notebook served by Voila and driven in a real Chromium through Playwright.

Proves what only a browser can: the widgets render from their state, a click reaches
the kernel and comes back as a red badge, countdowns move on their own, and Run all
fills the call table, all without the kernel ever blocking.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "03_dashboard.ipynb"
VOILA = Path(sys.executable).parent / "voila"
NAMES = ["weather", "payments", "geocoder", "search", "crm"]
RED = "rgb(207, 34, 46)"  # STATE_COLORS["open"]
GREEN = "rgb(26, 127, 55)"  # STATE_COLORS["closed"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"voila exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"voila did not serve {url} within 60 s:\n{log.read_text()}")


@pytest.fixture
def voila_url(tmp_path: Path) -> Iterator[str]:
    """``03_dashboard.ipynb`` served by Voila on 127.0.0.1; stopped after the test."""
    port = _free_port()
    log = tmp_path / "voila.log"
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(VOILA), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
             "--show_tracebacks=True", str(NOTEBOOK.relative_to(ROOT))],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_until_serving(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def row(page: Page, name: str) -> Locator:
    return page.locator(".toolkit-row", has=page.locator(f'.toolkit-name[data-name="{name}"]'))


def badge(page: Page, name: str) -> Locator:
    return page.locator(f'.toolkit-badge[data-name="{name}"]')


def newest_run(page: Page) -> int:
    runs = page.locator(".toolkit-calls tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.run))"
    )
    return max(runs, default=0)


def test_dashboard_in_a_real_browser(
    chromium_path: str, chromium_args: list[str], voila_url: str, tmp_path: Path
) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=chromium_args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(voila_url, timeout=60_000)
            expect(page.locator(".toolkit-row")).to_have_count(len(NAMES), timeout=60_000)

            # every integration is shown, every breaker closed and green
            shown = page.locator(".toolkit-name").evaluate_all("e => e.map(x => x.dataset.name)")
            assert shown == NAMES
            for name in NAMES:
                expect(badge(page, name)).to_have_attribute("data-state", "closed")
                expect(badge(page, name)).to_have_css("background-color", GREEN)

            # Trip turns that badge red and leaves the others green
            row(page, "payments").locator("button.toolkit-trip").click()
            expect(badge(page, "payments")).to_have_attribute("data-state", "open", timeout=10_000)
            expect(badge(page, "payments")).to_have_css("background-color", RED)
            for name in NAMES:
                if name != "payments":
                    expect(badge(page, name)).to_have_attribute("data-state", "closed")
                    expect(badge(page, name)).to_have_css("background-color", GREEN)

            # the countdown moves on its own: the kernel refreshes the widgets
            trial = row(page, "payments").locator(".toolkit-trial")
            expect(trial).to_have_text(re.compile(r"trial in 1[0-5] s"))
            first = trial.inner_text()
            expect(trial).not_to_have_text(first, timeout=5_000)

            # Run all updates the call table with a new run
            before = newest_run(page)
            page.locator("button.toolkit-run-all").click()
            calls = page.locator(f'.toolkit-calls tbody tr[data-run="{before + 1}"]')
            expect(calls).to_have_count(len(NAMES), timeout=10_000)
            skipped = page.locator(
                f'.toolkit-calls tr[data-run="{before + 1}"][data-name="payments"] .toolkit-outcome'
            )
            expect(skipped).to_have_text("circuit_open")

            # a hanging call shows "running" until its timeout lands; the page stays live
            geocoder = row(page, "geocoder")
            geocoder.locator("select").select_option("hang")
            geocoder.locator("button.toolkit-rerun").click()
            expect(geocoder.locator(".toolkit-running")).to_be_visible(timeout=5_000)
            expect(geocoder.locator("button.toolkit-rerun")).to_be_disabled()
            expect(geocoder.locator('.toolkit-outcome[data-outcome="timeout"]')).to_be_visible(
                timeout=10_000
            )
            expect(geocoder.locator(".toolkit-running")).to_have_count(0)

            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
        finally:
            browser.close()
