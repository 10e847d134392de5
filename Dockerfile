# clawfleet in a container: the supervisor as a non-root user under a real init.
#   docker build -t clawfleet . && docker run -v clawfleet-state:/var/lib/clawfleet clawfleet
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# tini is PID 1: it forwards signals to the supervisor and reaps orphaned grandchildren of gateways.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
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
# SIGTERM stops the fleet, mains first and rescue last; give it the gateways' stop timeouts.
STOPSIGNAL SIGTERM
# Healthy while the supervisor answers on its control socket.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["node", "/app/dist/cli.js", "status"]
# -g: signals go to tini's whole child process group; the supervisor is its only direct child.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["node", "/app/dist/cli.js", "up"]
