"""The landing zone: where files wait to be ingested, which bronze table each one goes to, and
where it goes after (the archive, or the quarantine with the server's reason beside it).

A file names its table by its folder, ``<landing>/<table>/<any name>``, or, directly in the landing
folder, by its name up to the first ``_``, ``-`` or ``.``: ``customers_step000.csv`` goes to
``<namespace>.customers``. Hidden files (``.name``, ``_name``), partial downloads (``*.tmp``,
``*.part``, ``*.partial``, ``*.crdownload``) and files changed within the last settle seconds
(still being written) are left for a later run.

Airflow Variables (or AIRFLOW_VAR_<NAME> environment variables) configure it:

- ``lakeflight_landing_dir`` (required): the folder watched;
- ``lakeflight_archive_dir``, ``lakeflight_quarantine_dir``: default ``archive`` and
  ``quarantine`` beside the landing folder (never inside it);
- ``lakeflight_bronze_namespace``: default ``bronze``;
- ``lakeflight_settle_seconds``: default 60;
- ``lakeflight_ingest_options``: JSON object of extra POST /ingest parameters, e.g.
  ``{"on_bad": "rejects"}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Landing:
    landing_dir: Path
    archive_dir: Path
    quarantine_dir: Path
    namespace: str = "bronze"
    settle_seconds: float = 60.0
    ingest_options: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_variables(cls) -> Landing:
        """The landing configuration from Airflow Variables; call it at run time, not at parse time."""
        from airflow.sdk import Variable

        landing = Variable.get("lakeflight_landing_dir", default=None)
        if not landing:
            raise ValueError(
                "Airflow Variable lakeflight_landing_dir is not set (or AIRFLOW_VAR_LAKEFLIGHT_LANDING_DIR): "
                "the folder the ingest DAG watches"
            )
        landing_dir = Path(landing).resolve()
        opts = Variable.get("lakeflight_ingest_options", default=None)
        return cls.of(
            landing_dir,
            archive_dir=Variable.get("lakeflight_archive_dir", default=None),
            quarantine_dir=Variable.get("lakeflight_quarantine_dir", default=None),
            namespace=Variable.get("lakeflight_bronze_namespace", default="bronze"),
            settle_seconds=float(Variable.get("lakeflight_settle_seconds", default=60)),
            ingest_options=json.loads(opts) if opts else {},
        )

    @classmethod
    def of(cls, landing_dir: Path, archive_dir=None, quarantine_dir=None, **kwargs) -> Landing:
        landing_dir = Path(landing_dir).resolve()
        archive = Path(archive_dir).resolve() if archive_dir else landing_dir.parent / "archive"
        quarantine = Path(quarantine_dir).resolve() if quarantine_dir else landing_dir.parent / "quarantine"
        for name, d in (("archive", archive), ("quarantine", quarantine)):
            if d == landing_dir or landing_dir in d.parents:
                raise ValueError(f"the {name} folder {d} is inside the landing folder {landing_dir}: it would be read")
        if not TABLE_NAME.match(kwargs.get("namespace", "bronze")):
            raise ValueError(f"bronze namespace {kwargs['namespace']!r}: want letters, digits and _")
        fixed = {"table", "filename", "key"} & set(kwargs.get("ingest_options") or {})
        if fixed:
            # The table comes from the file, the key from its content: an option must not change them.
            raise ValueError(f"lakeflight_ingest_options may not set {sorted(fixed)}: the ingest sets them per file")
        return cls(landing_dir, archive, quarantine, **kwargs)


def scan(landing_dir: str | Path, settle_seconds: float) -> list[str]:
    """The files ready to ingest under landing_dir, as paths relative to it, sorted."""
    root = Path(landing_dir)
    if not root.is_dir():
        return []
    now = time.time()
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in filenames:
            if name.startswith((".", "_")) or name.endswith(PARTIAL_SUFFIXES):
                continue
            path = Path(dirpath, name)
            try:
                if now - path.stat().st_mtime < settle_seconds:
                    continue
            except FileNotFoundError:
                continue
            out.append(path.relative_to(root).as_posix())
    return sorted(out)


def table_for(rel_path: str) -> str:
    """The bronze table (name only) a landing file goes to; ValueError when it names none."""
    parts = rel_path.split("/")
    name = parts[0] if len(parts) > 1 else re.split(r"[_.-]", parts[0], maxsplit=1)[0]
    if not TABLE_NAME.match(name):
        raise ValueError(
            f"{rel_path}: cannot tell its table: put it in a folder named after the table "
            "(letters, digits and _), or start its name with the table"
        )
    return name


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _free_name(dest: Path, digest: str) -> Path:
    """dest, or when another file (other bytes) is there already, dest with the digest's start."""
    if not dest.exists() or sha256_of(dest) == digest:
        return dest
    return dest.with_name(f"{dest.stem}.{digest[:12]}{dest.suffix}")


def archive(landing: Landing, rel_path: str, table: str, digest: str) -> Path:
    """Moves an ingested file to <archive>/<table>/<UTC date>/<name>; the same bytes ingested again
    replace their earlier copy."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    dest = _free_name(landing.archive_dir / table / day / Path(rel_path).name, digest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(landing.landing_dir / rel_path, dest)
    return dest


def quarantine(landing: Landing, rel_path: str, table: str, digest: str, reason: dict) -> Path:
    """Moves a refused file to <quarantine>/<table>/<name> and writes <name>.error.json beside it
    with why (the server's problem document)."""
    dest = _free_name(landing.quarantine_dir / (table or "_unknown") / Path(rel_path).name, digest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(landing.landing_dir / rel_path, dest)
    note = {"file": rel_path, "sha256": digest, "quarantined_at": datetime.now(UTC).isoformat(), **reason}
    dest.with_name(dest.name + ".error.json").write_text(json.dumps(note, indent=2) + "\n")
    return dest
