"""A backend outage: the PostgreSQL catalog server stops under a running lakeflight and starts
again. Meanwhile /ready says 503 and writes fail with an error that names the catalog, committing
nothing; afterwards the same process serves again without a restart, and every acknowledged row
is there exactly once."""

from __future__ import annotations

import uuid

import pytest

import pgserver
from conftest import check_catalog_outage, start_server, stop


@pytest.fixture
def cluster():
    """A PostgreSQL server of this test's own: stopping it disturbs no other test."""
    with pgserver.running("lakeflight-e2e-outage-") as c:
        yield c


def test_catalog_outage_and_recovery(tmp_path, cluster):
    srv = start_server(tmp_path / "data", "--catalog-driver", "postgres", "--catalog-uri", cluster.new_database())
    table = f"outage_{uuid.uuid4().hex[:8]}"
    try:
        check_catalog_outage(srv, table, cluster.stop, cluster.start, "catalog database cannot be reached")
    finally:
        stop(srv)
