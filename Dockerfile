# duckserve container image: the compiled single binary on a slim Debian base.
#
#   docker build -t duckserve .
#   docker run -d -p 8080:8080 -v "$PWD/data:/data" duckserve
#   docker exec <container> cat /data/admin.key   (the first start's admin key; then delete it)
#   HTTPS: docker run -d -p 443:8443 -p 80:8080 -v "$PWD/data:/data" -e DUCKDB_PORT=8443 \
#     -e DUCKDB_HTTP_PORT=8080 -e DUCKDB_TLS_AUTO=true -e DUCKDB_TLS_DOMAINS=db.example.com \
#     -e DUCKDB_ACME_EMAIL=ops@example.com duckserve
#
# Build stage: the official Deno image compiles dist/duckserve (deno compile downloads its
# runtime, denort, here).
ARG DENO_VERSION=2.9.6
FROM denoland/deno:${DENO_VERSION} AS build
# The JS heap bound (MB) baked into the binary: docker build --build-arg MAX_HEAP_MB=1024 .
ARG MAX_HEAP_MB=512
WORKDIR /src
COPY deno.json deno.lock ./
COPY main.ts ./
COPY cli/ cli/
COPY lib/ lib/
COPY tools/ tools/
RUN deno install --frozen \
  && deno task compile --output /out/duckserve --max-heap "${MAX_HEAP_MB}"

# Runtime stage: glibc and libstdc++ (which libduckdb.so needs) come with bookworm-slim.
FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 duckserve \
  && useradd --system --uid 10001 --gid duckserve --home-dir /home/duckserve --create-home \
    --shell /usr/sbin/nologin duckserve \
  && mkdir -p /data /opt/duckserve \
  && chown duckserve:duckserve /data /opt/duckserve
COPY --from=build --chown=duckserve:duckserve /out/duckserve /opt/duckserve/duckserve
USER duckserve
# The binary is self-extracting: unpack it now (into /opt/duckserve/.duckserve) so the image
# starts without writing outside /data.
RUN /opt/duckserve/duckserve --version
ENV DUCKDB_HOST=0.0.0.0 \
    DUCKDB_PORT=8080 \
    DUCKDB_ROUTE_PREFIX=/duckdb \
    DUCKDB_DATABASE_PATH=/data/main.db \
    DUCKDB_AUTH_DATABASE_PATH=/data/auth.db \
    DUCKDB_ADMIN_KEY_FILE=/data/admin.key \
    DUCKDB_QUERY_TIMEOUT=10s \
    DUCKDB_MAX_ROWS_PER_PAGE=100 \
    DUCKDB_ABSOLUTE_MAX_ROWS=10000 \
    DUCKDB_THREADS=4 \
    DUCKDB_ACCESS_MODE=read_write \
    DUCKDB_TEMP_DIRECTORY=/data/tmp \
    DUCKDB_SHUTDOWN_GRACE=10s \
    DUCKDB_STREAMS_DIR=/data/streams \
    DUCKDB_CERTS_DIR=/data/certs \
    TZ=UTC
VOLUME ["/data"]
WORKDIR /data
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/opt/duckserve/duckserve", "healthcheck"]
ENTRYPOINT ["/opt/duckserve/duckserve"]
CMD ["serve"]
