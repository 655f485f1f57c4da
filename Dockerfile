# streamscore: every executable, built on Debian 12 with the same packages as scripts/setup.
#   docker build -t streamscore:dev .          (docker-compose.yml builds it as `streamscore:local`)
# Stage 1 builds and runs the unit tests (no network, no services needed); stage 2 is the runtime
# image: the shared libraries only, the executables in /usr/local/bin, schemas in
# /usr/share/streamscore/schemas, running as an unprivileged user.

FROM debian:12-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      librdkafka-dev libavro-dev libhiredis-dev check \
      libcsv-dev libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev \
      liblbfgsb-dev libxgboost-dev libgsl-dev \
 && rm -rf /var/lib/apt/lists/*
# The source directory is compiled in (SS_SOURCE_DIR) as the default of schemas.dir
# (<src>/schemas): build in /usr/share/streamscore, where the runtime image keeps the schemas.
WORKDIR /usr/share/streamscore
COPY . .
ARG RUN_UNIT_TESTS=1
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build -j"$(nproc)" \
 && if [ "$RUN_UNIT_TESTS" = 1 ]; then cd /build && ctest -L unit --output-on-failure; fi
RUN mkdir -p /out/bin /out/share/schemas \
 && cp /build/bin/streamscore-* /out/bin/ \
 && cp -r schemas/. /out/share/schemas/

FROM debian:12-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# Runtime packages of the -dev packages above (tests/integration/compose_check.py checks that every
# library our executables link is in this list); curl for the compose healthchecks (/livez), gzip
# for streamscore-replay's .gz input. /models: the compose `models` volume (owned by the user).
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      librdkafka1 libavro23 libhiredis0.14 libcsv3 libjansson4 libcurl4 libmicrohttpd12 \
      libgsl27 libgslcblas0 libxgboost0 libgfortran5 liblapack3 libblas3 ca-certificates \
      curl gzip \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/streamscore --create-home streamscore \
 && mkdir -p /models && chown streamscore /models
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/share/schemas/ /usr/share/streamscore/schemas/
ENV SS_LOG_FORMAT=json
USER streamscore
WORKDIR /var/lib/streamscore
# Every service takes -c FILE, --key=value and SS_<SERVICE>_<KEY> environment variables; see
# docs/configuration.md. The compose file sets the command per container.
CMD ["streamscore-stack", "--help"]
