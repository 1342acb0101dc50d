# Storage API image. Three stages, one job each:
#   deps        production dependencies only, installed strictly from bun.lock (not a runnable target)
#   dev         the Tilt live-update image: full dependencies, bun --watch, a folder the container user owns
#   production  the default (last) stage: distroless, non-root, no shell, works with a read-only root filesystem
# Build:  docker build -t storage-api:1.0.0 .          (production)
#         docker build --target dev -t storage-api .   (what the Tiltfile builds)

# The one Bun version for every stage. It MUST equal "packageManager" in package.json (bun@1.4.5): bun.lock is
# written by that Bun, an older Bun refuses a newer lockfile format, so --frozen-lockfile would fail (and a newer
# base would silently differ from what CI tests). test/compose.test.ts asserts the two are equal.
# Tags are exact versions, never `1` or `latest`, so a rebuild next month gives the same runtime.
ARG BUN_VERSION=1.4.5

# ---------------------------------------------------------------------------------------------------------- deps
FROM oven/bun:${BUN_VERSION}-slim AS deps
WORKDIR /app
# Manifest and lockfile only: this layer (and the install below) is reused until dependencies change.
COPY package.json bun.lock ./
# --frozen-lockfile: fail instead of re-resolving when package.json and bun.lock disagree (reproducible builds).
# --production: leaves out devDependencies (Biome, test-only packages). Exception, a Bun bug: a devDependency
# that a runtime package lists as an optional peer is still installed (typescript and @types/bun, optional
# peers of elysia; oven-sh/bun#26837). --omit=optional at least drops TypeScript's 27 MB native compiler
# (node_modules 56 -> 29 MB); no runtime dependency has optionalDependencies in bun.lock, so nothing is lost.
RUN bun install --frozen-lockfile --production --omit=optional

# ----------------------------------------------------------------------------------------------------------- dev
FROM oven/bun:${BUN_VERSION}-slim AS dev
WORKDIR /app
# Tilt's live update copies changed files in with tar as the container user, so /app must belong to uid/gid 1000
# (the image's `bun` user); the image ships tar, which that sync needs.
RUN chown 1000:1000 /app
USER 1000:1000
COPY --chown=1000:1000 package.json bun.lock ./
# All dependencies, dev ones included, so the same tools as on a laptop are at hand inside the dev pod.
RUN bun install --frozen-lockfile
COPY --chown=1000:1000 server/ ./server/
ENV NODE_ENV=development
EXPOSE 5000
# --watch restarts the process when Tilt syncs a changed file (a restart: the in-memory store starts empty again).
CMD ["bun", "--watch", "server/main.ts"]

# ---------------------------------------------------------------------------------------------------- production
# Distroless: glibc, CA certificates and Bun, nothing else (no shell, no package manager), so there is no RUN below.
FROM oven/bun:${BUN_VERSION}-distroless AS production
WORKDIR /app
# Files stay root-owned and read-only to the runtime user: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
# package.json: the service reads its version from it (storage_api_build_info); "type": "module" as in development.
COPY package.json ./
COPY server/ ./server/
ENV NODE_ENV=production
# 65532 = `nonroot` in distroless images. Numeric, so Kubernetes runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
EXPOSE 5000
# Exec form: no shell exists here. The probe is a separate short-lived Bun process asking GET /healthz.
#   interval 10s: a hung server is noticed within retries x interval = 30 s;
#   timeout 3s: the answer takes milliseconds, the rest is Bun starting the probe script;
#   start-period 5s: the server listens well under a second after start, failures in that window do not count.
# Compose replaces these numbers with its own healthcheck; Kubernetes ignores HEALTHCHECK and uses its probes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["bun", "server/healthcheck.ts"]
# Same ENTRYPOINT as the base image (bun); CMD names the script, so `docker run IMAGE server/healthcheck.ts`
# runs a one-off probe without --entrypoint. Bun is PID 1 and server/main.ts handles SIGTERM itself.
ENTRYPOINT ["bun"]
CMD ["server/main.ts"]
