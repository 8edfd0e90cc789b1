"""A private PostgreSQL server for tests and benches: Debian's server binaries (apt-get install
postgresql), a data directory of its own, a free loopback port, trust authentication.

PostgreSQL refuses to run as root, so under root the directory belongs to the `postgres` user (the
Debian package creates it) and every server command runs through `runuser`. Extra server settings
(`-c name=value`) come from the caller: the tests turn durability off, the pgwire bench also sizes
its buffers.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 60
SERVER_USER = "postgres"
# What the tests run with: the data is thrown away, so durability is off.
TEST_SETTINGS = ("fsync=off", "full_page_writes=off", "synchronous_commit=off", "max_connections=200")


class ClusterError(Exception):
    pass


def bindir() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl."""
    found = [
        Path(d)
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()
    ]
    if not found:
        raise ClusterError("no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    bin: Path
    data: Path
    socket_dir: Path
    log: Path
    port: int
    user: str | None  # who runs the server; None: this process's user
    settings: tuple[str, ...] = TEST_SETTINGS
    _dbs: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ClusterError(
                f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}\n{tail(self.log)}"
            )
        return proc

    def dsn(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}?sslmode=disable"

    @property
    def tcp_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def unix_dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._run(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
        opts = " ".join(
            [f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=127.0.0.1"]
            + [f"-c {s}" for s in self.settings]
        )
        self._run(
            str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", str(START_TIMEOUT_S), "-o", opts,
        )  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown when the server is up; a no-op otherwise."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w")

    def new_database(self) -> str:
        """An empty database of its own; its URL."""
        name = f"t{os.getpid()}_{next(self._dbs)}"
        self._run(str(self.bin / "psql"), "-X", "-q", "-d", self.dsn(), "-c", f"CREATE DATABASE {name}")
        return self.dsn(name)

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])

    def version(self) -> str:
        out = subprocess.run([str(self.bin / "postgres"), "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip().removeprefix("postgres (PostgreSQL) ") or "?"


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def create(work: Path, settings: tuple[str, ...] = TEST_SETTINGS) -> Cluster:
    """A cluster in work/pg (not yet started). Under root, work/pg belongs to the postgres user and
    work must let that user through."""
    base = work / "pg"
    base.mkdir()
    user = None
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam(SERVER_USER)
        except KeyError as e:
            raise ClusterError(f"running as root needs a {SERVER_USER!r} user to own the cluster") from e
        if shutil.which("runuser") is None:
            raise ClusterError("running as root needs runuser (util-linux) to start the cluster")
        user = SERVER_USER
        os.chmod(work, 0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    c = Cluster(
        bin=bindir(), data=base / "data", socket_dir=base, log=base / "server.log", port=free_port(), user=user,
        settings=settings,
    )  # fmt: skip
    if user:
        # The log is opened by pg_ctl as the server user.
        c.log.touch()
        os.chown(c.log, pw.pw_uid, pw.pw_gid)
    return c


@contextmanager
def running(prefix: str = "lakeflight-pg-") -> Iterator[Cluster]:
    """A private cluster, started, then stopped and removed. Its directory is not under pytest's
    temporary directories: they are private to this user, and the server may run as postgres."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    cluster = create(work)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
