#!/usr/bin/env bash
# Build the lab's container images (images/*/Dockerfile): `make images`.
# Makes a local debian:bookworm-slim first when there is none (no registry needed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
scripts/make-base-image.sh
exec "$PY" -m lab.runtime.clab.images "$@"
