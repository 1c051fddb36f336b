# Home Assistant add-on image. Debian (glibc), because node-llama-cpp and onnxruntime ship
# glibc binaries. BUILD_FROM comes from build.yaml (or --build-arg).
ARG BUILD_FROM=ghcr.io/home-assistant/amd64-base-debian:bookworm
FROM node:20-bookworm-slim AS node

FROM node AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm installs llama.node's optional GPU and wasm builds (CUDA ~196 MB, Vulkan ~59 MB, wasm ~19 MB);
# the add-on runs llama.cpp on CPU, so they are removed after the prune (npm ci itself is unchanged).
RUN npx tsc -p tsconfig.build.json && npm rebuild && npm prune --omit=dev \
 && rm -rf node_modules/@fugood/node-llama-*-cuda node_modules/@fugood/node-llama-*-vulkan node_modules/@fugood/node-llama-wasm

FROM ${BUILD_FROM}
# glibc gives each busy thread (libvips, ONNX Runtime, llama.cpp, libuv) its own malloc arena.
# Two arenas kept RSS ~20 MB lower at the same point of a soak (bench/soak.ts, two A/B runs);
# RSS still climbs while caches and arenas fill, then levels off (README "Reliability and security").
ENV MALLOC_ARENA_MAX=2
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg espeak-ng ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# tsc does not copy the dashboard's static files
COPY src/http/ui ./dist/http/ui
COPY src/http/card ./dist/http/card
COPY package.json ./
COPY bin ./bin
COPY config ./config
# the model manifest (models pull/verify, first-start pull); weights go to /data/models
COPY models/manifest.yaml ./models/manifest.yaml
COPY addon/run.sh /run.sh
RUN chmod a+x /run.sh
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:8099/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD [ "/run.sh" ]
