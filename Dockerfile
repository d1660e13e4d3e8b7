# The operator's container image is the packaging issue's work (multi-stage, pinned Node LTS, non-root, kubectl for
# Kustomize). Until it lands this file builds nothing: it fails at once rather than produce an image that cannot run.
FROM busybox:1.37
RUN echo "Sluice has no container image yet: see the packaging issue (Helm chart and container image)." >&2 && exit 1
