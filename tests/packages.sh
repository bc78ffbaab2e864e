# Sourced by the tiers that use the packed packages (testing-package.sh, quickstart.sh); not a tier.
# Expects the repository root as the current folder. Defines PACKAGES and:
#   ensure_packages TAG ID...   packs (./demo.sh pack) when a package ID is missing from
#                               out/packages or a source file is newer than the oldest of them;
#                               returns 1 if that pack fails
#   write_nuget_config DIR      a nuget.config in DIR naming out/packages as an extra source
#                               (nuget.org, or the machine's mirror, stays)
PACKAGES=$PWD/out/packages

# The first of IDs with no package, or a source file newer than the oldest of their packages.
_packages_stale() {
  local id oldest="" pkg
  for id in "$@"; do
    pkg=$(ls "$PACKAGES/$id".[0-9]*.nupkg 2>/dev/null | head -1)
    [ -n "$pkg" ] || { echo "out/packages has no $id"; return; }
    if [ -z "$oldest" ] || [ "$pkg" -ot "$oldest" ]; then oldest=$pkg; fi
  done
  local newer
  newer=$(find src templates Directory.Build.props Directory.Build.targets Directory.Packages.props \
    \( -name bin -o -name obj \) -prune -o -type f -newer "$oldest" -print 2>/dev/null | head -1)
  [ -z "$newer" ] || echo "$newer is newer than the packages in $PACKAGES"
}

ensure_packages() {
  local tag=$1; shift
  local why; why=$(_packages_stale "$@")
  [ -n "$why" ] || return 0
  echo "$tag: $why: running ./demo.sh pack"
  timeout 1800 ./demo.sh pack || { echo "$tag: ./demo.sh pack failed"; return 1; }
}

write_nuget_config() {
  cat >"$1/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="jex-local" value="$PACKAGES" />
  </packageSources>
</configuration>
XML
}
