# syntax=docker/dockerfile:1
# The processor (services/processor): claims stored chunks and frames, analyses them, writes the
# results back.
#   docker build -f deploy/processor.Dockerfile -t candid/processor .   (context: the repository root)
#
# Same two stages as deploy/Dockerfile (npm ci --omit=dev on Node, then the slim Bun image), kept
# apart because the processor's analysers live in npm packages that carry native and WASM code:
# sharp (a prebuilt libvips per platform, @img/sharp-<os>-<arch>), onnxruntime-web and the
# TensorFlow.js WASM backend (their .wasm files are read from node_modules at run time), and
# @vladmandic/face-api (its model weights ship in the package). The image therefore needs the
# full production node_modules, built for the platform it runs on, and nothing downloaded later:
# the pod's root filesystem is read-only and it may have no egress.

ARG BUN_VERSION=1.4.4
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: sharp >= 0.33 installs its prebuilt binary as an optional dependency (no
# install script needed); the others have none. npm picks the optional packages of this stage's
# platform, which is the runtime's (both Debian bookworm, glibc): build with --platform for another.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM oven/bun:${BUN_VERSION}-slim AS runtime
ENV NODE_ENV=production \
    CANDID_SERVICE=processor \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
WORKDIR /app
# Owned by the `bun` user (uid 1000) for Tilt's live_update, as in deploy/Dockerfile.
COPY --chown=bun:bun --from=deps /app/node_modules ./node_modules
COPY --chown=bun:bun package.json tsconfig.json bunfig.toml ./
COPY --chown=bun:bun proto ./proto
COPY --chown=bun:bun services/shared ./services/shared
COPY --chown=bun:bun services/processor ./services/processor
USER bun
# Fail the build, not the first pod, when sharp's native binary does not load on this platform.
RUN bun -e "await import('sharp')"
# Ops HTTP: /metrics, /healthz, /readyz (PROCESSOR_METRICS_PORT); the processor serves nothing else.
EXPOSE 9105
# The chart runs `bun <args>` itself; this default serves `docker run`.
CMD ["bun", "services/processor/main.ts"]
