"""The pgwire bench's PostgreSQL cluster: the tests' private server (e2e/pgserver.py) with the
bench's settings.

The server is started with durability off (fsync, full-page writes) and wal_level=minimal, which
only speeds up the load; reads are unaffected. Autovacuum is off: the bench vacuums the table itself,
and no worker may come and go while a reader's backend CPU is counted. shared_buffers is sized to
hold the whole table, so a read never waits on the disk (lakeflight's Parquet files sit in the page
cache the same way).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e"))

import pgserver  # noqa: E402
from pgserver import Cluster, ClusterError  # noqa: E402, F401  (the bench names them pgcluster.*)

SETTINGS = (
    "shared_buffers=2GB", "fsync=off", "full_page_writes=off", "synchronous_commit=off", "wal_level=minimal",
    "max_wal_senders=0", "max_wal_size=4GB", "maintenance_work_mem=512MB", "autovacuum=off",
)  # fmt: skip


def create(work: Path) -> Cluster:
    """A cluster in work/pg (not yet started), with the bench's settings."""
    return pgserver.create(work, SETTINGS)
