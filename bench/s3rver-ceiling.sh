#!/usr/bin/env bash
# The most an s3rver on this machine serves, with no file system in the way: 1 GiB as 4 MiB objects (the volume's
# block size) fetched with curl, 1, 4 and 16 requests in parallel, cold (page cache dropped) and warm, with s3rver's
# CPU time. A client of that s3rver (the appliance, s3fs) cannot read faster than this, so it bounds the ratio the
# S3 cold-read benchmark (bench/s3fs-peer.sh) can show. Needs root (drop_caches), curl, python3 and s3rver.
# Usage: bench/s3rver-ceiling.sh
set -euo pipefail
. "$(dirname "$0")/s3rver.sh"

work=$(mktemp -d /tmp/s3rver-ceiling.XXXXXX)
s3rver_pid=""
cleanup() {
    if [[ -n "$s3rver_pid" ]]; then
        kill "$s3rver_pid" 2>/dev/null || true
        wait "$s3rver_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

[[ $(id -u) == 0 ]] || { echo "run as root: cold reads drop the page cache" >&2; exit 1; }
command -v s3rver >/dev/null || npm install -g --no-fund --no-audit s3rver@3.7.1 </dev/null

start_s3rver "$work/s3rver"

s3() { curl -sf --no-progress-meter --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H x-amz-content-sha256:UNSIGNED-PAYLOAD "$@"; }
s3 -X PUT "$endpoint/ceiling" >/dev/null
head -c 4M /dev/urandom >"$work/block"
: >"$work/put.list"
: >"$work/get.list"
for i in $(seq 256); do
    printf 'upload-file = "%s"\nurl = "%s/ceiling/block-%s"\n' "$work/block" "$endpoint" "$i" >>"$work/put.list"
    printf 'url = "%s/ceiling/block-%s"\noutput = "/dev/null"\n' "$endpoint" "$i" >>"$work/get.list"
done
s3 --parallel --parallel-max 8 -K "$work/put.list" >/dev/null

cpu() { awk '{ print $14 + $15 }' "/proc/$s3rver_pid/stat"; }
fetch() {
    local parallel=$1 state=$2 start cpu0
    start=$EPOCHREALTIME
    cpu0=$(cpu)
    s3 --parallel --parallel-max "$parallel" -K "$work/get.list" >/dev/null
    python3 -c "t = $EPOCHREALTIME - $start; print('GET 1 GiB as 256 x 4 MiB, %2d in parallel, %s: %5.2f s %6.0f MiB/s   s3rver CPU %.2f s' % ($parallel, '$state', t, 1024 / t, ($(cpu) - $cpu0) / 100))"
}
for parallel in 1 4 16; do
    sync
    echo 3 >/proc/sys/vm/drop_caches
    fetch "$parallel" cold
    fetch "$parallel" warm
done
