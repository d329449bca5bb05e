"""A JupyterLab server and a headless Chromium page on it, for the tests that work as a student does."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from autograde import pdf
from tests.support.paths import FIXTURES, REPO, TESTS

# A real chapter that trains with course.fit and shows a HistoryPlotter; the small sample until one exists.
CHAPTERS = [REPO / "notebooks" / "05-mlp" / "05-mlp.ipynb", FIXTURES / "sample_chapter.ipynb"]
ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS", TESTS / "artifacts"))


# Watches the page from before "Run All" so that a progress bar seen only while training still counts
# (fit's bar is a tqdm widget with leave=False: it is closed when training ends).
WATCH_PROGRESS = """() => {
  window.__sawProgress = [];
  const look = (node) => {
    if (!(node instanceof Element)) return;
    const bar = '.widget-hprogress, .widget-vprogress, .progress-bar, progress';  // ipywidgets 8 classes
    if (node.matches(bar) || node.querySelector(bar)) {
      window.__sawProgress.push('widget');
    } else if (/Epoch.*\\d+%/.test(node.textContent || '') && node.closest('.jp-OutputArea-output')) {
      window.__sawProgress.push('text');
    }
  };
  new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(look)))
    .observe(document.body, {childList: true, subtree: true});
}"""

ALL_CELLS_RAN = """() => {
  const prompts = Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'));
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chapter() -> Path:
    return next(path for path in CHAPTERS if path.exists())


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory, fashion_root):
    """A JupyterLab server on 127.0.0.1 with a token, serving a folder that holds a copy of the chapter."""
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(chapter(), root / chapter().name)
    home = tmp_path_factory.mktemp("lab-home")  # settings and workspaces of this run only
    # No "official Jupyter news?" toast over the notebook (it would ask the internet anyway).
    notification = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false"}))
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}  # the kernel draws inline
    env.update(COURSE_FAST="1", COURSE_DATA_DIR=str(fashion_root), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser",
               "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate"]
    with jupyter_server(command, root, home, env) as (base, token):
        yield base, token, root


@contextmanager
def jupyter_server(command: list[str], root: Path, home: Path, env: dict) -> Iterator[tuple[str, str]]:
    """(base URL, token) of ``command`` (a Jupyter server app) on 127.0.0.1 serving ``root``; always stopped after."""
    port, token = free_port(), secrets.token_hex(16)
    command = [*command, "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True"]
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Jupyter server did not start: {(home / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token
    finally:
        # The whole session: the server and the kernels it started.
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def wait_for_kernel(page, base: str, token: str, name: str, limit_s: float = 120) -> None:
    """Until the notebook has an idle kernel; accepts JupyterLab's "Select Kernel" dialog if it asks."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        accept = page.locator(".jp-Dialog .jp-mod-accept")
        if accept.count():  # sometimes shown when the kernel list arrives after the notebook opens
            accept.first.click()
        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=5) as answer:
            sessions = json.load(answer)
        states = [s["kernel"]["execution_state"] for s in sessions if s["path"].endswith(name) and s.get("kernel")]
        if "idle" in states and not page.locator(".jp-Dialog").count():
            return
        time.sleep(0.5)
    raise TimeoutError(f"no idle kernel for {name} after {limit_s} s")


@contextmanager
def lab_page() -> Iterator:
    """A page of the system's headless Chromium, sized for JupyterLab; the browser closes afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(pdf.find_chromium()), args=pdf.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            yield page
        finally:
            browser.close()


# What a page shows once loaded: MathJax output elements, formula errors, its width and its text.
PAGE_FACTS = """() => ({
  typeset: document.querySelectorAll('.MathJax, .MathJax_Display, mjx-container').length,
  raw_tex: document.body.innerText.includes('$$'),
  errors: document.querySelectorAll('.MathJax_Error, [data-mjx-error]').length,
  width: document.documentElement.scrollWidth,
  text: document.body.innerText,
})"""


def on_this_machine(url: str) -> bool:
    """Whether ``url`` is answered without leaving the machine (a file, inline data, loopback)."""
    parts = urlsplit(url)
    return parts.scheme in ("file", "data", "blob", "about") or parts.hostname in ("127.0.0.1", "localhost", "::1")


@contextmanager
def offline_page(width: int = 1280, height: int = 900) -> Iterator:
    """(page, outside): a headless Chromium page ``width`` px wide that refuses every request off the machine
    and lists it in ``outside``; the browser closes afterwards."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def answer(route) -> None:
        if on_this_machine(route.request.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(pdf.find_chromium()), args=pdf.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            page.route("**/*", answer)
            yield page, outside
        finally:
            browser.close()


def read_page(page, url: str, screenshot: Path | None = None, ready: str | None = None) -> dict:
    """Open ``url``, wait for MathJax (if the page loads it), images and the ``ready`` selector;
    PAGE_FACTS, and a full-page screenshot."""
    page.goto(url, wait_until="load")
    page.wait_for_function("() => document.readyState === 'complete'")
    if ready:
        page.wait_for_selector(ready, state="attached")
    page.evaluate(pdf.WAIT_FOR_PAGE, 30_000)
    facts = page.evaluate(PAGE_FACTS)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    return facts
