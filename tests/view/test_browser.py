"""The dashboard in a real Chromium: in Voila and in JupyterLab itself, light and dark.

Proves what only a browser can: the widget draws its model, a click reaches the
kernel and comes back (a red badge, a fault chip, a new row in the calls table),
countdowns move on their own, nothing is cut off at 900 or 1,400 px (every box's
``scrollWidth`` within its ``clientWidth``), every text has a contrast of at least
4.5:1 from its computed colours, 200 integrations render, and no request leaves
127.0.0.1. One Voila, one JupyterLab and one browser serve every test here; the
screenshots land in ``build/screenshots/`` and the measured figures in its
``figures.json``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_pages import (
    BIN,
    ROOT,
    Outside,
    contrast,
    free_port,
    jupyter_env,
    record,
    serving,
    shot,
    truncated,
    write_notebook,
)
from conftest import CHROMIUM, CHROMIUM_ARGS, skip_unless_required
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

NAMES = ["weather", "payments", "geocoder", "search", "crm"]
RED = "rgb(196, 32, 43)"  # the open badge
GREEN = "rgb(26, 127, 55)"  # the closed badge
TOKEN = "toolkit-browser-test"
WIDTHS = (1400, 900)
MANY = 200
EVIL_NAME = "<img src=x onerror=window.pwned=1>"
EVIL_LABEL = "<b>bold?</b>"
EVIL_ERROR = "<script>window.pwned=2</script>"


@dataclass(frozen=True)
class Voila:
    """A running Voila: its address and its log."""

    url: str
    log: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the dashboard notebook and one with 200 integrations."""
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(ROOT / "notebooks" / "03_dashboard.ipynb", folder / "03_dashboard.ipynb")
    write_notebook(
        folder / "many.ipynb",
        [
            "import toolkit\nfrom toolkit import IntegrationRunner\n"
            "from toolkit.demo import demo_registry\n"
            f"runner = IntegrationRunner(demo_registry({MANY}, latency_scale=0.05), timeout=0.5)\n"
            "await runner.run_all()\nfor name in runner.names[::20]:\n    runner.trip(name)\n"
            "toolkit.Dashboard(runner)",
        ],
    )
    write_notebook(
        folder / "evil.ipynb",
        [
            "import toolkit\nfrom toolkit import IntegrationRegistry, IntegrationRunner\n"
            "class Evil:\n"
            f"    name = {EVIL_NAME!r}\n"
            f"    display_name = {EVIL_LABEL!r}\n"
            "    def is_configured(self): return True\n"
            "    def validate_config(self): return None\n"
            "    async def fetch(self):\n"
            f"        raise RuntimeError({EVIL_ERROR!r})\n"
            "registry = IntegrationRegistry()\nregistry.register(Evil())\n"
            "runner = IntegrationRunner(registry, timeout=0.5)\nawait runner.run_all()\n"
            "dash = toolkit.Dashboard(runner)\ndash.page_silence = 1.0\ndash",
        ],
    )
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    if not os.access(CHROMIUM, os.X_OK):
        skip_unless_required(
            "TOOLKIT_REQUIRE_BROWSER", f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def voila(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Voila]:
    """Voila serving ``site`` on 127.0.0.1, with the toolkit's offline template."""
    port = free_port()
    home = tmp_path_factory.mktemp("voila-home")
    command = [
        str(BIN / "voila"), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True", "--template=toolkit",
        # the documented culling with shorter times, so a closed page's kernel ends within
        # the test; 10 s idle leaves a loaded machine time to connect a page to its kernel
        "--MappingKernelManager.cull_interval=1", "--MappingKernelManager.cull_idle_timeout=10",
        str(site),
    ]  # fmt: skip
    log = home / "voila.log"
    with serving(command, f"http://127.0.0.1:{port}/", site, log, jupyter_env(home)) as url:
        yield Voila(url, log)


@pytest.fixture(scope="module")
def lab(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab serving ``site`` on 127.0.0.1, its app reachable from the page."""
    if not (BIN / "jupyter-lab").exists():
        pytest.fail("JupyterLab is not installed: make .venv/.installed-lab (the lab extra)")
    port = free_port()
    home = tmp_path_factory.mktemp("lab-home")
    command = [
        str(BIN / "jupyter-lab"), "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={TOKEN}", "--expose-app-in-browser",
        f"--ServerApp.root_dir={site}", "--LabApp.news_url=", "--ServerApp.open_browser=False",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if os.getuid() == 0:
        command.append("--allow-root")
    url = f"http://127.0.0.1:{port}/"
    with serving(
        command, url + "api/status?token=" + TOKEN, site, home / "lab.log", jupyter_env(home)
    ):
        yield url


def new_page(browser: Browser, width: int) -> tuple[Page, Outside]:
    """A page of ``width`` x 1000 px whose requests beyond 127.0.0.1 are refused and noted."""
    context = browser.new_context(viewport={"width": width, "height": 1000})
    outside = Outside()
    context.route("**/*", outside)
    page = context.new_page()
    page.on("pageerror", outside.error)
    return page, outside


def row(page: Page, name: str) -> Locator:
    return page.locator(f'.toolkit-row[data-name="{name}"]')


def badge(page: Page, name: str) -> Locator:
    return page.locator(f'.toolkit-badge[data-name="{name}"]')


def newest_run(page: Page) -> int:
    runs = page.locator(".toolkit-calls tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.run))"
    )
    return max(runs, default=0)


def looks_right(page: Page, name: str) -> None:
    """At 1,400 and 900 px: nothing cut off, every text readable; a screenshot of each."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        page.wait_for_timeout(300)  # a layout pass and a repaint
        cut = truncated(page)
        assert cut == [], f"{name} at {width} px: {cut}"
        found = contrast(page)
        assert found["checked"] > 40 and found["low"] == [], f"{name} at {width} px"
        shot(page, f"{name}-{width}")


def show_everything(page: Page) -> None:
    """Open one breaker by hand and arm a fault on another, so every kind of text is shown."""
    row(page, "payments").locator("button.toolkit-trip").click()
    expect(badge(page, "payments")).to_have_attribute("data-state", "open", timeout=10_000)
    geocoder = row(page, "geocoder")
    geocoder.locator("select.toolkit-fault").select_option("fail")
    expect(geocoder.locator(".toolkit-fault-chip")).to_be_visible(timeout=10_000)
    geocoder.locator("button.toolkit-rerun").click()
    expect(geocoder.locator('.toolkit-outcome[data-outcome="error"]')).to_be_visible(timeout=10_000)


# ---------------------------------------------------------------------------- Voila


def test_voila_light_controls_work_and_show(
    browser: Browser, voila: Voila, chromium_path: str
) -> None:
    page, outside = new_page(browser, 1400)
    page.goto(voila.url + "voila/render/03_dashboard.ipynb", timeout=60_000)
    expect(page.locator(".toolkit-row[data-name]")).to_have_count(len(NAMES), timeout=60_000)
    assert page.locator(".toolkit-name").evaluate_all("e => e.map(x => x.dataset.name)") == NAMES
    for name in NAMES:
        expect(badge(page, name)).to_have_attribute("data-state", "closed")
        expect(badge(page, name)).to_have_css("background-color", GREEN)
    expect(page.locator(".toolkit-headline")).to_have_text("all 5 healthy")
    expect(page.locator(".toolkit-live")).to_have_attribute("data-live", "true", timeout=10_000)

    # Trip turns that badge red, says why and since when, and counts down on its own
    trip = row(page, "payments").locator("button.toolkit-trip")
    trip.click()
    expect(badge(page, "payments")).to_have_attribute("data-state", "open", timeout=10_000)
    expect(badge(page, "payments")).to_have_css("background-color", RED)
    # the timeline is redrawn with the row, in the same message, not at the next second
    lane = '.toolkit-lane[data-name="payments"] .toolkit-seg[data-state="open"]'
    assert page.locator(lane).count() == 1
    # and a breaker opened a moment ago is visible in it, not a sliver under a pixel wide
    box = page.locator(lane).bounding_box()
    assert box is not None and box["width"] >= 3
    for name in NAMES:
        if name != "payments":
            expect(badge(page, name)).to_have_attribute("data-state", "closed")
    payments = row(page, "payments")
    expect(payments.locator(".toolkit-why")).to_have_text("tripped by hand")
    expect(payments.locator(".toolkit-since")).to_have_text(
        re.compile(r"open since \d\d:\d\d:\d\d")
    )
    expect(page.locator(".toolkit-headline")).to_have_text(
        re.compile(r"1 of 5 failing: Payments gateway \(open \d+ s\)")
    )
    trial = payments.locator(".toolkit-trial")
    expect(trial).to_have_text(re.compile(r"trial in 1[0-5] s"))
    first = trial.inner_text()
    expect(trial).not_to_have_text(first, timeout=5_000)
    expect(
        page.locator('.toolkit-lane[data-name="payments"] .toolkit-seg[data-state="open"]')
    ).to_have_count(1)

    # Reset closes it again and the why goes away
    payments.locator("button.toolkit-reset").click()
    expect(badge(page, "payments")).to_have_attribute("data-state", "closed", timeout=10_000)
    expect(payments.locator(".toolkit-why")).to_have_text("")

    # Run all adds a run to the calls table
    before = newest_run(page)
    page.locator("button.toolkit-run-all").click()
    expect(page.locator(f'.toolkit-calls tbody tr[data-run="{before + 1}"]')).to_have_count(
        len(NAMES), timeout=10_000
    )

    # a hanging fault: its chip shows, Rerun shows "running" until the timeout lands
    geocoder = row(page, "geocoder")
    geocoder.locator("select.toolkit-fault").select_option("hang")
    expect(geocoder.locator(".toolkit-fault-chip")).to_have_text(
        re.compile("fault: hang"), timeout=10_000
    )
    geocoder.locator("button.toolkit-rerun").click()
    expect(geocoder.locator(".toolkit-running")).to_be_visible(timeout=5_000)
    expect(geocoder.locator("button.toolkit-rerun")).to_be_disabled()
    expect(geocoder.locator('.toolkit-outcome[data-outcome="timeout"]')).to_be_visible(
        timeout=10_000
    )
    expect(geocoder.locator(".toolkit-running")).to_be_hidden()
    expect(page.locator(".toolkit-headline")).to_have_text(re.compile(r"1 of 5 failing: Geocoder"))

    # the chip's own control clears the fault, and the selector follows
    geocoder.locator("button.toolkit-fault-clear").click()
    expect(geocoder.locator(".toolkit-fault-chip")).to_be_hidden(timeout=10_000)
    expect(geocoder.locator("select.toolkit-fault")).to_have_value("none")

    # a policy field applies to every row
    field = page.locator("input.toolkit-policy-fail-max")
    field.fill("5")
    field.press("Enter")
    expect(row(page, "weather").locator(".toolkit-failures")).to_have_text(
        "0/5 failures", timeout=10_000
    )

    show_everything(page)
    looks_right(page, "voila-light")
    clicks = page.evaluate("globalThis.toolkitDashboardFigures.clicks")
    assert clicks and all(c["ok"] for c in clicks)
    record("voila click shown on screen, ms (max)", round(max(c["shown_ms"] for c in clicks), 1))
    record(
        "voila click acknowledged by the kernel, ms (median)",
        round(sorted(c["ack_ms"] for c in clicks)[len(clicks) // 2], 1),
    )
    assert max(c["shown_ms"] for c in clicks) <= 100  # the pending mark is painted at once
    page.context.close()
    assert outside.refused == [] and outside.errors == []


def test_voila_dark_is_readable_and_fits(
    browser: Browser, voila: Voila, chromium_path: str
) -> None:
    page, outside = new_page(browser, 1400)
    page.goto(voila.url + "voila/render/03_dashboard.ipynb?theme=dark", timeout=60_000)
    expect(page.locator(".toolkit-row[data-name]")).to_have_count(len(NAMES), timeout=60_000)
    expect(page.locator(".toolkit-dash")).to_have_attribute("data-theme", "dark")
    show_everything(page)
    looks_right(page, "voila-dark")
    page.context.close()
    assert outside.refused == [] and outside.errors == []


def test_two_hundred_integrations_render(
    browser: Browser, voila: Voila, chromium_path: str
) -> None:
    page, outside = new_page(browser, 1400)
    page.goto(voila.url + "voila/render/many.ipynb", timeout=60_000)
    expect(page.locator(".toolkit-row[data-name]")).to_have_count(MANY, timeout=60_000)
    expect(page.locator('.toolkit-badge[data-state="open"]')).to_have_count(MANY // 20)
    page.wait_for_function(
        "globalThis.toolkitDashboardFigures.renders.some(r => r.source === 'full')"
    )
    renders = page.evaluate("globalThis.toolkitDashboardFigures.renders")
    full = [r["ms"] for r in renders if r["source"] == "full" and r["rows"] == MANY]
    record("200 integrations drawn after the kernel's reply, ms", round(max(full), 1))
    assert max(full) <= 1500
    assert truncated(page) == []
    shot(page, "voila-200")
    page.context.close()
    assert outside.refused == [] and outside.errors == []


def test_texts_from_integrations_stay_text_and_a_closed_page_lets_its_kernel_go(
    browser: Browser, voila: Voila, chromium_path: str
) -> None:
    page, outside = new_page(browser, 1400)
    page.goto(voila.url + "voila/render/evil.ipynb", timeout=60_000)
    expect(page.locator(".toolkit-row[data-name]")).to_have_count(1, timeout=60_000)
    expect(page.locator(".toolkit-name")).to_have_text(EVIL_LABEL)
    expect(page.locator(".toolkit-row .toolkit-error-text")).to_have_text(
        f"RuntimeError: {EVIL_ERROR}"
    )
    assert page.locator(".toolkit-dash img, .toolkit-dash script, .toolkit-dash b").count() == 0
    assert page.evaluate("window.pwned === undefined")
    started = voila.log.read_text().split("Notebook evil.ipynb", 1)[1]
    kernel = re.search(r"Kernel started: ([0-9a-f-]+)", started)
    assert kernel is not None
    closed = time.monotonic()
    page.context.close()  # the page goes; its kernel stops sending and goes idle
    while f"Kernel shutdown: {kernel[1]}" not in voila.log.read_text():
        assert time.monotonic() < closed + 45, "the closed page's kernel was not culled"
        time.sleep(0.5)
    assert re.search(rf"Culling 'idle' kernel .*{kernel[1]}", voila.log.read_text())
    record("kernel culled after its page closed, s", round(time.monotonic() - closed, 1))
    assert outside.refused == [] and outside.errors == []


# ----------------------------------------------------------------------- JupyterLab


# Code run in the dashboard notebook's kernel: how long an open breaker takes to answer
# while the dashboard refreshes every second in the same kernel, and with it stopped.
REFUSALS = """
import json, statistics
runner.trip("search")
async def _answers(n=150):
    taken = []
    for _ in range(n):
        await runner.run_one("search")
        taken.append(runner.history[-1].duration_s * 1e6)
        await asyncio.sleep(0.01)
    return [round(statistics.median(taken), 1), round(max(taken), 1)]
import asyncio
live = await _answers()
dashboard.stop()
quiet = await _answers()
dashboard.start()
runner.reset("search")
print(json.dumps({"live": live, "quiet": quiet}))
"""
RUN_IN_KERNEL = """
async code => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({code});
  let out = "";
  future.onIOPub = msg => { if (msg.header.msg_type === "stream") out += msg.content.text; };
  await future.done;
  return JSON.parse(out);
}
"""


def open_in_lab(page: Page, lab: str) -> None:
    """Open the dashboard notebook in JupyterLab (file browser open) and run every cell."""
    page.goto(f"{lab}lab/tree/03_dashboard.ipynb?token={TOKEN}", timeout=60_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.started", timeout=60_000)
    page.wait_for_function(
        "window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext",
        timeout=60_000,
    )
    page.evaluate("window.jupyterapp.shell.currentWidget.sessionContext.ready")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    expect(page.locator(".toolkit-row[data-name]")).to_have_count(len(NAMES), timeout=60_000)


def test_jupyterlab_light_and_dark(browser: Browser, lab: str, chromium_path: str) -> None:
    page, outside = new_page(browser, 1400)
    open_in_lab(page, lab)
    expect(page.locator(".jp-FileBrowser")).to_be_visible()
    show_everything(page)
    expect(page.locator(".toolkit-headline")).to_have_text(
        re.compile(r"2 of 5 failing: Payments gateway \(open \d+ s\), Geocoder")
    )
    looks_right(page, "lab-light")
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_selector('body[data-jp-theme-light="false"]', state="attached", timeout=20_000)
    expect(page.locator(".toolkit-dash")).to_have_attribute("data-theme", "dark", timeout=5_000)
    looks_right(page, "lab-dark")
    refusals = page.evaluate(RUN_IN_KERNEL, REFUSALS)
    live, quiet = (refusals[k] for k in ("live", "quiet"))
    record("lab circuit_open answers with the dashboard live, µs (median, max)", live)
    record("lab circuit_open answers with it stopped, µs (median, max)", quiet)
    assert live[0] < 1000  # answered without calling fetch, far from any timeout
    page.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    page.evaluate("window.jupyterapp.commands.execute('kernelmenu:shutdown')")
    page.context.close()
    assert outside.refused == [] and outside.errors == []
