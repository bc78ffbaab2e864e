#!/usr/bin/env bash
# Builds Jex's container base images OFFLINE, for hosts with no registry (such as this project's
# development and CI machines). Hosts that can pull from a registry do not need this script: the
# Dockerfile's defaults (mcr.microsoft.com/dotnet/{sdk,aspnet}) work there.
#
#   docker/build-base-image.sh [--force]
#
# Produces, with podman:
#   localhost/jex-base:bookworm   Debian 12 minbase from debootstrap, plus the libraries .NET needs
#   localhost/jex-aspnet:10.0     the above plus this machine's own .NET + ASP.NET Core 10 runtime
#                                 (copied from the host's dotnet root: nothing is downloaded)
#
# Idempotent: an image that already exists is kept (--force rebuilds both). It also needs podman
# configured for this host, so it writes nothing but uses docker/containers.conf; export it first:
#   export CONTAINERS_CONF="$PWD/docker/containers.conf"
# (the script exports it for itself when it is unset).
#
# Environment: JEX_DEBIAN_MIRROR (default http://deb.debian.org/debian), JEX_BASE_EXTRA_PACKAGES
# (more Debian packages, comma-separated), DOTNET_ROOT (default: the
# directory of the `dotnet` on PATH), JEX_BASE_IMAGE / JEX_ASPNET_IMAGE (image names).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

BASE_IMAGE=${JEX_BASE_IMAGE:-localhost/jex-base:bookworm}
ASPNET_IMAGE=${JEX_ASPNET_IMAGE:-localhost/jex-aspnet:10.0}
MIRROR=${JEX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# libssl3 + ca-certificates: TLS for user code that calls out; tzdata: time zones for user code.
# Everything else .NET needs (libc, libstdc++, libgcc) is in minbase. No libicu: jex-runtime and jex
# run with InvariantGlobalization (Directory.Build.props), and ICU is the largest package by far.
# Add it with JEX_BASE_EXTRA_PACKAGES=libicu72 for an image whose apps need cultures.
EXTRA_PACKAGES=libssl3,ca-certificates,tzdata${JEX_BASE_EXTRA_PACKAGES:+,$JEX_BASE_EXTRA_PACKAGES}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { printf '[base-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

export CONTAINERS_CONF=${CONTAINERS_CONF:-$HERE/containers.conf}
[ -f "$CONTAINERS_CONF" ] || die "CONTAINERS_CONF=$CONTAINERS_CONF does not exist"
command -v podman >/dev/null || die "podman is not installed (apt-get install podman runc debootstrap)"

if [ -z "${DOTNET_ROOT:-}" ]; then
  DOTNET_ROOT=$(dirname "$(readlink -f "$(command -v dotnet)")") || die "no dotnet on PATH; set DOTNET_ROOT"
fi

image_exists() { podman image exists "$1"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jex-base-image.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

build_base() {
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  local root=$WORK/rootfs start=$SECONDS
  log "debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"
  if ! debootstrap --variant=minbase --include="$EXTRA_PACKAGES" "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
    tail -20 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (full log above; is $MIRROR reachable as an apt source?)"
  fi
  # Nothing in the image needs the package caches; they only make it bigger.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  log "importing $BASE_IMAGE"
  tar -C "$root" -c . | podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    - "$BASE_IMAGE" >/dev/null
  log "$BASE_IMAGE built in $((SECONDS - start))s"
}

build_aspnet() {
  local ctx=$WORK/aspnet start=$SECONDS
  mkdir -p "$ctx/dotnet/shared"
  # Only the runtime parts: host (muxer + hostfxr), Microsoft.NETCore.App and Microsoft.AspNetCore.App
  # 10.x. The SDK, packs and templates stay out: the image only runs published apps.
  local fw found=0
  for fw in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
    local versions
    versions=$(ls -d "$DOTNET_ROOT/shared/$fw"/10.* 2>/dev/null || true)
    [ -n "$versions" ] || die "$DOTNET_ROOT/shared/$fw has no 10.x runtime"
    mkdir -p "$ctx/dotnet/shared/$fw"
    cp -a $versions "$ctx/dotnet/shared/$fw/"
    found=$((found + 1))
  done
  cp -a "$DOTNET_ROOT/host" "$DOTNET_ROOT/dotnet" "$ctx/dotnet/"
  [ -f "$DOTNET_ROOT/LICENSE.txt" ] && cp "$DOTNET_ROOT/LICENSE.txt" "$DOTNET_ROOT/ThirdPartyNotices.txt" "$ctx/dotnet/" 2>/dev/null || true
  log "building $ASPNET_IMAGE from $BASE_IMAGE + $(ls "$ctx/dotnet/shared/Microsoft.AspNetCore.App") runtime from $DOTNET_ROOT"
  cat >"$ctx/Containerfile" <<EOF
FROM $BASE_IMAGE
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_ROOT=/usr/share/dotnet \\
    DOTNET_RUNNING_IN_CONTAINER=true \\
    ASPNETCORE_HTTP_PORTS=8080
EOF
  podman build --quiet -t "$ASPNET_IMAGE" -f "$ctx/Containerfile" "$ctx" >/dev/null
  log "$ASPNET_IMAGE built in $((SECONDS - start))s"
}

if [ "$FORCE" = 1 ] || ! image_exists "$BASE_IMAGE"; then
  build_base
  FORCE=1 # a new base invalidates the images built on it
else
  log "$BASE_IMAGE exists (use --force to rebuild)"
fi
if [ "$FORCE" = 1 ] || ! image_exists "$ASPNET_IMAGE"; then
  build_aspnet
else
  log "$ASPNET_IMAGE exists (use --force to rebuild)"
fi
log "done; for podman on this host: export CONTAINERS_CONF=$CONTAINERS_CONF"
