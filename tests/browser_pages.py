"""Servers and page checks for the dashboard's browser tests: Voila, JupyterLab, Chromium.

One Voila and one JupyterLab per test module, each on 127.0.0.1 over a folder of
notebooks copied from ``notebooks/`` (plus generated ones), and one Chromium whose
pages may not reach anything but 127.0.0.1: every other request is refused and
recorded. Screenshots go to ``build/screenshots/`` for a person to open.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHOTS = ROOT / "build" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}

TRUNCATED_JS = """
root => {
  const cut = [];
  const dashes = root.querySelectorAll('.toolkit-dash');
  for (const dash of dashes) {
    for (const e of [dash, ...dash.querySelectorAll('*')]) {
      if (e instanceof SVGElement) continue;
      const style = getComputedStyle(e);
      if (style.display === 'inline' || style.display === 'none') continue;
      if (e.clientWidth === 0 && e.clientHeight === 0) continue;
      if (e.scrollWidth > e.clientWidth + 1) {
        const what = `${e.tagName.toLowerCase()}.${e.className}`;
        const text = (e.textContent || '').slice(0, 60);
        cut.push(`${what}: scrollWidth ${e.scrollWidth} > clientWidth ${e.clientWidth} (${text})`);
      }
    }
    const box = dash.getBoundingClientRect();
    const parent = dash.parentElement.getBoundingClientRect();
    if (box.right > parent.right + 1) {
      cut.push(`dashboard's right edge ${box.right} beyond its output area's ${parent.right}`);
    }
  }
  return cut;
}
"""

CONTRAST_JS = """
root => {
  const parse = c => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  };
  const background = e => {
    const layers = [];
    for (let n = e; n; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor);
      if (bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
    }
    let color = [255, 255, 255, 1];
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const lum = c => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const low = [];
  let checked = 0;
  for (const dash of root.querySelectorAll('.toolkit-dash')) {
    for (const e of dash.querySelectorAll('*')) {
      if (e instanceof SVGElement) continue;
      const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
      const field = ['INPUT', 'SELECT'].includes(e.tagName);
      if (!own && !field) continue;
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      const bg = background(e);
      const fg = over(parse(getComputedStyle(e).color), bg);
      const value = ratio(fg, bg);
      checked += 1;
      if (value < 4.5) {
        const what = `${e.tagName.toLowerCase()}.${e.className}`;
        const text = (e.textContent || e.value || '').trim().slice(0, 40);
        const colors = `${getComputedStyle(e).color} on rgb(${bg.slice(0, 3).map(Math.round)})`;
        low.push(`${what} "${text}": ${value.toFixed(2)}:1 (${colors})`);
      }
    }
  }
  return {checked, low};
}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers; fail with the server's log if it exits or takes 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers (a login page or a redirect is an answer)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"server did not serve {url} within 60 s:\n{log.read_text()}")


@contextmanager
def serving(
    command: list[str], url: str, cwd: Path, log: Path, env: dict[str, str]
) -> Iterator[str]:
    """Run a server until the block ends; yields ``url`` once it answers."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until_serving(url, process, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def jupyter_env(home: Path) -> dict[str, str]:
    """An environment whose Jupyter config, data and settings live under ``home``.

    JupyterLab's news toast is turned off there, so it covers no screenshot.
    """
    settings = home / "lab-settings"
    news = settings / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    # no "Would you like to get notified about news?" toast over the screenshots
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    return {
        **os.environ,
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }


def notebook(cells: list[str]) -> dict[str, Any]:
    """A notebook of code cells."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": c,
            }
            for c in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a notebook of ``cells`` to ``path``."""
    path.write_text(json.dumps(notebook(cells)))
    return path


class Outside:
    """Records and refuses every request a page makes to anything but 127.0.0.1."""

    def __init__(self) -> None:
        self.refused: list[str] = []
        self.errors: list[str] = []
        """Uncaught errors of the page's scripts (``page.on("pageerror", outside.error)``)."""

    def error(self, exc: object) -> None:
        """Note an uncaught script error of the page."""
        self.errors.append(str(exc))

    def __call__(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK:
            route.continue_()
            return
        self.refused.append(route.request.url)
        route.abort()


def truncated(page: Page) -> list[str]:
    """Every element of every dashboard on ``page`` whose content is wider than its box."""
    cut: list[str] = page.locator("body").evaluate(TRUNCATED_JS)
    return cut


def contrast(page: Page) -> dict[str, Any]:
    """How many texts were checked, and those below 4.5:1 against their background."""
    found: dict[str, Any] = page.locator("body").evaluate(CONTRAST_JS)
    return found


def shot(page: Page, name: str) -> Path:
    """Save a screenshot of ``page`` as ``build/screenshots/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def record(name: str, value: object) -> None:
    """Add a measured figure to ``build/screenshots/figures.json`` (and print it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / "figures.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2, sort_keys=True))
    print(f"figure {name}: {value}")
