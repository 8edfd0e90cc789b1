"""IngestFilesOperator: landing files into bronze through POST /ingest, then into the archive or
the quarantine (landing.py has the folder rules)."""

from __future__ import annotations

from collections.abc import Sequence

from airflow.sdk import BaseOperator

from . import landing
from .hook import FileRejected, LakeflightError, LakeflightHook, task_error


class IngestFilesOperator(BaseOperator):
    """Ingests landing files (relative paths, e.g. from LandingFilesSensor) one by one through
    POST /ingest, each with the idempotency key sha256:<its content's digest>, so that a file
    dropped again, or a retry after a crash between commit and move, commits nothing twice. An
    ingested file moves to the archive; a file the server refuses for its content (HTTP 400, 413,
    415, 422) moves to the quarantine with the server's answer beside it. Any other error stops
    the task for a retry; the files done so far have moved already.

    Returns {"ingested": [...], "replayed": [...], "quarantined": [...]}, one entry per file."""

    template_fields: Sequence[str] = ("files",)

    def __init__(self, *, files, lakeflight_conn_id: str = LakeflightHook.default_conn_name, **kwargs):
        super().__init__(**kwargs)
        self.files = files
        self.lakeflight_conn_id = lakeflight_conn_id

    def execute(self, context):
        conf = landing.Landing.from_variables()
        hook = LakeflightHook(self.lakeflight_conn_id)
        out: dict[str, list] = {"ingested": [], "replayed": [], "quarantined": []}
        for rel in self.files or []:
            path = conf.landing_dir / rel
            if not path.is_file():
                self.log.info("%s: gone from the landing folder (moved by an earlier try), skipped", rel)
                continue
            digest = landing.sha256_of(path)
            try:
                table = landing.table_for(rel)
            except ValueError as e:
                dest = landing.quarantine(conf, rel, "", digest, {"status": None, "detail": str(e)})
                self.log.error("%s: quarantined to %s: %s", rel, dest, e)
                out["quarantined"].append({"file": rel, "detail": str(e), "to": str(dest)})
                continue
            qualified = f"{conf.namespace}.{table}"
            try:
                res = hook.ingest(str(path), qualified, f"sha256:{digest}", conf.ingest_options)
            except FileRejected as e:
                reason = {"table": qualified, "status": e.status, "detail": e.detail}
                if isinstance(e.body, dict) and e.body.get("errors"):
                    reason["errors"] = e.body["errors"]
                dest = landing.quarantine(conf, rel, table, digest, reason)
                self.log.error("%s: refused (HTTP %s): %s; quarantined to %s", rel, e.status, e.detail, dest)
                out["quarantined"].append({"file": rel, "table": qualified, "status": e.status, "detail": e.detail,
                                           "to": str(dest)})
                continue
            except LakeflightError as e:
                # Not the file's fault (the server, the network, the token): the file stays.
                raise task_error(f"ingesting {rel} into {qualified}", e) from e
            dest = landing.archive(conf, rel, table, digest)
            entry = {"file": rel, "table": qualified, "rows": res.get("rows", 0), "rejected": res.get("rejected", 0),
                     "snapshot_id": res.get("snapshot_id"), "sha256": digest, "to": str(dest)}
            if res.get("replayed"):
                self.log.info("%s: already ingested into %s (snapshot %s): nothing committed; archived to %s",
                              rel, qualified, res.get("snapshot_id"), dest)
                out["replayed"].append(entry)
            else:
                self.log.info("%s: %d rows into %s (snapshot %s, %d rejected); archived to %s",
                              rel, entry["rows"], qualified, entry["snapshot_id"], entry["rejected"], dest)
                out["ingested"].append(entry)
        self.log.info("ingest: %d files committed, %d already there, %d quarantined",
                      len(out["ingested"]), len(out["replayed"]), len(out["quarantined"]))
        return out
