"""A private MariaDB server for the MySQL tests: its own temp datadir, socket and loopback port, torn down after.

Debian's mariadb-server provides the binaries (.ci/system-deps installs them); nothing system-wide is started or
changed. Users: `writer` (all privileges on the store's database, for ml-metadata to create and fill it) and
`reader` (SELECT only, the way an audit account should be).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MARIADBD = next((p for p in ("/usr/sbin/mariadbd", "/usr/sbin/mysqld", shutil.which("mariadbd") or "")
                 if p and os.path.exists(p)), None)
INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
CLIENT = shutil.which("mariadb") or shutil.which("mysql")


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process dies without tearing it down (a crash, a kill -9)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except OSError:
        pass


def available() -> bool:
    return bool(MARIADBD and INSTALL_DB and CLIENT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDb:
    def __init__(self, base: Path):
        self.base = Path(base)
        self.datadir = self.base / "data"
        self.socket = str(self.base / "mysqld.sock")
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.log = self.base / "mariadbd.log"

    def start(self) -> "MariaDb":
        self.datadir.mkdir(parents=True)
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}", "--skip-test-db",
                        "--auth-root-authentication-method=normal", *user],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.process = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--pid-file={self.base / 'mariadbd.pid'}",
             "--skip-log-bin", "--innodb-buffer-pool-size=32M", "--skip-name-resolve", *user],
            stdout=open(self.log, "wb"), stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {self.log.read_text()[-2000:]}")
            if os.path.exists(self.socket) and self._ping():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"mariadbd did not start in 30 s: {self.log.read_text()[-2000:]}")

    def _ping(self) -> bool:
        result = subprocess.run([CLIENT, "--no-defaults", "-S", self.socket, "-uroot", "-e", "SELECT 1"],
                                capture_output=True)
        return result.returncode == 0

    def sql(self, statement: str) -> None:
        subprocess.run([CLIENT, "--no-defaults", "-S", self.socket, "-uroot", "-e", statement], check=True,
                       capture_output=True)

    def create_store_database(self, database: str, writer_password: str, reader_password: str) -> None:
        self.sql(f"CREATE DATABASE {database};"
                 f"CREATE USER 'writer'@'127.0.0.1' IDENTIFIED BY '{writer_password}';"
                 f"GRANT ALL ON {database}.* TO 'writer'@'127.0.0.1';"
                 f"CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY '{reader_password}';"
                 f"GRANT SELECT ON {database}.* TO 'reader'@'127.0.0.1';")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
