# lakeflight server image: the Go binary (cgo, embedded DuckDB) plus a dbt
# virtualenv with the in-repo adapter, so POST /transform works inside the
# container. Build from the repository root:
#
#   docker build -t lakeflight:dev --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse --short HEAD) .
#
# Stages: build (Go, gcc) → dbt (the Python virtualenv) → runtime (slim
# Debian with Python 3.11, the C++ runtime DuckDB links against, a non-root
# user). Builder and runtime share Debian bookworm, so the binary's glibc
# matches. docs/deploy.md explains the settings and how compose.yaml uses it.

# ---- build: the lakeflight binary --------------------------------------------
FROM golang:1.26.8-bookworm AS build
# golang:bookworm already carries gcc and g++; duckdb-go links a prebuilt
# static libduckdb (github.com/duckdb/duckdb-go-bindings/lib/*) with them.
WORKDIR /src
ENV CGO_ENABLED=1 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# VERSION and COMMIT replace what the Makefile reads from git: .git is not
# in the build context (.dockerignore).
ARG VERSION=dev
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -tags duckdb_arrow -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/lakeflight ./cmd/lakeflight

# ---- dbt: dbt-duckdb and the lakeflight adapter in /opt/dbt ------------------
FROM python:3.11.14-slim-bookworm AS dbt
# The versions are e2e/requirements.txt's (what the tests run), used as
# constraints so only dbt and the adapter's dependencies are installed, not
# the test clients. pip refuses constraints with extras, hence the sed.
COPY e2e/requirements.txt /tmp/e2e-requirements.txt
RUN sed -E 's/\[[^]]*\]//' /tmp/e2e-requirements.txt >/tmp/constraints.txt \
 && python -m venv /opt/dbt \
 && /opt/dbt/bin/pip install --no-cache-dir --disable-pip-version-check --only-binary=:all: \
      -c /tmp/constraints.txt \
      dbt-core dbt-core-experimental-parser dbt-duckdb duckdb \
      adbc-driver-flightsql adbc-driver-manager pyarrow setuptools
COPY dbt/adapter /tmp/adapter
# As e2e/setup.sh does: built with the pinned setuptools, nothing fetched.
RUN /opt/dbt/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation /tmp/adapter \
 && /opt/dbt/bin/python -c "import dbt.adapters.lakeflight, dbt.adapters.duckdb"

# ---- runtime -----------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime
# libstdc++6/libgcc-s1: the C++ runtime of the embedded DuckDB.
# tini: PID 1 that reaps what a killed dbt run leaves behind.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 libgcc-s1 tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lakeflight \
 && useradd --system --uid 10001 --gid lakeflight --home-dir /home/lakeflight --create-home \
      --shell /usr/sbin/nologin lakeflight \
 && mkdir -p /data /opt/lakeflight \
 && chown lakeflight:lakeflight /data
COPY --from=dbt /opt/dbt /opt/dbt
COPY --from=build /out/lakeflight /usr/local/bin/lakeflight
# The dbt project POST /transform builds; its run artifacts go under the
# data directory (<data-dir>/transform), so this copy stays read-only.
COPY dbt /opt/lakeflight/dbt

# Everything is settable by LAKEFLIGHT_* variables (lakeflight serve -h);
# these are the container's defaults. Listening on all interfaces needs
# authentication (auth.users or auth.api_tokens in a LAKEFLIGHT_CONFIG file)
# or LAKEFLIGHT_INSECURE=true: the server refuses to start otherwise.
ENV LAKEFLIGHT_DATA_DIR=/data \
    LAKEFLIGHT_FLIGHT_ADDR=0.0.0.0:31337 \
    LAKEFLIGHT_HTTP_ADDR=0.0.0.0:8080 \
    LAKEFLIGHT_LOG_FORMAT=json \
    LAKEFLIGHT_DBT_PROJECT_DIR=/opt/lakeflight/dbt \
    LAKEFLIGHT_DBT_COMMAND=/opt/dbt/bin/dbt \
    DO_NOT_TRACK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/lakeflight

LABEL org.opencontainers.image.title="lakeflight" \
      org.opencontainers.image.description="Lakehouse server: Arrow Flight SQL over Iceberg tables with embedded DuckDB" \
      org.opencontainers.image.source="https://github.com/lakeflight/lakeflight"

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
# 31337: Flight SQL (gRPC); 8080: HTTP sidecar (/health, /ready, /metrics, /ingest, /transform).
EXPOSE 31337 8080
# /health is liveness only and needs no credentials. Python is already in the
# image, so no curl is installed for this.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
ENTRYPOINT ["/usr/bin/tini", "--", "lakeflight", "serve"]
