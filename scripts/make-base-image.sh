#!/usr/bin/env bash
# Make a local debian:bookworm-slim when no image registry is reachable: debootstrap a
# minimal bookworm from the Debian mirror and `docker import` it. Does nothing when the
# image already exists (pulled from a registry or made earlier). Needs root and dockerd.
#
#   scripts/make-base-image.sh [IMAGE]        default IMAGE: debian:bookworm-slim
#   MIRROR=http://deb.debian.org/debian       the Debian mirror to bootstrap from
set -euo pipefail
IMAGE="${1:-debian:bookworm-slim}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE exists: nothing to do"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "debootstrap is missing: apt-get install -y debootstrap" >&2
  exit 1
}

# the root file system is built in a temp dir that is always removed, even on failure
dir="$(mktemp -d /tmp/anycast-lab-base.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
start=$SECONDS
debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$dir.log" 2>&1 || {
  tail -20 "$dir.log" >&2
  rm -f "$dir.log"
  echo "debootstrap failed (mirror $MIRROR)" >&2
  exit 1
}
rm -f "$dir.log"
# slim like the registry's image: no apt lists, no docs, no man pages
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
# the suites the registry's image has: pinned versions come from -updates and -security too
rm -f "$dir/etc/apt/sources.list"
cat >"$dir/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: ${MIRROR}
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# build layers never install recommends and never keep downloaded .debs
cat >"$dir/etc/apt/apt.conf.d/90anycast-lab" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF
tar -C "$dir" --numeric-owner -c . | docker import -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
echo "$IMAGE made from $MIRROR in $((SECONDS - start))s"
