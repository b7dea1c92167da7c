"""The system's Chromium under Playwright, for the page's tests and its load benchmark (not used by the page).

Playwright's Python package (the ``dev`` extra) drives Debian's ``chromium`` package (``apt-get install
chromium``; ``make test`` installs it where ``/usr/bin/chromium`` is missing), never a browser Playwright
downloads itself. ``REVIEW_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser")
# Playwright's clicks are user gestures, but the page's tests also start audio from scripts.
CHROMIUM_ARGS = ["--autoplay-policy=no-user-gesture-required"]


def chromium_path() -> Path | None:
    """``REVIEW_CHROMIUM``, else the first of ``chromium``, ``chromium-browser`` on the PATH; None without one."""
    if named := os.environ.get("REVIEW_CHROMIUM"):
        return Path(named)
    found = next((shutil.which(name) for name in CHROMIUM_NAMES if shutil.which(name)), None)
    return Path(found) if found else None


@contextmanager
def chromium() -> Iterator[object]:
    """A headless system Chromium (a Playwright ``Browser``), closed on exit. ``RuntimeError`` naming the fix
    when Playwright or Chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        raise RuntimeError("Playwright is missing: pip install -e '.[dev]' (or pip install playwright)") from error
    path = chromium_path()
    if path is None or not path.exists():
        raise RuntimeError("no Chromium found: apt-get install chromium (Debian), or set REVIEW_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
