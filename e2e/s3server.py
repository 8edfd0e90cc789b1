"""A private S3-compatible server for tests: versitygw (its posix backend over a directory of
buckets), the same one the Go tests start (internal/s3test). `make test` installs it with
`go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 30


def binary() -> str:
    if b := os.environ.get("LAKEFLIGHT_VERSITYGW"):
        return b
    if b := shutil.which("versitygw"):
        return b
    gopath = subprocess.run(["go", "env", "GOPATH"], capture_output=True, text=True, check=False).stdout.strip()
    b = Path(gopath or Path.home() / "go") / "bin" / "versitygw"
    if b.exists():
        return str(b)
    raise RuntimeError("no versitygw: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    root: Path  # a directory per bucket
    endpoint: str
    access_key: str
    secret_key: str
    log: Path
    proc: subprocess.Popen | None = None

    def bucket(self, name: str) -> Path:
        """A new, empty bucket (a directory of the posix backend)."""
        path = self.root / name
        path.mkdir()
        return path

    def start(self) -> None:
        env = dict(os.environ, ROOT_ACCESS_KEY_ID=self.access_key, ROOT_SECRET_ACCESS_KEY=self.secret_key)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [binary(), "--port", self.endpoint, "posix", str(self.root)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        host, port = self.endpoint.split(":")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"versitygw did not start: {self.log.read_text(errors='replace')}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def create(work: Path) -> S3Server:
    root = work / "buckets"
    root.mkdir(parents=True)
    return S3Server(root, f"127.0.0.1:{free_port()}", "lakeflight" + secrets.token_hex(4), secrets.token_hex(20),
                    work / "versitygw.log")  # fmt: skip
