#!/bin/bash
# Build the differential-test oracles: small Go programs compiled against the real containerd
# and moby source that Debian ships (see fuzz/oracle/README.md).
#
#   fuzz/oracle/build.sh [1.6|1.7|moby20|all]      (default 1.6)
#
#   1.6  fuzz/.build/containerd-1.6   containerd 1.6 from Debian 12 (bookworm), built with the
#                                     system Go: needs golang-go and
#                                     golang-github-containerd-containerd-dev installed (.ci/run
#                                     installs them; this script never installs anything)
#   1.7  fuzz/.build/containerd-1.7   containerd 1.7 and moby 26 from Debian 13 (trixie), built
#        fuzz/.build/moby-26          with trixie's Go 1.24; the .deb files come from a private apt
#        fuzz/.build/moby-decoder-26  state and are unpacked under fuzz/.build/trixie, never
#                                     installed, and /etc/apt is left alone
#   moby20 fuzz/.build/moby-decoder-20  moby 20.10's request decoders from Debian 12 (bookworm),
#                                     built with the system Go (as 1.6); its six .deb files are
#                                     fetched with apt-get download and unpacked under
#                                     fuzz/.build/bookworm, never installed
#   all  all three
#
# Exit status: 0 built; 3 Debian's archive cannot be reached, or the packages are not installed,
# with a one-line message on stderr that says what to install; anything else is a failed build.
# Environment: SHIMPOLICY_ORACLE_BUILD overrides the output directory (default fuzz/.build);
# SHIMPOLICY_TRIXIE_DIR overrides where the trixie packages are kept (default $OUT/trixie), so
# that several checkouts can share one download; SHIMPOLICY_DEBIAN_MIRROR overrides the mirror
# for trixie (default: the one this machine's apt uses, else deb.debian.org).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${SHIMPOLICY_ORACLE_BUILD:-$(cd "$HERE/.." && pwd)/.build}
TRIXIE=${SHIMPOLICY_TRIXIE_DIR:-$OUT/trixie}
GOCODE=${SHIMPOLICY_GOCODE:-/usr/share/gocode/src}
GO16=${SHIMPOLICY_GO:-/usr/bin/go} # bookworm's golang-go: Go 1.19, what Debian builds containerd 1.6 with
CONTAINERD_PKG=github.com/containerd/containerd
MOBY_PKG=github.com/docker/docker
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# Messages that mean "the archive is out of reach" rather than "the package is broken".
NETWORK_ERRORS='Failed to fetch|Could not resolve|Temporary failure|Unable to connect|Could not connect|Connection failed|Network is unreachable|Some index files failed'

unreachable() {
    echo "fuzz/oracle/build.sh: $1" >&2
    exit 3
}

log() {
    echo "build.sh: $*" >&2
}

# Go in GOPATH mode, offline: every import must come from the Debian packages on disk.
go_env() {
    env GO111MODULE=off GOPROXY=off GOFLAGS= GOSUMDB=off GOTOOLCHAIN=local GOENV=off \
        CGO_ENABLED=0 GOCACHE="$OUT/gocache" "$@"
}

# `go build -overlay` wants a JSON object {"Replace": {virtual path: real path}}; "" as the real
# path hides a file. Arguments: pairs of paths (none contains a quote or a backslash).
overlay_json() {
    local sep="" out='{"Replace": {'
    while [ $# -gt 0 ]; do
        out+="$sep\"$1\": \"$2\""
        sep=", "
        shift 2
    done
    echo "$out}}"
}

# ---- containerd 1.6 (bookworm, installed) -------------------------------------------------------

# Installing is .ci/run's business, never a build's (nor a test's): a test run must not change
# the system, nor fail because another apt holds the dpkg lock.
ensure_bookworm_packages() {
    if [ -x "$GO16" ] && [ -f "$GOCODE/$CONTAINERD_PKG/runtime/v2/manager.go" ]; then
        return 0
    fi
    unreachable "golang-go and golang-github-containerd-containerd-dev are not installed (.ci/run installs them): apt-get install -y golang-go golang-github-containerd-containerd-dev"
}

build_16() {
    ensure_bookworm_packages
    local version
    version=$(dpkg-query -W -f='${Version}' golang-github-containerd-containerd-dev)
    case "$version" in
        1.6.*) ;;
        *)
            log "golang-github-containerd-containerd-dev is $version here, not 1.6 (Debian 12 has 1.6)"
            exit 1
            ;;
    esac
    local overlay="$OUT/overlay-containerd-1.6.json"
    overlay_json "$GOCODE/$CONTAINERD_PKG/runtime/v2/zz_shimpolicy_oracle.go" \
        "$HERE/overlay/containerd_export.go" >"$overlay"
    (cd "$HERE/gopath/src/shimoracle/containerd" &&
        go_env GOPATH="$HERE/gopath:/usr/share/gocode" \
            "$GO16" build -overlay "$overlay" -o "$OUT/containerd-1.6" .)
    echo "containerd $version ($("$GO16" version | cut -d' ' -f3))" >"$OUT/containerd-1.6.version"
    log "built $OUT/containerd-1.6: $(cat "$OUT/containerd-1.6.version")"
}

# ---- containerd 1.7 and moby 26 (trixie, unpacked privately) ------------------------------------

# The mirror this machine's apt already uses (deb822 or one-line format), else Debian's own.
debian_mirror() {
    local uri
    uri=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources || true) |
        awk '{print $2}' | grep -v security | head -1)
    if [ -z "$uri" ]; then
        uri=$( (grep -hs '^deb ' /etc/apt/sources.list || true) |
            sed 's/\[[^]]*\]//' | awk '{print $2}' | grep -v security | head -1)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

trixie_apt() {
    apt-get -q -o "Dir::Etc::SourceList=$TRIXIE/apt/sources.list" -o Dir::Etc::SourceParts=- \
        -o "Dir::State::Lists=$TRIXIE/apt/lists" -o "Dir::Cache=$TRIXIE/apt/cache" \
        -o Dir::State::Status=/dev/null -o APT::Sandbox::User=root "$@"
}

trixie_update() {
    mkdir -p "$TRIXIE/apt/lists/partial" "$TRIXIE/apt/cache/archives/partial"
    local mirror=${SHIMPOLICY_DEBIAN_MIRROR:-$(debian_mirror)}
    echo "deb [signed-by=$KEYRING] $mirror trixie main" >"$TRIXIE/apt/sources.list"
    if ! trixie_apt update >"$TRIXIE/apt/update.log" 2>&1 ||
        grep -Eq "$NETWORK_ERRORS" "$TRIXIE/apt/update.log"; then
        unreachable "cannot reach Debian's package archive for trixie (see $TRIXIE/apt/update.log)"
    fi
}

trixie_packages() {
    grep -v '^#' "$HERE/trixie-packages.txt" | grep .
}

# Download what is not there yet; a package that left the archive since the last index update
# (a point release) is found again after one refresh.
trixie_download() {
    local missing=()
    local pkg
    for pkg in $(trixie_packages); do
        compgen -G "$TRIXIE/debs/${pkg}_*.deb" >/dev/null || missing+=("$pkg")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "downloading ${#missing[@]} trixie packages"
    mkdir -p "$TRIXIE/debs"
    [ -d "$TRIXIE/apt/lists" ] || trixie_update
    if ! (cd "$TRIXIE/debs" && trixie_apt download "${missing[@]}") >"$TRIXIE/download.log" 2>&1; then
        trixie_update
        if ! (cd "$TRIXIE/debs" && trixie_apt download "${missing[@]}") >"$TRIXIE/download.log" 2>&1; then
            if grep -Eq "$NETWORK_ERRORS" "$TRIXIE/download.log"; then
                unreachable "cannot download trixie packages (see $TRIXIE/download.log)"
            fi
            cat "$TRIXIE/download.log" >&2
            exit 1
        fi
    fi
}

deb_version() {
    dpkg-deb -f "$(compgen -G "$TRIXIE/debs/${1}_*.deb" | tail -1)" Version
}

# Unpack into $TRIXIE/root (never into /), then give GOPATH mode what it cannot find by itself:
# Debian installs some major-version modules ("module github.com/x/y/v3") in a directory without
# the /vN suffix, so each gets a symlink under an extra, last GOPATH root ($TRIXIE/gocompat).
trixie_unpack() {
    local stamp="$TRIXIE/root/.unpacked"
    local want
    want=$(cd "$TRIXIE/debs" && printf '%s\n' *.deb | sort | md5sum)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    log "unpacking trixie packages"
    rm -rf "$TRIXIE/root" "$TRIXIE/gocompat"
    mkdir -p "$TRIXIE/root" "$TRIXIE/gocompat/src"
    local pkg
    for pkg in $(trixie_packages); do
        dpkg -x "$(compgen -G "$TRIXIE/debs/${pkg}_*.deb" | tail -1)" "$TRIXIE/root"
    done
    local src="$TRIXIE/root$GOCODE" mod module
    while IFS= read -r mod; do
        module=$(sed -n 's/^module[[:space:]]\{1,\}\([^[:space:]]\{1,\}\).*/\1/p' "$mod" | head -1)
        case "$module" in */v[0-9] | */v[0-9][0-9]) ;; *) continue ;; esac
        [ -e "$src/$module" ] && continue
        mkdir -p "$(dirname "$TRIXIE/gocompat/src/$module")"
        ln -sfn "$(dirname "$mod")" "$TRIXIE/gocompat/src/$module"
    done < <(find "$src" -name go.mod -not -path '*/testdata/*' -not -path '*/vendor/*')
    echo "$want" >"$stamp"
}

# moby's package daemon cannot be built whole from Debian packages (docker.io's own internal
# packages and several modules are not shipped), so the oracle compiles it from the unmodified
# upstream runtime_unix.go alone, plus stand-ins for the three symbols that file needs and the
# function under test never reaches. Every other daemon/*.go is hidden by the overlay.
moby_overlay() {
    local src="$TRIXIE/root$GOCODE/$MOBY_PKG"
    local pairs=() f
    for f in "$src"/daemon/*.go; do
        [ "$(basename "$f")" = runtime_unix.go ] || pairs+=("$f" "")
    done
    pairs+=("$src/daemon/zz_shimpolicy_oracle.go" "$HERE/overlay/moby_export.go")
    pairs+=("$src/daemon/config/opts.go" "$HERE/overlay/moby_config_opts.go")
    pairs+=("$src/libcontainerd/shimopts/shimopts.go" "$HERE/overlay/moby_shimopts.go")
    overlay_json "${pairs[@]}"
}

# moby's request decoder (package runconfig) needs pkg/sysinfo only for its SysInfo type: the
# oracle passes its own, so the two files that read this machine's cgroups (and import packages
# Debian ships apart) are replaced by a stand-in New that is never called.
moby_decoder_overlay() {
    local sysinfo="$TRIXIE/root$GOCODE/$MOBY_PKG/pkg/sysinfo"
    overlay_json "$sysinfo/sysinfo_linux.go" "" "$sysinfo/cgroup2_linux.go" "" \
        "$sysinfo/zz_shimpolicy_oracle.go" "$HERE/overlay/moby_sysinfo_new.go"
}

build_17() {
    command -v dpkg-deb >/dev/null || unreachable "dpkg-deb is needed to unpack the trixie packages"
    trixie_download
    local containerd moby go_version
    containerd=$(deb_version golang-github-containerd-containerd-dev)
    moby=$(deb_version golang-github-docker-docker-dev)
    case "$containerd/$moby" in
        1.7.*/26.*) ;;
        *)
            log "trixie now has containerd $containerd and moby $moby, not 1.7 and 26"
            exit 1
            ;;
    esac
    trixie_unpack
    local src="$TRIXIE/root$GOCODE"
    local goroot="$TRIXIE/root/usr/lib/go-1.24"
    overlay_json "$src/$CONTAINERD_PKG/runtime/v2/zz_shimpolicy_oracle.go" \
        "$HERE/overlay/containerd_export.go" >"$OUT/overlay-containerd-1.7.json"
    moby_overlay >"$OUT/overlay-moby-26.json"
    local gopath="$HERE/gopath:$TRIXIE/root/usr/share/gocode:$TRIXIE/gocompat"
    go_version=$("$goroot/bin/go" version | cut -d' ' -f3)
    (cd "$HERE/gopath/src/shimoracle/containerd" &&
        go_env GOROOT="$goroot" GOPATH="$gopath" PATH="$goroot/bin:$PATH" \
            go build -overlay "$OUT/overlay-containerd-1.7.json" -o "$OUT/containerd-1.7" .)
    echo "containerd $containerd ($go_version)" >"$OUT/containerd-1.7.version"
    (cd "$HERE/gopath/src/shimoracle/moby" &&
        go_env GOROOT="$goroot" GOPATH="$gopath" PATH="$goroot/bin:$PATH" \
            go build -overlay "$OUT/overlay-moby-26.json" -o "$OUT/moby-26" .)
    echo "moby $moby with containerd $containerd ($go_version)" >"$OUT/moby-26.version"
    moby_decoder_overlay >"$OUT/overlay-moby-decoder-26.json"
    (cd "$HERE/gopath/src/shimoracle/mobydecoder" &&
        go_env GOROOT="$goroot" GOPATH="$gopath" PATH="$goroot/bin:$PATH" \
            go build -overlay "$OUT/overlay-moby-decoder-26.json" -o "$OUT/moby-decoder-26" .)
    echo "moby $moby runconfig ($go_version)" >"$OUT/moby-decoder-26.version"
    log "built $OUT/containerd-1.7: $(cat "$OUT/containerd-1.7.version")"
    log "built $OUT/moby-26: $(cat "$OUT/moby-26.version")"
    log "built $OUT/moby-decoder-26: $(cat "$OUT/moby-decoder-26.version")"
}

# ---- moby 20.10's request decoders (bookworm, unpacked privately) -------------------------------

BOOKWORM=$OUT/bookworm
# moby's runconfig and what it imports once pkg/sysinfo's cgroup files are replaced.
MOBY20_PACKAGES=(golang-github-docker-docker-dev golang-github-docker-go-connections-dev
    golang-github-docker-go-units-dev golang-github-pkg-errors-dev
    golang-github-sirupsen-logrus-dev golang-golang-x-sys-dev)

bookworm_download() {
    mkdir -p "$BOOKWORM/debs"
    local log_file="$BOOKWORM/download.log"
    if (cd "$BOOKWORM/debs" && apt-get download "${MOBY20_PACKAGES[@]}") >"$log_file" 2>&1; then
        return 0
    fi
    # Refreshing the system's package index is .ci/run's business, never a build's.
    unreachable "cannot download ${MOBY20_PACKAGES[*]} from Debian 12 (see $log_file; .ci/run refreshes the package index: apt-get update)"
}

build_moby20() {
    ensure_bookworm_packages # the system Go
    local pkg
    for pkg in "${MOBY20_PACKAGES[@]}"; do
        compgen -G "$BOOKWORM/debs/${pkg}_*.deb" >/dev/null || {
            bookworm_download
            break
        }
    done
    local moby
    moby=$(dpkg-deb -f "$(compgen -G "$BOOKWORM/debs/golang-github-docker-docker-dev_*.deb" | tail -1)" Version)
    case "$moby" in
        20.10.*) ;;
        *)
            log "golang-github-docker-docker-dev is $moby here, not 20.10 (Debian 12 has 20.10)"
            exit 1
            ;;
    esac
    rm -rf "$BOOKWORM/root"
    for pkg in "${MOBY20_PACKAGES[@]}"; do
        dpkg -x "$(compgen -G "$BOOKWORM/debs/${pkg}_*.deb" | tail -1)" "$BOOKWORM/root"
    done
    local sysinfo="$BOOKWORM/root$GOCODE/$MOBY_PKG/pkg/sysinfo"
    overlay_json "$sysinfo/sysinfo_linux.go" "" "$sysinfo/cgroup2_linux.go" "" \
        "$sysinfo/zz_shimpolicy_oracle.go" "$HERE/overlay/moby20_sysinfo_new.go" \
        >"$OUT/overlay-moby-decoder-20.json"
    (cd "$HERE/gopath/src/shimoracle/mobydecoder" &&
        go_env GOPATH="$HERE/gopath:$BOOKWORM/root/usr/share/gocode" \
            "$GO16" build -overlay "$OUT/overlay-moby-decoder-20.json" -o "$OUT/moby-decoder-20" .)
    echo "moby $moby runconfig ($("$GO16" version | cut -d' ' -f3))" >"$OUT/moby-decoder-20.version"
    log "built $OUT/moby-decoder-20: $(cat "$OUT/moby-decoder-20.version")"
}

case "${1:-1.6}" in
    1.6) targets=(16) ;;
    1.7) targets=(17) ;;
    moby20) targets=(moby20) ;;
    all) targets=(16 17 moby20) ;;
    *)
        echo "usage: fuzz/oracle/build.sh [1.6|1.7|moby20|all]" >&2
        exit 2
        ;;
esac
mkdir -p "$OUT"
for t in "${targets[@]}"; do
    "build_$t"
done
