"""nbgrader's formgrader, started for real on a course (a Jupyter server on a loopback port), and its REST API."""
from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.browser import free_port


class Formgrader:
    """A running formgrader: ``call`` its REST API (``/formgrader/api/...``) as a signed-in grader would."""

    def __init__(self, port: int, token: str):
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def __repr__(self) -> str:
        return f"Formgrader({self.base})"

    def call(self, path: str, method: str = "GET", body: dict | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


@contextlib.contextmanager
def formgrader(course: Path, limit_s: float = 120) -> Iterator[Formgrader]:
    """Start a Jupyter server with nbgrader's formgrader in ``course``; yields it once its API answers; stops it."""
    port, token = free_port(), secrets.token_hex(16)
    log = tempfile.TemporaryFile("w+")  # the server logs every request: a pipe nobody reads would fill up
    server = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                               f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}"],
                              cwd=course, stdout=log, stderr=subprocess.STDOUT)
    client, deadline = Formgrader(port, token), time.monotonic() + limit_s
    try:
        while True:
            try:
                if client.call("/formgrader/api/status").get("status"):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                server.wait()
                log.seek(0)
                raise RuntimeError(f"the formgrader did not start in {limit_s:g} s:\n{log.read()[-3000:]}")
            time.sleep(0.2)
        yield client
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
