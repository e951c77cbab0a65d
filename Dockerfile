# The marina image: one image for `marina server` and `marina client` (docker-compose.yml runs both).
#   docker build -t marina .
#   docker run --rm marina --help
# Stage 1 compiles the TypeScript; stage 2 holds only compiled JavaScript and production dependencies.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# Manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/core/package.json packages/core/
COPY packages/data/package.json packages/data/
COPY packages/server/package.json packages/server/
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
RUN npm ci --no-audit --no-fund --loglevel=warn
COPY packages packages
RUN npx tsc -b \
 && mkdir -p /out \
 && for p in packages/*/; do \
      mkdir -p "/out/$p" && cp -R "$p/dist" "/out/$p/" && { [ ! -d "$p/bin" ] || cp -R "$p/bin" "/out/$p/"; }; \
    done

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/core/package.json packages/core/
COPY packages/data/package.json packages/data/
COPY packages/server/package.json packages/server/
COPY packages/client/package.json packages/client/
COPY packages/cli/package.json packages/cli/
# Production dependencies only; no compiler here, so nothing may build at install time (ARCHITECTURE,
# "Build and command"). bufferutil and msgpackr's extension load from the prebuilt binaries they ship:
# the check fails the build if ws would fall back to JavaScript masking.
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=warn \
 && npm cache clean --force \
 && node -e "require('node-gyp-build')(require('path').dirname(require.resolve('bufferutil'))); require('bufferutil')"
COPY --from=build /out/packages packages
# The run folder's mount point, owned by node: Docker gives a new, empty named volume mounted here the directory's
# owner, so the server (uid 1000) can write its run folder into a volume (deploy/swarm/stack.yml), not just a bind mount.
RUN mkdir /runs && chown node:node /runs
USER node
EXPOSE 7070
ENTRYPOINT ["node", "/app/packages/cli/bin/marina.js"]
CMD ["--help"]
