"""A backend outage: the PostgreSQL catalog server stops under a running lakeflight and starts
again. Meanwhile /ready says 503 and writes fail with an error that names the catalog, committing
nothing; afterwards the same process serves again without a restart, and every acknowledged row
is there exactly once."""

from __future__ import annotations

import uuid

import adbc_driver_manager
import pytest

import pgserver
from conftest import connect, ingest_ids, ready_status, start_server, stop, wait_until


@pytest.fixture
def cluster():
    """A PostgreSQL server of this test's own: stopping it disturbs no other test."""
    with pgserver.running("lakeflight-e2e-outage-") as c:
        yield c


def test_catalog_outage_and_recovery(tmp_path, cluster):
    srv = start_server(tmp_path / "data", "--catalog-driver", "postgres", "--catalog-uri", cluster.new_database())
    table = f"outage_{uuid.uuid4().hex[:8]}"
    try:
        ingest_ids(srv, table, [1, 2, 3])
        cluster.stop()

        wait_until(lambda: ready_status(srv) == 503, "/ready did not turn 503 with the catalog down")
        with pytest.raises(adbc_driver_manager.Error) as err:
            ingest_ids(srv, table, [4, 5])
        assert "(Unavailable;" in str(err.value) and "catalog database cannot be reached" in str(err.value), err.value
        assert srv.proc.poll() is None, "lakeflight died with its catalog server"

        cluster.start()
        wait_until(lambda: ready_status(srv) == 200, "/ready did not recover after the catalog came back")
        ingest_ids(srv, table, [6, 7])
        with connect(srv) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT list(id ORDER BY id) FROM bronze.{table}")
            assert cur.fetchone()[0] == [1, 2, 3, 6, 7]
    finally:
        stop(srv)
