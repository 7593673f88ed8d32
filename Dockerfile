# syntax=docker/dockerfile:1
#
# The Shipshape worker (and the starter, for one-off runs in the cluster).
#
# Base: debian:bookworm-slim, not distroless or scratch. Restore drills run
# pg_dump and pg_restore and start throw-away PostgreSQL clusters (initdb,
# pg_ctl, postgres: integrations/postgres), and `command` tasks run `sh`.
# Those are dynamically linked against libpq, OpenSSL, GSSAPI, LDAP, ICU…;
# copying them into distroless means chasing that closure by hand and
# breaking on every PostgreSQL update. The slim image with PGDG's packages
# keeps them correct and patched, at ~150 MB more. The worker itself is a
# static Go binary and runs as a non-root user.
ARG GO_VERSION=1.26
ARG DEBIAN_RELEASE=bookworm
# The major version of the PostgreSQL tools: pg_dump must be at least the
# version of the servers it dumps.
ARG PG_MAJOR=17

FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/worker ./cmd/worker && \
    CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/starter ./cmd/starter

FROM debian:${DEBIAN_RELEASE}-slim
ARG DEBIAN_RELEASE
ARG PG_MAJOR
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# PostgreSQL from the PGDG repository (Debian's own stops at 15); no
# cluster is created at install time. Package versions are not pinned:
# the image is rebuilt to pick up security fixes (hadolint DL3008).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl gnupg \
 && install -d /usr/share/postgresql-common/pgdg /etc/postgresql-common/createcluster.d \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${DEBIAN_RELEASE}-pgdg main" > /etc/apt/sources.list.d/pgdg.list \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/shipshape.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends "postgresql-${PG_MAJOR}" \
 && apt-get purge -y --auto-remove curl gnupg \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 65532 --user-group --create-home --home-dir /home/shipshape --shell /usr/sbin/nologin shipshape

COPY --from=build /out/worker /out/starter /usr/local/bin/

ENV SHIPSHAPE_PG_BIN=/usr/lib/postgresql/${PG_MAJOR}/bin \
    SHIPSHAPE_METRICS_ADDR=:9090 \
    SHIPSHAPE_LOG_FORMAT=json
# The working directory holds sbom-scan's vulnerability database
# (.shipshape/vulndb): mount a volume here to keep it across restarts.
WORKDIR /home/shipshape
USER 65532:65532
EXPOSE 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/worker", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/worker"]
