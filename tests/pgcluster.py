"""A throw-away PostgreSQL cluster: initdb + pg_ctl in a temp dir on a free port (Debian's postgresql).

Debian keeps the server programs in /usr/lib/postgresql/<version>/bin, off the PATH; both places are
searched. As root the cluster runs as the `postgres` user the package creates (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

INSTALL = "apt-get install -y postgresql"
MISSING = (
    f"PostgreSQL server programs (initdb, pg_ctl) not found. Install them with `{INSTALL}` "
    "(or run `make system-deps`, which does it)."
)


def find_bin(name: str) -> str | None:
    """Return the path of a PostgreSQL server program: on the PATH or in Debian's versioned directory."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[-3]), reverse=True
    )
    return versions[0] if versions else None


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """A running cluster: `url(db)` gives a SQLAlchemy URL for a database in it."""

    root: Path
    port: int
    pg_ctl: str
    user: str = "huashu"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = name or "t_" + uuid.uuid4().hex[:12]
        dsn = f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _run([self.pg_ctl, "-D", str(self.root / "data"), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, timeout=120)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr or done.stdout}")
    return done


def start_cluster(root: Path, *, durable: bool = False) -> Cluster:
    """Initialise and start a cluster under `root`; `durable=False` turns fsync off (tests only)."""
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError(MISSING)
    root.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o755)
        for parent in root.parents:  # the server user must reach the directory
            if parent.stat().st_mode & 0o001 == 0 and str(parent).startswith(("/tmp", "/var/tmp")):
                os.chmod(parent, parent.stat().st_mode | 0o711)
    data = root / "data"
    _run([initdb, "-D", str(data), "-U", "huashu", "--auth=trust", "-E", "UTF8", "--no-locale"])
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=50"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "-t", "60", "start"])
    return Cluster(root, port, pg_ctl)
