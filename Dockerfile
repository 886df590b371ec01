# syntax=docker/dockerfile:1
#
# wxcrypto container image: wxcrypto-server (the entrypoint) and wxcrypto-cli.
#
#   docker build -t wxcrypto:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 \
#     -v "$PWD/deploy/overlays/example:/etc/wxcrypto:ro" wxcrypto:0.1.0
#
# Two stages on the same Debian release, so the runtime libraries are the
# very versions the binaries were linked against:
#   build    installs the build dependencies with scripts/install-deps.sh and
#            builds with the same CMake preset as scripts/run.sh (openssl).
#   runtime  debian:bookworm-slim plus only the shared libraries the two
#            binaries load. tests/deploy/dockerfile_test.py checks that list
#            against `ldd` + `dpkg -S` of the real binaries, so it can neither
#            miss a library nor carry an extra package.
#
# No HEALTHCHECK: Kubernetes probes the gRPC health service itself (see
# deploy/base/deployment.yaml), and a HEALTHCHECK would need a probe binary.

FROM debian:bookworm-slim AS build
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when the list of
# packages changes, not on every source edit.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# The preset (CMakePresets.json) builds Release with ccache into build/openssl;
# the cache mount keeps ccache's objects between image builds (BuildKit).
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake --preset openssl \
    && cmake --build --preset openssl --target wxcrypto-server wxcrypto-cli

FROM debian:bookworm-slim AS runtime
# Runtime libraries of wxcrypto-server and wxcrypto-cli, one package per line,
# sorted. Not listed: libc6 (libc, libm, the loader) and libgcc-s1, which
# come with Debian's Essential packages and so with every Debian image.
# libstdc++6 and zlib1g are in the base image today too, but only because apt
# and dpkg need them, so they are listed: what the server loads should not
# depend on what the package tools need.
# The base image's shell (dash, bash) and coreutils stay: Debian marks them
# Essential and removing them breaks dpkg. Nothing else is added, and the apt
# lists are deleted.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libabsl20220623 \
        libc-ares2 \
        libcivetweb1 \
        libgrpc++1.51 \
        libgrpc29 \
        libprometheus-cpp-core1.0 \
        libprometheus-cpp-pull1.0 \
        libprotobuf32 \
        libpugixml1v5 \
        libre2-9 \
        libssl3 \
        libstdc++6 \
        zlib1g \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log
COPY --from=build /src/build/openssl/server/wxcrypto-server /usr/local/bin/wxcrypto-server
COPY --from=build /src/build/openssl/client/cli/wxcrypto-cli /usr/local/bin/wxcrypto-cli
# A numeric, non-root user and group that exist nowhere else (the "nonroot"
# id of distroless images): Kubernetes' runAsNonRoot can check a number
# without reading /etc/passwd. The server writes no files.
USER 65532:65532
# gRPC (--listen) and Prometheus metrics (--metrics-listen, path /metrics).
EXPOSE 50051 9464
# The config is a mounted Secret directory (deploy/base/deployment.yaml); the
# server re-reads config.json when Kubernetes swaps it. CMD carries the
# default flags so that `docker run IMAGE --flag` and a Deployment's `args`
# replace them without repeating the binary.
ENTRYPOINT ["/usr/local/bin/wxcrypto-server"]
CMD ["--config=/etc/wxcrypto/config.json"]
