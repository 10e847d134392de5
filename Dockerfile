# clawfleet in a container: the supervisor as a non-root user under a real init.
#   docker build -t clawfleet .
#   docker run --stop-timeout 120 -v clawfleet-state:/var/lib/clawfleet clawfleet
# Node 24 although clawfleet itself runs on Node 20+: the real OpenClaw needs Node >= 24.16, so an image
# for it is this one plus `npm i -g openclaw` (see the README, "In a container").
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
# tini is PID 1: it forwards signals to the supervisor and reaps orphaned grandchildren of gateways.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
# HOME is the volume: OpenClaw derives each profile's state dir, config and workspace from HOME
# (~/.openclaw-<profile>, ~/.openclaw/workspace-<profile>), and so does clawfleet's plan, so a manifest
# needs no stateDir for its gateways to keep their state across containers rather than in the
# container's writable layer. XDG_STATE_HOME keeps the runtime dir
# (control socket, state.json, logs) where earlier images put it.
ENV NODE_ENV=production \
    HOME=/var/lib/clawfleet \
    XDG_STATE_HOME=/var/lib/clawfleet \
    CLAWFLEET_CONFIG=/etc/clawfleet/fleet.yaml
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config/fleet.yaml /etc/clawfleet/fleet.yaml
RUN ln -s /app/dist/cli.js /usr/local/bin/clawfleet && chmod +x /app/dist/cli.js \
    && mkdir -p /var/lib/clawfleet && chown node:node /var/lib/clawfleet
# The image's own non-root user; gateway state, logs and the runtime dir live in the volume.
USER node
VOLUME ["/var/lib/clawfleet"]
# SIGTERM stops the fleet, mains first and rescue last, each phase taking up to its longest stop.timeout
# plus 5 s. A Dockerfile cannot set how long Docker waits for that: its default is 10 s, then SIGKILL to
# every process at once (no drain, rescue not last). Run with `--stop-timeout 120` (compose:
# `stop_grace_period: 120s`; Kubernetes: `terminationGracePeriodSeconds: 120`), which covers two phases of
# 30 s stop timeouts; more if yours are longer.
STOPSIGNAL SIGTERM
# Healthy while the supervisor answers on its control socket.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["node", "/app/dist/cli.js", "status"]
# -g: signals go to tini's whole child process group; the supervisor is its only direct child, and the
# gateways run in sessions of their own, so only the supervisor decides how they stop.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["node", "/app/dist/cli.js", "up"]
