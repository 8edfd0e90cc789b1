"""A private PostgreSQL cluster for the pgwire bench: Debian's server binaries, a data directory
under the bench's work directory, a free loopback port, trust authentication.

PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres` user (the
Debian package creates it) and every server command runs through `runuser`. The server is started
with durability off (fsync, full-page writes) and wal_level=minimal, which only speeds up the load;
reads are unaffected. Autovacuum is off: the bench vacuums the table itself, and no worker may
come and go while a reader's backend CPU is counted. shared_buffers is sized to hold the whole
table, so a read never waits on the disk (lakeflight's Parquet files sit in the page cache the
same way).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lakeflight_proc import free_port

START_TIMEOUT_S = 60
SERVER_USER = "postgres"


class ClusterError(Exception):
    pass


def bindir() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl."""
    found = [Path(d) for d in glob.glob("/usr/lib/postgresql/*/bin")
             if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists()]
    if not found:
        raise ClusterError("no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


@dataclass
class Cluster:
    bin: Path
    data: Path
    socket_dir: Path
    log: Path
    port: int
    user: str | None  # who runs the server; None: this process's user

    def _run(self, *args: str, timeout: float = START_TIMEOUT_S) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ClusterError(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
                               f"\n{tail(self.log)}")
        return proc

    @property
    def tcp_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def unix_dsn(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "--no-sync")
        opts = " ".join([
            f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=127.0.0.1",
            "-c shared_buffers=2GB", "-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off",
            "-c wal_level=minimal", "-c max_wal_senders=0", "-c max_wal_size=4GB", "-c maintenance_work_mem=512MB",
            "-c autovacuum=off",
        ])
        self._run(str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.log), "-w",
                  "-t", str(START_TIMEOUT_S), "-o", opts)

    def stop(self) -> None:
        """Fast shutdown when the server is up; a no-op otherwise."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w")

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


def create(work: Path) -> Cluster:
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
    c = Cluster(bin=bindir(), data=base / "data", socket_dir=base, log=base / "server.log", port=free_port(),
                user=user)
    if user:
        # The log is opened by pg_ctl as the server user.
        c.log.touch()
        os.chown(c.log, pw.pw_uid, pw.pw_gid)
    return c
