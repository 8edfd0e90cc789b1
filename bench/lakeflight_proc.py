"""A lakeflight server of a bench's own, for the Python bench drivers (bench/dbtbench, bench/tpch,
bench/pgwire), and the description of the machine a bench ran on.

The server runs the given binary on free loopback ports, logging JSON to a file; it counts as
started once /ready answers and its own log says it is ready on the Flight address it was given
(/ready alone could be another server's answer on a port taken in between). Standard library only:
each driver runs it in its own virtualenv.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(log_path: Path, lines: int = 30) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def _ready_in_log(log_path: Path, flight: str) -> bool:
    with open(log_path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "lakeflight ready" and rec.get("flight") == flight:
                return True
    return False


def spawn(binary: Path, data_dir: Path, log_path: Path, error: type[Exception], *extra: str):
    """Start `lakeflight serve` (extra: more flags) and wait until it is ready; returns the process
    and its Flight SQL and HTTP addresses. A server that exits or is not ready in time raises error
    with the end of its log."""
    flight, http = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    args = [str(binary), "serve", "--data-dir", str(data_dir), "--flight-addr", flight, "--http-addr", http,
            "--log-format", "json", *extra]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise error(f"lakeflight exited with code {proc.returncode} before it was ready:\n{log_tail(log_path)}")
        if _ready_in_log(log_path, flight):
            try:
                with urllib.request.urlopen(f"http://{http}/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return proc, flight, http
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.1)
    stop(proc)
    raise error(f"lakeflight not ready after {READY_TIMEOUT_S:.0f} s:\n{log_tail(log_path)}")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited in STOP_TIMEOUT_S."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def version(binary: Path) -> str:
    """What `lakeflight version` prints, without the leading name."""
    proc = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0 or not proc.stdout.strip():
        return "?"
    return proc.stdout.strip().splitlines()[0].removeprefix("lakeflight ")


def machine(load_before: tuple, load_after: tuple) -> dict[str, str]:
    """The machine a bench ran on, for its report, with the load average before and after."""
    cpu, mem = "?", "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
        with open("/proc/meminfo") as f:
            kb = next((int(line.split()[1]) for line in f if line.startswith("MemTotal")), 0)
            mem = f"{kb / 2**20:.0f} GiB"
    except OSError:
        pass
    return {
        "host": socket.gethostname(), "cores": str(os.cpu_count()), "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu, "mem": mem, "os": f"{platform.system().lower()}/{platform.machine()} {platform.release()}",
        "python": platform.python_version(),
        "load_before": " ".join(f"{x:.2f}" for x in load_before),
        "load_after": " ".join(f"{x:.2f}" for x in load_after),
    }
