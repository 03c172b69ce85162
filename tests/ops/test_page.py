"""The status page as a person sees it: Chromium, light and dark, narrow and wide."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from loopback_asgi import AsgiServer
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from toolkit._engine.tally import CallTally
from toolkit._ops.page import page
from toolkit._ops.readings import Reading, Snapshot

SHOTS = Path("build/screenshots")
"""Where the screenshots go, to be looked at (build/ is not committed)."""
SHOTS.mkdir(parents=True, exist_ok=True)

CONTRAST = """
(selector) => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const back = lum(getComputedStyle(document.body).backgroundColor);
  return [...document.querySelectorAll(selector)].map((el) => {
    const fore = lum(getComputedStyle(el).color);
    return (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
  });
}
"""


def snapshot() -> Snapshot:
    readings = [
        Reading("weather", "closed", 0, 3, None, "ok", 0.04),
        Reading("payments <db>", "open", 3, 3, 42.0, "error", 1.2, "cannot connect " * 12),
        Reading("geocoder", "isolated", 0, 3, None),
    ]
    return Snapshot(readings, "redis", True, CallTally(), 1_780_000_000.0)


@pytest.fixture(scope="module")
def served() -> Iterator[AsgiServer]:
    async def status(request: Request) -> HTMLResponse:
        return HTMLResponse(page(snapshot(), refresh_s=30))

    server = AsgiServer(Starlette(routes=[Route("/", status)]))
    yield server
    server.close()


@pytest.mark.parametrize(
    ("scheme", "width"), [("light", 1280), ("dark", 1280), ("light", 400), ("dark", 400)]
)
def test_the_page_reads_well_and_fits(
    chromium_path: str, chromium_args: list[str], served: AsgiServer,
    scheme: Literal["light", "dark"], width: int,
) -> None:  # fmt: skip
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=chromium_args)
        try:
            view = browser.new_page(viewport={"width": width, "height": 700}, color_scheme=scheme)
            view.goto(served.url("/"))
            view.screenshot(path=str(SHOTS / f"status-page-{scheme}-{width}.png"))
            assert view.inner_text("#overall") == "warn"  # only optional integrations are down
            assert "payments <db>" in view.inner_text("tbody")  # escaped, shown as text
            assert (
                view.evaluate("document.documentElement.scrollWidth") <= width
            )  # no page overflow
            for selector in ("h1", "td", "th", "a"):
                ratios = view.evaluate(CONTRAST, selector)
                assert ratios and min(ratios) >= 4.5, (selector, ratios)
        finally:
            browser.close()
