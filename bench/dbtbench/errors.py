"""The benchmark's one error: something it needs failed (a server, a dbt build, a check)."""


class BenchError(Exception):
    """The message says what failed; the driver prints it and exits non-zero."""
