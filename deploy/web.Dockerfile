# syntax=docker/dockerfile:1
# The SvelteKit capture app (adapter-node):
#   docker build -f deploy/web.Dockerfile -t candid/web .
# Stage 1 builds with the full dev toolchain; the runtime is plain Node with the build output
# and the production dependencies.
# PUBLIC_GATEWAY_URL is read at run time ($env/dynamic/public), so one image serves every
# environment.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY proto ./proto
COPY web ./web
RUN npm run web:build

# adapter-node bundles what the pages import from devDependencies (svelte, kit) but leaves the
# `dependencies` of package.json external (the SSR code imports `uuid`), so the runtime needs
# the production node_modules, as the adapter-node docs prescribe.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=5173 \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/web/build ./web/build
USER node
EXPOSE 5173
CMD ["node", "web/build"]
