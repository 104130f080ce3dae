#!/usr/bin/env bash
# A loopback OCI registry with locally built busybox test images, for lxe's image-pull
# tests, crictl e2e and critest. No network access needed. Run as root.
#
# Usage: scripts/test-registry.sh build [--big] | start | stop | conf [--rewrite] FILE | env
#
#   build   builds the test images (Debian's /bin/busybox + umoci) into an OCI layout
#           under $LXE_TEST_IMAGES_DIR; skipped when the cache was made by this version
#           of the script. --big adds lxe-test/big:1 (busybox + 100 MiB of random data).
#   start   (builds if needed, then) starts docker-registry on 127.0.0.1:$LXE_TEST_REGISTRY_PORT
#           and a basic-auth one (lxe-user / lxe-secret) on 127.0.0.1:$LXE_TEST_AUTH_REGISTRY_PORT,
#           unless they already answer, and pushes every image whose tag is missing or stale.
#   stop    stops the registries this script started (pid files); their data stays.
#   conf    writes a registries.conf (v2) mirroring docker.io, gcr.io/k8s-staging-cri-tools,
#           registry.k8s.io/e2e-test-images and public.ecr.aws/docker/library to the local
#           registry; --rewrite points those prefixes at it instead (no fallback upstream).
#   env     prints `export` lines for tests (registry addresses, credentials, conf path).
#           Use the conf with `skopeo --registries-conf FILE` (skopeo 1.9 ignores
#           CONTAINERS_REGISTRIES_CONF) and `skopeo inspect --no-tags` through mirrors.
#
# Environment: LXE_TEST_IMAGES_DIR (/var/cache/lxe-test-images), LXE_TEST_REGISTRY_DIR
# (/var/lib/lxe-test-registry), LXE_TEST_REGISTRY_PORT (5000), LXE_TEST_AUTH_REGISTRY_PORT
# (5001), LXE_TEST_AUTH_REGISTRY_TLS (0; 1 serves the auth registry over HTTPS with a
# self-signed certificate made under the state dir), BUSYBOX (/bin/busybox), LXE_TEST_SHELL_DEB
# (the newest $LXE_TEST_IMAGES_DIR/debs/busybox_*.deb: Debian's dynamic busybox, the critest
# busybox stand-in's /bin/sh; setup.sh downloads it).
# Needs: skopeo, umoci, docker-registry, busybox-static, curl, python3, openssl (TLS only),
# gcc (only for e2e-test-images/nonewprivs; skipped without it). Images: see image_table.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
IMAGES_DIR=${LXE_TEST_IMAGES_DIR:-/var/cache/lxe-test-images}
STATE_DIR=${LXE_TEST_REGISTRY_DIR:-/var/lib/lxe-test-registry}
PORT=${LXE_TEST_REGISTRY_PORT:-5000}
AUTH_PORT=${LXE_TEST_AUTH_REGISTRY_PORT:-5001}
AUTH_TLS=${LXE_TEST_AUTH_REGISTRY_TLS:-0}
AUTH_USER=lxe-user
AUTH_PASSWORD=lxe-secret
BUSYBOX=${BUSYBOX:-/bin/busybox}
OCI=$IMAGES_DIR/oci
SHELL_DEB=${LXE_TEST_SHELL_DEB:-$(ls "$IMAGES_DIR"/debs/busybox_*.deb 2>/dev/null | sort -V | tail -n 1 || true)}
STAMP=$IMAGES_DIR/stamp

# Reproducible images: every file time, history entry and config "created" is this instant.
EPOCH=1704067200
CREATED=2024-01-01T00:00:00Z
PATH_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage() { sed -n '2,26p' "$SCRIPT_PATH" | sed 's/^# \{0,1\}//'; }
log() { echo "==> $*"; }
die() { echo "test-registry: error: $*" >&2; exit 1; }

goarch() {
    case $(uname -m) in
        x86_64) echo amd64 ;; aarch64) echo arm64 ;; armv7l|armv6l) echo arm ;;
        ppc64le) echo ppc64le ;; s390x) echo s390x ;; riscv64) echo riscv64 ;; *) uname -m ;;
    esac
}

# The images: layout ref (the tag inside the OCI layout) and the repository:tag names it is
# pushed as. Every ref carries the label org.lxe.test=REF, so no two refs share an image ID.
image_table() {
    cat <<EOF
busybox busybox:1.36 busybox:latest library/busybox:1.36 library/busybox:latest
web lxe-test/web:1 lxe-test/web:2
other lxe-test/other:1
user-name lxe-test/user-name:1
user-uid lxe-test/user-uid:1
user-uid-group lxe-test/user-uid-group:1
user-name-group lxe-test/user-name-group:1
big lxe-test/big:1
EOF
    # critest v1.32 (pkg/validate/consts.go, registry gcr.io/k8s-staging-cri-tools/):
    #   "public image with tag / timeout" -> test-image-tag:test; "without tag" -> test-image-latest;
    #   "with digest" -> test-image-digest@sha256:9700... (that digest cannot be reproduced:
    #   only test-image-digest:latest exists here, so that spec fails through the mirror);
    #   "image status should support all kinds of references" -> test-image-tag:all;
    #   "image status ... Uid|Username" -> test-image-user-{uid,username,uid-group,username-group};
    #   "listImage ... exactly 3 image" -> test-image-{1,2,3} (three images);
    #   "listImage ... exactly 3 repoTags" -> test-image-tags:{1,2,3} (one image);
    #   SupplementalGroupsPolicy specs (security_context_linux.go) -> test-image-predefined-group;
    #   "should support port forward with host network" (networking) -> hostnet-nginx-ARCH.
    cat <<EOF
cri-test-image-latest k8s-staging-cri-tools/test-image-latest:latest
cri-test-image-tag-test k8s-staging-cri-tools/test-image-tag:test
cri-test-image-tag-all k8s-staging-cri-tools/test-image-tag:all
cri-test-image-digest k8s-staging-cri-tools/test-image-digest:latest
cri-test-image-1 k8s-staging-cri-tools/test-image-1:latest
cri-test-image-2 k8s-staging-cri-tools/test-image-2:latest
cri-test-image-3 k8s-staging-cri-tools/test-image-3:latest
cri-test-image-tags k8s-staging-cri-tools/test-image-tags:1 k8s-staging-cri-tools/test-image-tags:2 k8s-staging-cri-tools/test-image-tags:3
cri-user-uid k8s-staging-cri-tools/test-image-user-uid:latest
cri-user-username k8s-staging-cri-tools/test-image-user-username:latest
cri-user-uid-group k8s-staging-cri-tools/test-image-user-uid-group:latest
cri-user-username-group k8s-staging-cri-tools/test-image-user-username-group:latest
cri-predefined-group k8s-staging-cri-tools/test-image-predefined-group:latest
cri-hostnet-nginx k8s-staging-cri-tools/hostnet-nginx-$(goarch):latest
EOF
    # critest v1.32, registry.k8s.io/e2e-test-images/ (framework.DefaultRegistryE2ETestImagesPrefix):
    #   busybox:1.29-2: framework.DefaultLinuxContainerImage, the image of most container specs;
    #   nginx:1.14-2: networking webServerLinuxImage (port mapping / port forward, port 80) and
    #     the hostPID / PID namespace specs in security_context_linux.go (pidof nginx,
    #     /var/run/nginx.pid, "master process" in /proc/1/cmdline);
    #   httpd:2.4.39-4: multi_container_linux.go ("should support network" etc., port 80);
    #   nonewprivs:1.3: security_context_linux.go NoNewPrivs ("Effective uid: N").
    # critest's image benchmarks (pkg/benchmark/image.go) default to
    # public.ecr.aws/docker/library/busybox:{1,1-glibc,1-musl,1-uclibc,1.35.0-glibc}: the base
    # image under library/ (conf maps public.ecr.aws/docker/library there).
    cat <<EOF
e2e-busybox e2e-test-images/busybox:1.29-2
e2e-nginx e2e-test-images/nginx:1.14-2
e2e-httpd e2e-test-images/httpd:2.4.39-4
e2e-nonewprivs e2e-test-images/nonewprivs:1.3
busybox library/busybox:1 library/busybox:1-glibc library/busybox:1-musl library/busybox:1-uclibc library/busybox:1.35.0-glibc
EOF
}

# What the basic-auth registry gets.
auth_image_table() {
    cat <<'EOF'
web lxe-test/web:1
busybox busybox:1.36
EOF
}

# ------------------------------------------------------------------------------ build

# Anything that changes the images changes the stamp: this script, the busybox binary, gcc.
build_id() {
    {
        sha256sum "$SCRIPT_PATH" "$BUSYBOX" | cut -d' ' -f1
        if [[ -n $SHELL_DEB ]]; then sha256sum "$SHELL_DEB" $(shell_libs "$SHELL_DEB") | cut -d' ' -f1; fi
        if command -v gcc >/dev/null; then gcc --version | head -n 1; else echo no-gcc; fi
    } | sha256sum | cut -d' ' -f1
}

# The host's shared libraries a package's /bin/busybox needs (the same Debian release built it).
shell_libs() {
    local dir
    dir=$(mktemp -d)
    dpkg-deb -x "$1" "$dir"
    ldd "$dir/bin/busybox" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
    rm -rf "$dir"
}

cache_complete() {
    [[ -f $STAMP && -f $OCI/index.json && $(cat "$STAMP") == "$(build_id)" ]]
}

# "REF DIGEST" for every tag of an OCI layout.
layout_refs() {
    python3 - "$1/index.json" <<'EOF'
import json, sys
for m in json.load(open(sys.argv[1]))["manifests"]:
    ref = m.get("annotations", {}).get("org.opencontainers.image.ref.name")
    if ref:
        print(ref, m["digest"])
EOF
}

fix_times() { find "$1" -exec touch -h -d "@$EPOCH" {} +; }

# The busybox rootfs, laid out like scripts/make-busybox-image.sh.
make_rootfs() {
    local root=$1 d path name dir
    for d in bin sbin usr/bin usr/sbin usr/local/bin usr/local/sbin etc dev proc sys run tmp \
             var/tmp var/log var/www root home mnt opt lib srv; do
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
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
    cat > "$root/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
tty:x:5:
www-data:x:33:
users:x:100:
nogroup:x:65534:
EOF
    cat > "$root/etc/shadow" <<'EOF'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
bin:*:19000:0:99999:7:::
sys:*:19000:0:99999:7:::
www-data:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
    chmod 0640 "$root/etc/shadow"
    cat > "$root/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
    : > "$root/etc/resolv.conf"
    cat > "$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
    echo "export $PATH_ENV" > "$root/etc/profile"
}

# umoci config on a layout ref, reproducibly: cfg REF [--tag NEW] ARGS...
cfg() {
    local ref=$1; shift
    umoci config --image "$LAYOUT:$ref" --no-history --created "$CREATED" "$@"
}

# derive BASE NEW STAGE: image NEW = BASE plus one layer with the files under STAGE (a tar
# made here, names sorted, times fixed, owners as staged; `umoci raw add-layer` gzips it:
# far quicker than an unpack/repack of the base for every image).
derive() {
    local base=$1 new=$2 stage=$3 layer=$WORK/layer-$2.tar
    local -a top
    fix_times "$stage"
    mapfile -t top < <(ls -A "$stage")
    tar -C "$stage" --format=gnu --sort=name --numeric-owner -cf "$layer" -- "${top[@]}"
    umoci raw add-layer --image "$LAYOUT:$base" --tag "$new" --history.created "$CREATED" \
        --history.created_by "test-registry.sh: $new" "$layer"
    rm -f "$layer"
    cfg "$new" --config.label "org.lxe.test=$new"
}

# stage NAME: a fresh directory for a layer's files.
stage() { rm -rf "$WORK/stage-$1"; mkdir -p "$WORK/stage-$1"; echo "$WORK/stage-$1"; }

build_big() {
    local s
    log "building lxe-test/big:1 (100 MiB of random data)"
    s=$(stage big)
    head -c 100M /dev/urandom > "$s/big.bin"
    derive busybox big "$s"
}

build_images() {
    local s bundle
    LAYOUT=$1
    umoci init --layout "$LAYOUT"
    umoci new --image "$LAYOUT:empty"

    log "busybox base image"
    bundle=$WORK/bundle-busybox
    umoci unpack --image "$LAYOUT:empty" "$bundle" >/dev/null
    make_rootfs "$bundle/rootfs"
    fix_times "$bundle/rootfs"
    # the base's /etc/passwd and /etc/group, for images that extend them
    mkdir -p "$WORK/rootfs-etc"
    cp "$bundle/rootfs/etc/passwd" "$bundle/rootfs/etc/group" "$WORK/rootfs-etc/"
    umoci repack --image "$LAYOUT:busybox" --history.created "$CREATED" \
        --history.created_by "test-registry.sh: busybox rootfs ($BUSYBOX)" "$bundle"
    rm -rf "$bundle"
    umoci rm --image "$LAYOUT:empty"
    cfg busybox --config.cmd sh --config.env "$PATH_ENV" --config.label org.lxe.test=busybox \
        --author lxe --architecture "$(goarch)" --os linux

    log "lxe-test images"
    s=$(stage web)
    mkdir -p "$s/srv/www"
    echo "lxe image web server" > "$s/srv/www/index.html"
    derive busybox web "$s"
    cfg web --config.entrypoint /bin/busybox --config.entrypoint httpd --config.entrypoint -f \
        --config.cmd -p --config.cmd 8080 --config.env GREETING=hello-from-image \
        --config.workingdir /srv/www --config.exposedports 8080/tcp --config.stopsignal SIGTERM

    s=$(stage other)
    mkdir -p "$s/srv/www"
    echo "lxe other image" > "$s/srv/www/other.html"
    derive web other "$s"

    cfg busybox --tag user-name --config.user www-data --config.label org.lxe.test=user-name
    cfg busybox --tag user-uid --config.user 1002 --config.label org.lxe.test=user-uid
    cfg busybox --tag user-uid-group --config.user 1003:1003 --config.label org.lxe.test=user-uid-group
    cfg busybox --tag user-name-group --config.user www-data:www-data \
        --config.label org.lxe.test=user-name-group

    log "critest stand-ins (gcr.io/k8s-staging-cri-tools)"
    # cri-tools images/image-test: busybox plus an empty file named after the image (or tag).
    local n f
    for n in test-image-latest test-image-digest test-image-1 test-image-2 test-image-3 \
             test-image-tag-test:test test-image-tag-all:all test-image-tags:same-image; do
        f=${n#*:}; n=${n%%:*}
        s=$(stage "$n")
        : > "$s/$f"
        derive busybox "cri-$n" "$s"
    done
    # cri-tools images/image-user, built with these USER build args.
    cfg busybox --tag cri-user-uid --config.user 1002 --config.label org.lxe.test=cri-user-uid
    cfg busybox --tag cri-user-username --config.user www-data \
        --config.label org.lxe.test=cri-user-username
    cfg busybox --tag cri-user-uid-group --config.user 1003:1004 \
        --config.label org.lxe.test=cri-user-uid-group
    cfg busybox --tag cri-user-username-group --config.user www-data:1004 \
        --config.label org.lxe.test=cri-user-username-group
    # images/image-predefined-group: default-user (uid 1000, gid 1000) is also a member of
    # group-defined-in-image (gid 50000); USER 1000.
    s=$(stage predefined-group)
    mkdir -p "$s/etc" "$s/home/default-user"
    cp "$WORK/rootfs-etc/passwd" "$WORK/rootfs-etc/group" "$s/etc/"
    echo "default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh" >> "$s/etc/passwd"
    printf '%s\n' "default-user:x:1000:" "group-defined-in-image:x:50000:default-user" >> "$s/etc/group"
    chown 1000:1000 "$s/home/default-user"
    derive busybox cri-predefined-group "$s"
    cfg cri-predefined-group --config.user 1000

    log "critest stand-ins (registry.k8s.io/e2e-test-images)"
    # busybox 1.29's ipcs and pgrep applets, which Debian's busybox-static lacks (critest runs
    # `ipcs -m` in its host IPC specs and `pgrep sleep` after an ExecSync timeout): small
    # scripts over /proc that print what the applets would (shmid in the second column; PIDs).
    s=$(stage e2e-busybox)
    mkdir -p "$s/bin"
    cat > "$s/bin/ipcs" <<'EOF'
#!/bin/sh
# ipcs stand-in (lxe test image): shared memory segments only, as busybox's `ipcs -m` lists them.
echo
echo "------ Shared Memory Segments --------"
echo "key        shmid      owner      perms      bytes      nattch     status"
awk 'NR > 1 { printf "0x%08x %-10s %-10s %-10s %-10s %-10s\n", $1 < 0 ? $1 + 4294967296 : $1, $2, $8, $3, $4, $7 }' /proc/sysvipc/shm
EOF
    cat > "$s/bin/pgrep" <<'EOF'
#!/bin/sh
# pgrep stand-in (lxe test image): the PIDs whose process name matches the pattern; exit 1 if none.
[ $# -eq 1 ] || { echo "usage: pgrep PATTERN" >&2; exit 2; }
found=1
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = "$$" ] && continue
    name=$(cat "$dir/comm" 2>/dev/null) || continue
    if echo "$name" | grep -q -- "$1"; then echo "$pid"; found=0; fi
done
exit $found
EOF
    chmod 0755 "$s/bin/ipcs" "$s/bin/pgrep"
    # busybox 1.29's shell runs a command it finds in PATH as that file: critest's MaskedPaths spec
    # masks /bin/ls and wants `sh -c ls` to say "/bin/sh: ls: Permission denied". Debian's
    # busybox-static runs its applets in-process whatever PATH holds, so /bin/sh here is Debian's
    # dynamic busybox (its other applets stay the static one's), with its libraries.
    if [[ -n $SHELL_DEB ]]; then
        rm -rf "$WORK/shell-deb"
        dpkg-deb -x "$SHELL_DEB" "$WORK/shell-deb"
        install -m 0755 "$WORK/shell-deb/bin/busybox" "$s/bin/busybox-sh"
        ln -s busybox-sh "$s/bin/sh"
        for lib in $(shell_libs "$SHELL_DEB"); do
            mkdir -p "$s$(dirname "$lib")"
            cp -L "$lib" "$s$lib"
        done
    else
        log "warning: no Debian busybox package (setup.sh downloads it): the stand-in's sh runs applets" \
            "in-process, and critest's MaskedPaths spec fails"
    fi
    derive busybox e2e-busybox "$s"

    # nginx stand-in: a script named nginx that writes /var/run/nginx.pid and execs busybox
    # httpd through a symlink named nginx, so its process is "nginx" (comm; pidof nginx) and
    # its command line (the -r realm) says "master process", as critest's PID namespace specs
    # expect of nginx. The port is the first "listen N;" of /etc/nginx/conf.d/default.conf.
    s=$(stage nginx)
    mkdir -p "$s/usr/sbin" "$s/usr/lib/nginx" "$s/etc/nginx/conf.d" "$s/usr/share/nginx/html"
    cat > "$s/usr/sbin/nginx" <<'EOF'
#!/bin/sh
# nginx stand-in (lxe test image): busybox httpd serving /usr/share/nginx/html on the port of
# the first "listen N;" in /etc/nginx/conf.d/default.conf; arguments are ignored.
port=$(sed -n 's/^[[:space:]]*listen[[:space:]]\{1,\}\([0-9]\{1,\}\);.*/\1/p' /etc/nginx/conf.d/default.conf 2>/dev/null | head -n 1)
echo $$ > /var/run/nginx.pid
exec -a httpd /usr/lib/nginx/nginx -f -p "${port:-80}" -h /usr/share/nginx/html -r "nginx: master process nginx -g daemon off;"
EOF
    chmod 0755 "$s/usr/sbin/nginx"
    ln -s /bin/busybox "$s/usr/lib/nginx/nginx"
    printf 'server {\n    listen       80;\n    server_name  localhost;\n}\n' \
        > "$s/etc/nginx/conf.d/default.conf"
    echo "<html><body><h1>Welcome to nginx!</h1><p>lxe busybox httpd stand-in</p></body></html>" \
        > "$s/usr/share/nginx/html/index.html"
    derive busybox e2e-nginx "$s"
    cfg e2e-nginx --config.entrypoint /usr/sbin/nginx --config.cmd -g --config.cmd "daemon off;" \
        --config.exposedports 80/tcp --config.stopsignal SIGTERM

    # cri-tools images/hostnet-nginx: nginx listening on 12003 (webServerHostNetContainerPort).
    s=$(stage hostnet-nginx)
    mkdir -p "$s/etc/nginx/conf.d"
    printf 'server {\n    listen       12003;\n    server_name  localhost;\n}\n' \
        > "$s/etc/nginx/conf.d/default.conf"
    derive e2e-nginx cri-hostnet-nginx "$s"

    # httpd stand-in: busybox httpd in the foreground on port 80. Like Apache's httpd it says so
    # on stderr when it starts (critest's multi-container log check looks for "httpd" in its log).
    s=$(stage httpd)
    mkdir -p "$s/usr/local/apache2/htdocs" "$s/usr/local/bin"
    echo "<html><body><h1>It works!</h1></body></html>" > "$s/usr/local/apache2/htdocs/index.html"
    cat > "$s/usr/local/bin/httpd-foreground" <<'SH'
#!/bin/sh
echo "httpd (busybox stand-in): serving /usr/local/apache2/htdocs on port 80" >&2
exec /bin/busybox httpd -f -p 80 -h /usr/local/apache2/htdocs
SH
    chmod 0755 "$s/usr/local/bin/httpd-foreground"
    derive busybox e2e-httpd "$s"
    cfg e2e-httpd --clear config.cmd --config.entrypoint /usr/local/bin/httpd-foreground \
        --config.workingdir /usr/local/apache2 --config.exposedports 80/tcp

    # nonewprivs: kubernetes test/images/nonewprivs, a setuid-root program printing its euid.
    if command -v gcc >/dev/null; then
        s=$(stage nonewprivs)
        mkdir -p "$s/usr/local/bin"
        printf '%s\n' '#include <stdio.h>' '#include <unistd.h>' \
            'int main(void) { printf("Effective uid: %d\n", (int)geteuid()); return 0; }' \
            > "$WORK/nnp.c"
        gcc -static -O2 -s -o "$s/usr/local/bin/nnp" "$WORK/nnp.c"
        chmod 4755 "$s/usr/local/bin/nnp"
        derive busybox e2e-nonewprivs "$s"
        cfg e2e-nonewprivs --clear config.cmd --config.entrypoint /usr/local/bin/nnp
    else
        echo "test-registry: warning: no gcc: e2e-test-images/nonewprivs:1.3 not built" >&2
    fi
}

cmd_build() {
    local big=0
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --big) big=1; shift ;;
            *) die "build: unknown argument: $1" ;;
        esac
    done
    [[ $(id -u) -eq 0 ]] || die "build must run as root (image files are owned by root)"
    command -v umoci >/dev/null || die "umoci missing (apt-get install umoci)"
    command -v python3 >/dev/null || die "python3 missing"
    if [[ ! -x $BUSYBOX ]] || ! "$BUSYBOX" --list >/dev/null 2>&1; then
        die "$BUSYBOX missing or not busybox (apt-get install busybox-static)"
    fi
    ! ldd "$BUSYBOX" >/dev/null 2>&1 || die "$BUSYBOX is not statically linked (install busybox-static)"

    umask 022
    mkdir -p "$IMAGES_DIR"
    exec 8>"$IMAGES_DIR/.lock"
    flock 8

    if cache_complete; then
        if [[ $big -eq 0 ]] || layout_refs "$OCI" | grep -q '^big '; then
            log "images in $OCI are up to date; nothing to build"
            return 0
        fi
        WORK=$(mktemp -d /tmp/lxe-test-images.XXXXXX)
        trap 'rm -rf "$WORK"' EXIT
        LAYOUT=$OCI
        build_big
        return 0
    fi

    log "building test images into $OCI"
    WORK=$(mktemp -d /tmp/lxe-test-images.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
    rm -rf "$OCI.new"
    build_images "$OCI.new"
    [[ $big -eq 0 ]] || build_big
    umoci gc --layout "$OCI.new"
    rm -f "$STAMP"
    rm -rf "$OCI.old"
    [[ ! -e $OCI ]] || mv "$OCI" "$OCI.old"
    mv "$OCI.new" "$OCI"
    rm -rf "$OCI.old"
    build_id > "$STAMP"
    log "built $(layout_refs "$OCI" | wc -l) images in $OCI"
}

# ------------------------------------------------------------------------------ registries

auth_scheme() { if [[ $AUTH_TLS == 1 ]]; then echo https; else echo http; fi; }

# registry_answers URL [CURL ARGS...]: an HTTP answer on URL/v2/ (401 counts for the auth one).
registry_answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "${@:2}" "$1/v2/" || true)
    [[ $code == 200 || $code == 401 ]]
}

bcrypt_hash() {
    if command -v htpasswd >/dev/null; then
        htpasswd -nbBC 4 "$1" "$2" | cut -d: -f2-
        return
    fi
    # perl's crypt() is glibc/libxcrypt's, which does bcrypt ($2b$); perl-base is essential.
    # Cost 4 (the minimum): the registry checks the hash on every request.
    perl -e '
        my @c = (".", "/", "A".."Z", "a".."z", "0".."9");
        open(my $r, "<", "/dev/urandom") or die; read($r, my $b, 21) or die;
        my $salt = join("", map { $c[ord($_) % 64] } split(//, $b)) . ".";
        my $h = crypt($ARGV[0], "\$2b\$04\$" . $salt);
        defined $h && $h =~ /^\$2b\$/ or die "crypt() does not do bcrypt\n";
        print $h;' "$2"
}

# write_registry_config NAME PORT [auth]: $STATE_DIR/NAME/config.yml.
write_registry_config() {
    local name=$1 port=$2 auth=${3:-} dir=$STATE_DIR/$1
    mkdir -p "$dir/data"
    [[ -s $STATE_DIR/http-secret ]] || head -c 24 /dev/urandom | base64 > "$STATE_DIR/http-secret"
    {
        cat <<EOF
# written by scripts/test-registry.sh
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
  secret: $(cat "$STATE_DIR/http-secret")
EOF
        if [[ -n $auth ]]; then
            if [[ $AUTH_TLS == 1 ]]; then
                cat <<EOF
  tls:
    certificate: $dir/tls/cert.pem
    key: $dir/tls/key.pem
EOF
            fi
            cat <<EOF
auth:
  htpasswd:
    realm: lxe-test-registry
    path: $dir/htpasswd
EOF
        fi
    } > "$dir/config.yml.new"
    mv "$dir/config.yml.new" "$dir/config.yml"
}

# start_registry NAME URL [CURL ARGS...]: runs docker-registry on $STATE_DIR/NAME/config.yml
# and waits until it answers.
start_registry() {
    local name=$1 url=$2 dir=$STATE_DIR/$1 pid i
    # The registry inherits no descriptor but 0-2: not the lock (fd 9; a registry holding it
    # would block every later start) nor a caller's pipe (which would never see EOF).
    (
        for fd in /proc/self/fd/*; do
            fd=${fd##*/}
            if [[ $fd -gt 2 ]]; then exec {fd}>&-; fi
        done
        exec setsid docker-registry serve "$dir/config.yml" </dev/null >>"$dir/registry.log" 2>&1
    ) &
    pid=$!
    echo "$pid" > "$dir/registry.pid"
    for ((i = 0; i < 100; i++)); do
        registry_answers "$url" "${@:3}" && { log "$name registry (pid $pid) answers on $url"; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$dir/registry.log" >&2 || true
    die "$name registry on $url did not come up (log: $dir/registry.log; is something else on that port?)"
}

# push_images URL TABLE-FUNCTION [CREDS]: pushes each name:tag whose digest in the registry
# differs from the layout's (skopeo --preserve-digests keeps the layout's manifest as is).
push_images() {
    local url=$1 table=$2 creds=${3:-} host=${1#*://} ref names name repo tag want have
    local -A digest=()
    local -a curl_auth=() skopeo_auth=() pushed=()
    if [[ -n $creds ]]; then curl_auth=(-u "$creds"); skopeo_auth=(--dest-creds "$creds"); fi
    while read -r ref want; do digest[$ref]=$want; done < <(layout_refs "$OCI")
    while read -r ref names; do
        [[ -n ${digest[$ref]:-} ]] || continue  # not built (big without --big, no gcc)
        for name in $names; do
            repo=${name%:*}; tag=${name##*:}
            have=$(curl -sfkI --max-time 5 "${curl_auth[@]}" \
                -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
                -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
                "$url/v2/$repo/manifests/$tag" 2>/dev/null \
                | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {print $2}' || true)
            [[ $have == "${digest[$ref]}" ]] && continue
            skopeo --insecure-policy copy --quiet --preserve-digests --dest-tls-verify=false \
                "${skopeo_auth[@]}" "oci:$OCI:$ref" "docker://$host/$name"
            pushed+=("$name")
        done
    done < <("$table")
    if [[ ${#pushed[@]} -eq 0 ]]; then
        log "$url: all images present"
    else
        log "$url: pushed ${#pushed[@]}: ${pushed[*]}"
    fi
}

cmd_start() {
    [[ $# -eq 0 ]] || die "start takes no arguments"
    local url=http://127.0.0.1:$PORT auth_url dir
    auth_url=$(auth_scheme)://127.0.0.1:$AUTH_PORT
    command -v docker-registry >/dev/null || die "docker-registry missing (apt-get install docker-registry)"
    command -v skopeo >/dev/null || die "skopeo missing (apt-get install skopeo)"
    command -v curl >/dev/null || die "curl missing"
    cache_complete || cmd_build
    mkdir -p "$STATE_DIR"
    exec 9>"$STATE_DIR/.lock"
    flock 9

    if registry_answers "$url"; then
        log "a registry already answers on $url"
    else
        write_registry_config registry "$PORT"
        start_registry registry "$url"
    fi

    if registry_answers "$auth_url" -k; then
        log "a registry already answers on $auth_url"
    else
        dir=$STATE_DIR/auth
        mkdir -p "$dir"
        if [[ ! -s $dir/htpasswd ]]; then
            echo "$AUTH_USER:$(bcrypt_hash "$AUTH_USER" "$AUTH_PASSWORD")" > "$dir/htpasswd.new"
            mv "$dir/htpasswd.new" "$dir/htpasswd"
        fi
        if [[ $AUTH_TLS == 1 && ! -s $dir/tls/cert.pem ]]; then
            command -v openssl >/dev/null || die "openssl missing"
            mkdir -p "$dir/tls"
            openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=lxe-test-registry" \
                -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
                -keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" 2>/dev/null
        fi
        write_registry_config auth "$AUTH_PORT" auth
        start_registry auth "$auth_url" -k
    fi

    push_images "$url" image_table
    push_images "$auth_url" auth_image_table "$AUTH_USER:$AUTH_PASSWORD"
    write_conf "$STATE_DIR/registries.conf" 0
}

stop_registry() {
    local name=$1 pidfile=$STATE_DIR/$1/registry.pid pid i
    if [[ ! -f $pidfile ]]; then
        log "$name registry: no pid file, nothing to stop"
        return 0
    fi
    pid=$(cat "$pidfile")
    if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null \
            | grep -q "docker-registry serve $STATE_DIR/$name/config.yml"; then
        kill "$pid"
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" || true; fi
        log "$name registry (pid $pid) stopped"
    else
        log "$name registry (pid $pid) is not running"
    fi
    rm -f "$pidfile"
}

cmd_stop() {
    [[ $# -eq 0 ]] || die "stop takes no arguments"
    stop_registry registry
    stop_registry auth
}

# ------------------------------------------------------------------------------ conf, env

# write_conf FILE REWRITE
write_conf() {
    local file=$1 rewrite=$2 local=127.0.0.1:$PORT from to
    {
        cat <<EOF
# registries.conf (containers-registries.conf(5), v2) written by scripts/test-registry.sh.
# Use without touching /etc/containers: skopeo --registries-conf FILE ... (a hidden global
# flag; Debian 12's skopeo 1.9.3 ignores CONTAINERS_REGISTRIES_CONF). Drop-ins in
# /etc/containers/registries.conf.d are still read. Mirrors serve manifests and blobs, not
# tag lists: use 'skopeo inspect --no-tags' (without it, inspect lists tags at the original
# registry and fails offline). A mirror that fails is followed by the original registry, so
# offline errors end with its DNS failure; 'test-registry.sh conf --rewrite' has none.
unqualified-search-registries = ["docker.io"]

# The test registries. insecure: plain HTTP is allowed and TLS certificates are not
# verified (the auth registry serves HTTP, or HTTPS with a self-signed certificate when
# LXE_TEST_AUTH_REGISTRY_TLS=1).
[[registry]]
location = "$local"
insecure = true

[[registry]]
location = "127.0.0.1:$AUTH_PORT"
insecure = true
EOF
        while read -r from to; do
            echo
            if [[ $rewrite -eq 1 ]]; then
                printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\ninsecure = true\n' "$from" "$local$to"
            else
                printf '[[registry]]\nprefix = "%s"\nlocation = "%s"\n' "$from" "$from"
                printf '[[registry.mirror]]\nlocation = "%s"\ninsecure = true\n' "$local$to"
            fi
        done <<'EOF'
docker.io
gcr.io/k8s-staging-cri-tools /k8s-staging-cri-tools
registry.k8s.io/e2e-test-images /e2e-test-images
public.ecr.aws/docker/library /library
EOF
    } > "$file.new"
    mv "$file.new" "$file"
}

cmd_conf() {
    local rewrite=0 file=
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --rewrite) rewrite=1; shift ;;
            -*) die "conf: unknown option: $1" ;;
            *) [[ -z $file ]] || die "conf takes one FILE"; file=$1; shift ;;
        esac
    done
    [[ -n $file ]] || die "usage: conf [--rewrite] FILE"
    write_conf "$file" "$rewrite"
    log "wrote $file"
}

cmd_env() {
    [[ $# -eq 0 ]] || die "env takes no arguments"
    local conf=$STATE_DIR/registries.conf
    if [[ ! -f $conf ]]; then mkdir -p "$STATE_DIR"; write_conf "$conf" 0; fi
    cat <<EOF
export LXE_TEST_REGISTRY=127.0.0.1:$PORT
export LXE_TEST_AUTH_REGISTRY=127.0.0.1:$AUTH_PORT
export LXE_TEST_AUTH_REGISTRY_SCHEME=$(auth_scheme)
export LXE_TEST_AUTH_REGISTRY_USER=$AUTH_USER
export LXE_TEST_AUTH_REGISTRY_PASSWORD=$AUTH_PASSWORD
export LXE_TEST_REGISTRIES_CONF=$conf
export LXE_TEST_IMAGES_DIR=$IMAGES_DIR
EOF
    if [[ $AUTH_TLS == 1 ]]; then echo "export LXE_TEST_AUTH_REGISTRY_CA=$STATE_DIR/auth/tls/cert.pem"; fi
}

# ------------------------------------------------------------------------------ main

[[ $# -gt 0 ]] || { usage >&2; exit 2; }
sub=$1; shift
case "$sub" in
    build) cmd_build "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    conf) cmd_conf "$@" ;;
    env) cmd_env "$@" ;;
    -h|--help|help) usage ;;
    *) echo "test-registry: unknown subcommand: $sub" >&2; usage >&2; exit 2 ;;
esac
