#!/usr/bin/env bash
# A loopback simplestreams image server over HTTPS (self-signed certificate) with busybox test
# images, for lxe's "pull an LXD image from a remote" path. No network access needed.
#
# Usage: scripts/test-simplestreams.sh build | start | stop | env | lxc-config DIR
#
#   build       builds two LXD images from Debian's busybox-static and lays out a simplestreams
#               tree (streams/v1/index.json, streams/v1/images.json, images/...) under the state
#               dir; skipped when the stamp says this script and busybox made it. Products (arch
#               amd64 = LXD x86_64, variant default, type container):
#                 busybox:1.36:amd64:default  aliases busybox/1.36, busybox   (one file:
#                     ftype lxd_combined.tar.gz; LXD fingerprint = that file's sha256)
#                 busybox:edge:amd64:default  alias busybox/edge   (two files: lxd.tar.xz +
#                     root.tar.xz; LXD fingerprint = combined_sha256 = sha256(meta || rootfs))
#               LXD also derives "ALIAS/amd64" aliases (busybox/1.36/amd64, ...). The images are
#               reproducible: same busybox + same script = same fingerprints.
#   start       (builds if needed, then) serves the tree on https://127.0.0.1:$PORT (python3
#               http.server + ssl) with a self-signed certificate (SAN IP:127.0.0.1,
#               DNS:localhost) made once under the state dir; a no-op if it already answers.
#   stop        stops the server this script started (pid file).
#   env         prints `export` lines: URL, CERT (PEM path), DIR, and the two fingerprints.
#   lxc-config DIR  writes DIR/config.yml for the lxc client (remotes local = unix:// and
#               lxetest = the server, simplestreams, public) and DIR/servercerts/lxetest.crt:
#               LXD_CONF=DIR lxc image list lxetest:
#
# Pull with LXD: POST /1.0/images {"source": {"type": "image", "mode": "pull", "server":
# URL, "protocol": "simplestreams", "alias": "busybox/1.36", "certificate": "<PEM>"}}; the
# operation's metadata.fingerprint is the fingerprint above. Without "certificate" LXD refuses
# the server ("x509: certificate signed by unknown authority"). LXD (5.0) caches index.json and
# images.json for an hour per server URL in /var/cache/lxd/<sha256 of URL>/ and then does not
# ask the server at all (nor check its certificate) until it needs an image file; it also uses
# that copy when the server is down. So after the images change (new busybox), LXD sees the
# old ones for up to an hour (delete that directory to forget them).
#
# Environment: LXE_TEST_SIMPLESTREAMS_DIR (/var/lib/lxe-test-simplestreams),
# LXE_TEST_SIMPLESTREAMS_PORT (8443), BUSYBOX (/bin/busybox).
# Needs: busybox-static, python3, openssl, curl, tar, gzip, xz.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
STATE_DIR=${LXE_TEST_SIMPLESTREAMS_DIR:-/var/lib/lxe-test-simplestreams}
PORT=${LXE_TEST_SIMPLESTREAMS_PORT:-8443}
BUSYBOX=${BUSYBOX:-/bin/busybox}
URL=https://127.0.0.1:$PORT
TREE=$STATE_DIR/tree
STAMP=$STATE_DIR/stamp
FPS=$STATE_DIR/fingerprints
CERT=$STATE_DIR/tls/cert.pem
KEY=$STATE_DIR/tls/key.pem
PIDFILE=$STATE_DIR/server.pid
SERVER_PY=$STATE_DIR/server.py
SERVER_LOG=$STATE_DIR/server.log

# Reproducible images: every file time and creation_date is this instant.
EPOCH=1704067200
UPDATED="Mon, 01 Jan 2024 00:00:00 +0000"

usage() { sed -n '2,37p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//'; }
log() { echo "==> $*"; }
die() { echo "test-simplestreams: error: $*" >&2; exit 1; }

# simplestreams/Debian architecture name and LXD's (uname) name.
ss_arch() {
    case $(uname -m) in
        x86_64) echo amd64 ;; aarch64) echo arm64 ;; armv7l) echo armhf ;; i686) echo i386 ;;
        ppc64le) echo ppc64el ;; *) uname -m ;;
    esac
}

# ------------------------------------------------------------------------------ build

# The products: release, version (serial; LXD ignores versions whose name does not start with
# a YYYYMMDD date), format (combined | split), aliases (comma-separated).
product_table() {
    cat <<'EOF'
1.36 20240101_0000 combined busybox/1.36,busybox
edge 20240201_0000 split busybox/edge
EOF
}

build_id() {
    sha256sum "$SCRIPT_PATH" "$BUSYBOX" | cut -d' ' -f1 | sha256sum | cut -d' ' -f1
}

build_complete() {
    [[ -f $STAMP && -f $TREE/streams/v1/index.json && -f $FPS && $(cat "$STAMP") == "$(build_id)" ]]
}

# make_rootfs DIR RELEASE: the busybox rootfs (as scripts/make-busybox-image.sh lays it out).
make_rootfs() {
    local root=$1 release=$2 d path name dir
    for d in bin sbin usr/bin usr/sbin usr/local/bin usr/local/sbin etc dev proc sys run tmp \
             var/tmp var/log root home mnt opt lib srv; do
        mkdir -p "$root/$d"
    done
    ln -s ../run "$root/var/run"
    chmod 0755 "$root"
    chmod 1777 "$root/tmp" "$root/var/tmp"
    chmod 0700 "$root/root"
    install -m 0755 "$BUSYBOX" "$root/bin/busybox"
    while read -r path; do
        name=${path##*/}
        [[ -z $name || $name == busybox ]] && continue
        [[ -e $root/bin/$name || -L $root/bin/$name ]] || ln -s busybox "$root/bin/$name"
        dir=${path%/*}
        if [[ $dir != "$path" && $dir != bin ]]; then
            mkdir -p "$root/$dir"
            [[ -e $root/$path || -L $root/$path ]] || ln -s /bin/busybox "$root/$path"
        fi
    done < <("$BUSYBOX" --list-full)
    cat > "$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
    cat > "$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
EOF
    cat > "$root/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
    chmod 0640 "$root/etc/shadow"
    cat > "$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
    echo busybox > "$root/etc/hostname"
    : > "$root/etc/resolv.conf"
    cat > "$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
    # busybox init: no gettys (there are no ttys); just sit as PID 1.
    echo '::ctrlaltdel:/bin/true' > "$root/etc/inittab"
    echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' > "$root/etc/profile"
    # What makes the two images differ.
    printf 'NAME=BusyBox\nID=busybox\nVERSION_ID=%s\nPRETTY_NAME="BusyBox %s (lxe test image)"\n' \
        "$release" "$release" > "$root/etc/os-release"
    echo "busybox/$release" > "$root/etc/lxe-test-image"
}

# make_meta DIR RELEASE ARCH
make_meta() {
    local meta=$1 release=$2 arch=$3 bbver
    bbver=$("$BUSYBOX" 2>/dev/null | awk 'NR == 1 {print $2}') || true
    mkdir -p "$meta/templates"
    cat > "$meta/metadata.yaml" <<EOF
architecture: $arch
creation_date: $EPOCH
properties:
  architecture: $arch
  description: busybox $release test image for lxe (BusyBox ${bbver:-unknown})
  os: busybox
  release: "$release"
  variant: default
templates:
  /etc/hostname:
    when:
      - create
      - copy
      - rename
    template: hostname.tpl
EOF
    echo '{{ container.name }}' > "$meta/templates/hostname.tpl"
}

# rtar DIR OUT FILTER MEMBERS...: a reproducible tar (sorted, fixed times, root-owned).
rtar() {
    local dir=$1 out=$2 filter=$3; shift 3
    find "$dir" -exec touch -h -d "@$EPOCH" {} +
    tar -C "$dir" --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
        --format=gnu -cf - "$@" | $filter > "$out"
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

cmd_build() {
    [[ $# -eq 0 ]] || die "build takes no arguments"
    command -v python3 >/dev/null || die "python3 missing"
    command -v xz >/dev/null || die "xz missing (apt-get install xz-utils)"
    if [[ ! -x $BUSYBOX ]] || ! "$BUSYBOX" --list >/dev/null 2>&1; then
        die "$BUSYBOX missing or not busybox (apt-get install busybox-static)"
    fi
    ! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is not statically linked (install busybox-static)"

    umask 022
    mkdir -p "$STATE_DIR"
    exec 8>"$STATE_DIR/.build.lock"
    flock 8
    if build_complete; then
        log "simplestreams tree in $TREE is up to date; nothing to build"
        return 0
    fi

    local arch ssarch work new release serial format aliases key rel meta root f
    local old_fps=
    arch=$(uname -m)
    ssarch=$(ss_arch)
    [[ -f $FPS ]] && old_fps=$(cat "$FPS")
    WORK=$(mktemp -d /tmp/lxe-test-simplestreams.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
    work=$WORK
    new=$STATE_DIR/tree.new
    rm -rf "$new"
    mkdir -p "$new/streams/v1"
    log "building simplestreams tree in $new"

    # One line per item for the JSON writer: key release serial aliases ftype path sha size combined.
    : > "$work/items"
    : > "$work/fingerprints"
    while read -r release serial format aliases; do
        key=busybox:$release:$ssarch:default
        rel=images/busybox/$release/$ssarch/default/$serial
        mkdir -p "$new/$rel" "$work/$release"
        meta=$work/$release/meta
        root=$work/$release/rootfs
        make_meta "$meta" "$release" "$arch"
        make_rootfs "$root" "$release"
        case $format in
            combined)
                # A unified image: metadata.yaml, templates/ and rootfs/ in one tarball.
                mv "$root" "$meta/rootfs"
                f=$new/$rel/lxd_combined.tar.gz
                rtar "$meta" "$f" "gzip -9n" metadata.yaml templates rootfs
                echo "$key $release $serial $aliases lxd_combined.tar.gz $rel/lxd_combined.tar.gz $(sha "$f") $(size "$f") -" >> "$work/items"
                echo "busybox/$release $(sha "$f")" >> "$work/fingerprints"
                ;;
            split)
                rtar "$meta" "$new/$rel/lxd.tar.xz" "xz -9 -T1" metadata.yaml templates
                rtar "$root" "$new/$rel/root.tar.xz" "xz -9 -T1" .
                local combined
                combined=$(cat "$new/$rel/lxd.tar.xz" "$new/$rel/root.tar.xz" | sha256sum | cut -d' ' -f1)
                for f in lxd.tar.xz root.tar.xz; do
                    echo "$key $release $serial $aliases $f $rel/$f $(sha "$new/$rel/$f") $(size "$new/$rel/$f") $combined" >> "$work/items"
                done
                echo "busybox/$release $combined" >> "$work/fingerprints"
                ;;
            *) die "unknown format $format" ;;
        esac
    done < <(product_table)

    python3 - "$work/items" "$new/streams/v1" "$ssarch" "$UPDATED" <<'EOF'
import json, sys
items_file, out, arch, updated = sys.argv[1:5]
products = {}
for line in open(items_file):
    key, release, serial, aliases, ftype, path, sha, size, combined = line.split()
    p = products.setdefault(key, {
        "aliases": aliases, "arch": arch, "os": "busybox", "release": release,
        "release_title": release, "variant": "default", "versions": {}})
    item = {"ftype": ftype, "path": path, "sha256": sha, "size": int(size)}
    if ftype == "lxd.tar.xz":
        # The fingerprint of a split image: sha256 of the metadata tarball followed by the
        # rootfs tarball (what `lxc image import meta root` computes too).
        item["combined_sha256"] = combined
        item["combined_rootxz_sha256"] = combined
    p["versions"].setdefault(serial, {"items": {}})["items"][ftype] = item
images = {"content_id": "images", "datatype": "image-downloads", "format": "products:1.0",
          "updated": updated, "products": products}
index = {"format": "index:1.0", "updated": updated, "index": {"images": {
    "datatype": "image-downloads", "path": "streams/v1/images.json", "format": "products:1.0",
    "updated": updated, "products": sorted(products)}}}
for name, doc in (("images.json", images), ("index.json", index)):
    with open(f"{out}/{name}", "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
EOF

    rm -f "$STAMP"
    rm -rf "$STATE_DIR/tree.old"
    [[ ! -e $TREE ]] || mv "$TREE" "$STATE_DIR/tree.old"
    mv "$new" "$TREE"
    rm -rf "$STATE_DIR/tree.old"
    mv "$work/fingerprints" "$FPS"
    build_id > "$STAMP"
    while read -r rel f; do log "$rel: fingerprint $f"; done < "$FPS"
    if [[ -n $old_fps && $old_fps != "$(cat "$FPS")" ]]; then
        echo "test-simplestreams: note: the fingerprints changed; LXD keeps using its cached index" \
             "for up to an hour: /var/cache/lxd/$(printf '%s' "$URL" | sha256sum | cut -d' ' -f1)/" >&2
    fi
}

# ------------------------------------------------------------------------------ server

server_answers() {
    curl -sf -o /dev/null --max-time 2 --cacert "$CERT" "$URL/streams/v1/index.json" 2>/dev/null
}

make_cert() {
    [[ -s $CERT && -s $KEY ]] && return 0
    command -v openssl >/dev/null || die "openssl missing"
    mkdir -p "$STATE_DIR/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$KEY.new" -out "$CERT.new" 2>/dev/null
    chmod 0600 "$KEY.new"
    mv "$KEY.new" "$KEY"
    mv "$CERT.new" "$CERT"
    log "made self-signed certificate $CERT"
}

write_server_py() {
    cat > "$SERVER_PY.new" <<'EOF'
# Static HTTPS file server for scripts/test-simplestreams.sh.
# Usage: python3 server.py PORT DIR CERT KEY
# The TLS handshake runs in each request's thread, so a client that never speaks TLS (LXD
# first tries plain http:// on the same port for image files) blocks nobody.
import functools, http.server, ssl, sys

port, root, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)

class Handler(http.server.SimpleHTTPRequestHandler):
    timeout = 60
    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))
        sys.stderr.flush()

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def finish_request(self, request, client_address):
        request.settimeout(60)
        try:
            conn = ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write("TLS handshake from %s failed: %s\n" % (client_address[0], e))
            sys.stderr.flush()
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

Server(("127.0.0.1", port), functools.partial(Handler, directory=root)).serve_forever()
EOF
    mv "$SERVER_PY.new" "$SERVER_PY"
}

# The pid in the pid file, if it is our server.
server_pid() {
    local pid
    [[ -f $PIDFILE ]] || return 1
    pid=$(cat "$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$SERVER_PY $PORT " || return 1
    echo "$pid"
}

cmd_start() {
    [[ $# -eq 0 ]] || die "start takes no arguments"
    command -v curl >/dev/null || die "curl missing"
    command -v python3 >/dev/null || die "python3 missing"
    build_complete || cmd_build
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/.lock"
    flock 9
    make_cert
    if server_answers; then
        log "the simplestreams server already answers on $URL"
        return 0
    fi
    write_server_py
    local pid i
    # The server inherits no descriptor but 0-2 (not the locks, nor a caller's pipe).
    (
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            if [[ $fd -gt 2 ]]; then exec {fd}>&-; fi
        done
        exec setsid python3 "$SERVER_PY" "$PORT" "$TREE" "$CERT" "$KEY" </dev/null >>"$SERVER_LOG" 2>&1
    ) &
    pid=$!
    echo "$pid" > "$PIDFILE"
    for ((i = 0; i < 100; i++)); do
        server_answers && { log "simplestreams server (pid $pid) answers on $URL"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$SERVER_LOG" >&2 || true
    die "simplestreams server on $URL did not come up (log: $SERVER_LOG; is something else on that port?)"
}

cmd_stop() {
    [[ $# -eq 0 ]] || die "stop takes no arguments"
    local pid i
    if [[ ! -f $PIDFILE ]]; then
        log "no pid file, nothing to stop"
        return 0
    fi
    if pid=$(server_pid); then
        kill "$pid"
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi
        log "simplestreams server (pid $pid) stopped"
    else
        log "simplestreams server (pid $(cat "$PIDFILE")) is not running"
    fi
    rm -f "$PIDFILE"
}

# ------------------------------------------------------------------------------ env, lxc-config

cmd_env() {
    [[ $# -eq 0 ]] || die "env takes no arguments"
    cat <<EOF
export LXE_TEST_SIMPLESTREAMS_URL=$URL
export LXE_TEST_SIMPLESTREAMS_CERT=$CERT
export LXE_TEST_SIMPLESTREAMS_DIR=$STATE_DIR
EOF
    if [[ -f $FPS ]]; then
        awk '$1 == "busybox/1.36" {print "export LXE_TEST_SIMPLESTREAMS_FP_1_36=" $2}
             $1 == "busybox/edge" {print "export LXE_TEST_SIMPLESTREAMS_FP_EDGE=" $2}' "$FPS"
    fi
}

cmd_lxc_config() {
    [[ $# -eq 1 ]] || die "usage: lxc-config DIR"
    local dir=$1
    [[ -s $CERT ]] || make_cert
    mkdir -p "$dir/servercerts"
    cat > "$dir/config.yml.new" <<EOF
# lxc client configuration written by scripts/test-simplestreams.sh (use: LXD_CONF=$dir lxc ...)
default-remote: local
remotes:
  local:
    addr: unix://
    public: false
  lxetest:
    addr: $URL
    protocol: simplestreams
    public: true
aliases: {}
EOF
    mv "$dir/config.yml.new" "$dir/config.yml"
    cp "$CERT" "$dir/servercerts/lxetest.crt.new"
    mv "$dir/servercerts/lxetest.crt.new" "$dir/servercerts/lxetest.crt"
    log "wrote $dir/config.yml and $dir/servercerts/lxetest.crt"
}

# ------------------------------------------------------------------------------ main

[[ $# -gt 0 ]] || { usage >&2; exit 2; }
sub=$1; shift
case "$sub" in
    build) cmd_build "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    env) cmd_env "$@" ;;
    lxc-config) cmd_lxc_config "$@" ;;
    -h|--help|help) usage ;;
    *) echo "test-simplestreams: unknown subcommand: $sub" >&2; usage >&2; exit 2 ;;
esac
