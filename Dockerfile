# Multi-stage build: the final image holds the adpilot binary and the PostgreSQL client tools
# (pg_dump/pg_restore for backups), running as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && strip target/release/adpilot

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /var/lib/adpilot adpilot
COPY --from=build /src/target/release/adpilot /usr/local/bin/adpilot
USER adpilot
WORKDIR /var/lib/adpilot
ENV ADPILOT_BIND=0.0.0.0:8080 ADPILOT_DATA_DIR=/var/lib/adpilot/data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["adpilot", "healthcheck"]
ENTRYPOINT ["adpilot"]
CMD ["serve"]
