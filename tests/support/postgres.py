"""A throw-away PostgreSQL server for a test: initdb in a temporary folder, a free loopback port, stopped after.

Uses the system's server binaries (apt ``postgresql``: /usr/lib/postgresql/<version>/bin). As root the
server runs as the ``postgres`` user, as PostgreSQL requires; the data folder lives in /tmp so that user
can reach it (pytest's own tmp_path is private to root).
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.browser import free_port

SERVER_USER = "postgres"


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin/ folder (with initdb and pg_ctl), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def postgres_status() -> tuple[bool, str]:
    """(usable, why not): the server binaries, and the postgres user to run them when we are root."""
    if server_bin() is None:
        return False, "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return False, f"running as root, but there is no {SERVER_USER!r} user to run the server"
    return True, ""


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else command


def _run(*command: str) -> None:
    """Run a server command (as the postgres user when we are root); a clear error with its output."""
    done = subprocess.run(_as_server_user(list(command)), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"PostgreSQL: {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def postgres_server(database: str = "gradebook") -> Iterator[str]:
    """Start a server with an empty ``database``; yields its SQLAlchemy URL (psycopg 3); stops and removes it."""
    bin_dir = server_bin()
    folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))
    data, port = folder / "data", free_port()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    try:
        _run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", SERVER_USER, "--no-sync")
        # fsync off: a test's database need not survive a power cut, and this saves seconds.
        _run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o",
             f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        try:
            _run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", SERVER_USER, database)
            yield f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{port}/{database}"
        finally:
            _run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
