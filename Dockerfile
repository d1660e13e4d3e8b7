# The Sluice operator image: Node 24 (LTS line; 24.9.0, the version the tests run under), production dependencies
# only, kubectl for Kustomize rendering, helm for Helm charts, sops for encrypted secrets, a non-root user, nothing written outside /tmp (runs with a read-only root
# filesystem and /tmp as an emptyDir, as the Helm chart does). Build from the repository root:
#   docker build -t <registry>/sluice:0.1.0 .
# test/image/image.int.test.ts copies exactly what the COPY lines below name and checks the stages without Docker.

# 1. Compile src/ to dist/ (TypeScript and the @types packages are dev dependencies). `npm install` installs
#    exactly the lock (npm test checks that it would not change it); test/image reads these install lines.
FROM node:24.9.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm install --no-audit --no-fund --ignore-scripts
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json
# The dashboard's browser assets (esbuild, a dev dependency), served from dist/dashboard/assets.
RUN node src/dashboard/assets.ts dist/dashboard/assets

# 2. kubectl (for `kubectl kustomize`), built from the same Go module and Kubernetes version as the test control
#    plane's kubectl; static, so it runs on any base. Modules come from the image's default Go module proxy.
FROM golang:1.26.8-bookworm AS kubectl
WORKDIR /src
COPY test/cluster/controlplane/go.mod test/cluster/controlplane/go.sum ./
COPY test/cluster/controlplane/cmd/kubectl ./cmd/kubectl
RUN set -eu; \
    version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' go.mod); \
    minor=$(echo "$version" | cut -d. -f2); \
    v=k8s.io/component-base/version; \
    GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      go build -trimpath -buildvcs=false -tags=notest,grpcnotrace \
        -ldflags "-s -w -X $v.gitVersion=$version -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
        -o /out/kubectl ./cmd/kubectl; \
    /out/kubectl version --client

# 3. helm (for Helm sources: `helm template`, as Argo CD's repo server runs it), built from the Go module the chart
#    tests pin (test/cluster/helm), with the version stamps test/cluster/build.sh gives it; static.
FROM golang:1.26.8-bookworm AS helm
WORKDIR /src
COPY test/cluster/helm/go.mod test/cluster/helm/go.sum ./
RUN set -eu; \
    version=$(awk '$1 == "helm.sh/helm/v3" { print $2; exit }' go.mod); \
    minor=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' go.mod | sed -n 's/^v0\.\([0-9]*\)\..*/\1/p'); \
    h=helm.sh/helm/v3; \
    GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X $h/internal/version.version=$version -X $h/internal/version.gitTreeState=clean -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$minor" \
        -o /out/helm $h/cmd/helm; \
    /out/helm version --short

# 4. sops (decrypts SOPS files of the sources at render time, with age keys), built from the Go module test/sops
#    pins (test/sops/build.sh builds the same for the tests); static.
FROM golang:1.26.8-bookworm AS sops
WORKDIR /src
COPY test/sops/go.mod test/sops/go.sum ./
RUN set -eu; \
    GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly \
      go build -trimpath -buildvcs=false -ldflags "-s -w" -o /out/sops github.com/getsops/sops/v3/cmd/sops; \
    /out/sops --version --disable-version-check

# 5. The runtime: production dependencies, the compiled operator, kubectl, helm, sops.
FROM node:24.9.0-bookworm-slim
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="Kubernetes operator for GitOps sync and progressive delivery" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund --ignore-scripts \
    && rm -rf /root/.npm \
    && groupadd --system --gid 10001 sluice \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --no-create-home --shell /usr/sbin/nologin sluice
COPY --from=build /src/dist ./dist
COPY --from=kubectl /out/kubectl /usr/local/bin/kubectl
COPY --from=helm /out/helm /usr/local/bin/helm
COPY --from=sops /out/sops /usr/local/bin/sops
# Git clones (isomorphic-git), Kustomize builds and Helm renders go to $TMPDIR; nothing else is written.
ENV NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp \
    SLUICE_KUBECTL=/usr/local/bin/kubectl \
    SLUICE_HELM=/usr/local/bin/helm \
    SLUICE_SOPS=/usr/local/bin/sops
# Numeric, so a runAsNonRoot pod can verify it.
USER 10001:10001
EXPOSE 8080
# A young generation of 4 MiB semi-spaces (V8's default grows to tens of MiB): the operator's garbage is many small,
# short-lived objects; measured with test/bench/quick-rollouts.ts at 300 Rollouts, idle RSS 245 → 128 MiB.
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/main.js"]
CMD ["--metrics-addr=0.0.0.0:8080"]
