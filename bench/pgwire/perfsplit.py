"""Where lakeflight's server spends its CPU during a read: Linux perf samples of the server process
(call stacks), each put in the first bucket one of whose frames matches, as a share of all samples.

Optional: the report leaves this section out when perf is not installed or may not attach.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SAMPLE_HZ = 999
ATTACH_S = 0.5  # perf record samples nothing for a moment after it starts

# First match wins, so the specific buckets come before the catch-alls. A frame matches when it
# contains one of the strings.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("returning memory to the OS (malloc_trim, madvise)", ("malloc_trim", "madvise")),
    ("zstd decompression of the Parquet pages", ("ZSTD_", "duckdb_zstd")),
    ("Parquet decoding (DuckDB's reader)", ("Parquet", "ColumnReader", "Thrift")),
    ("DuckDB vectors to Arrow arrays", ("duckdb::Arrow",)),
    ("engine: coalescing DuckDB's small Arrow batches into --batch-rows ones (a copy)",
     ("engine.concatBatches", "engine.(*stream).coalesce")),
    ("Flight send: protobuf marshalling, gRPC and HTTP/2 framing, socket writes",
     ("google.golang.org/grpc", "google.golang.org/protobuf", "golang.org/x/net/http2")),
    ("Arrow IPC encoding (arrow-go)", ("arrow/ipc",)),
    ("Go garbage collector", ("runtime.gcBgMarkWorker", "runtime.gcDrain", "runtime.bgsweep", "runtime.bgscavenge")),
    ("DuckDB, the rest (scan, vector copies, result buffering)", ("duckdb",)),
]
# Mostly libc (malloc, mutexes, memset, memcpy) whose callers perf could not walk to, and the
# scheduler.
OTHER = "the rest: libc allocation, locks and copies with callers perf could not walk; kernel scheduling"


@dataclass
class Split:
    samples: int
    shares: list[tuple[str, float, str]]  # bucket, share of samples, its hottest leaf function


def available() -> bool:
    return shutil.which("perf") is not None


def record(pid: int, out: Path, work: Callable[[], None]) -> Split | None:
    """Samples pid while work runs; None if perf could not record."""
    perf = subprocess.Popen(["perf", "record", "-q", "-F", str(SAMPLE_HZ), "-g", "-p", str(pid), "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(ATTACH_S)
        work()
    finally:
        perf.send_signal(signal.SIGINT)
        try:
            _, err = perf.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            perf.kill()
            perf.communicate()
            return None
    if perf.returncode not in (0, -signal.SIGINT) or not out.exists():
        print(f"  perf record failed: {err.decode(errors='replace')[-500:]}", flush=True)
        return None
    script = subprocess.run(["perf", "script", "-i", str(out), "-F", "ip,sym"], capture_output=True, text=True,
                            timeout=300)
    if script.returncode != 0:
        return None
    return split(script.stdout)


def split(script: str) -> Split | None:
    """Buckets the stacks of `perf script -F ip,sym`: one stack a blank-line separated block, one
    frame a line (address, then symbol), the leaf first."""
    counts: collections.Counter[str] = collections.Counter()
    leaves: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for block in script.split("\n\n"):
        frames = [parts[1] for line in block.strip().splitlines() if len(parts := line.split(None, 1)) == 2]
        if not frames:
            continue
        name = next((b for b, keys in BUCKETS if any(k in f for f in frames for k in keys)), OTHER)
        counts[name] += 1
        leaves[name][frames[0]] += 1
    total = sum(counts.values())
    if total == 0:
        return None
    shares = [(name, n / total, leaves[name].most_common(1)[0][0]) for name, n in counts.most_common()]
    return Split(total, shares)
