"""Client SQL must not reach the server's files, network or settings."""

from __future__ import annotations

import adbc_driver_manager.dbapi as dbapi
import pytest


def escapes(server, tmp_path):
    wh = server.warehouse
    return {
        "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
        "read_text": "SELECT * FROM read_text('/etc/hostname')",
        "read_blob": "SELECT * FROM read_blob('/etc/hostname')",
        "glob": "SELECT * FROM glob('/etc/*')",
        "parent_escape": f"SELECT * FROM read_csv('{wh}/../../../../etc/passwd')",
        "catalog_db": f"SELECT * FROM read_blob('{server.data_dir}/catalog.db')",
        "copy_to_tmp": f"COPY (SELECT 1 AS x) TO '{tmp_path}/escape.csv'",
        "copy_to_warehouse": f"COPY (SELECT 1 AS x) TO '{wh}/escape.csv'",
        "export_database": f"EXPORT DATABASE '{tmp_path}/export'",
        "attach": f"ATTACH '{tmp_path}/other.duckdb' AS other_e2e",
        "install": "INSTALL httpfs",
        "load": "LOAD httpfs",
        "enable_external_access": "SET enable_external_access = true",
        "allowed_directories": "SET allowed_directories = ['/']",
        "unlock": "SET lock_configuration = false",
    }


CASES = [
    "read_csv",
    "read_text",
    "read_blob",
    "glob",
    "parent_escape",
    "catalog_db",
    "copy_to_tmp",
    "copy_to_warehouse",
    "export_database",
    "attach",
    "install",
    "load",
    "enable_external_access",
    "allowed_directories",
    "unlock",
]


@pytest.mark.parametrize("case", CASES)
def test_escape_is_refused(server, cursor, tmp_path, case):
    sql = escapes(server, tmp_path)[case]
    with pytest.raises(dbapi.Error) as err:
        cursor.execute(sql)
        cursor.fetchall()
    assert str(err.value).strip(), "empty error message"
    assert not isinstance(err.value, dbapi.InternalError), (
        f"sandbox refusal reported as an internal error (want PermissionDenied/Unimplemented): {err.value}"
    )
    assert list(tmp_path.iterdir()) == [], f"{case} wrote {list(tmp_path.iterdir())}"
    assert not (server.warehouse / "escape.csv").exists(), "COPY wrote into the warehouse"
    # The session survives the refusal.
    cursor.execute("SELECT 1")
    assert cursor.fetchall() == [(1,)]
