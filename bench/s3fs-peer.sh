#!/usr/bin/env bash
# Measures a sequential write + fsync and a cold read of one file on S3, through the Appliance's Vfs and through s3fs,
# against one s3rver in one run, and prints both figures and their ratio. Needs root (FUSE mount, drop_caches).
# Usage: bench/s3fs-peer.sh [SIZE_MIB]   (default 1024)
set -euo pipefail
. "$(dirname "$0")/s3rver.sh"

size_mib=${1:-1024}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/s3fs-peer.XXXXXX)
mountpoint="$work/mnt"
s3rver_pid=""

cleanup() {
    if mountpoint -q "$mountpoint" 2>/dev/null; then
        fusermount -u "$mountpoint" 2>/dev/null || umount -l "$mountpoint"
    fi
    if [[ -n "$s3rver_pid" ]]; then
        kill "$s3rver_pid" 2>/dev/null || true
        wait "$s3rver_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [[ $(id -u) != 0 ]]; then
    echo "run as root: s3fs mounts through FUSE and cold reads drop the page cache" >&2
    exit 1
fi
command -v s3fs >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends s3fs </dev/null
command -v s3rver >/dev/null || npm install -g --no-fund --no-audit s3rver@3.7.1 </dev/null

drop_caches() {
    sync
    echo 3 >/proc/sys/vm/drop_caches
}

# Seconds (with fractions) that a command takes.
timed() {
    local start end
    start=$(date +%s.%N)
    "$@"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { print b - a }'
}

# Arithmetic on fractions: calc EXPRESSION.
calc() { awk "BEGIN { print $1 }"; }

mkdir -p "$mountpoint" "$work/bench"
start_s3rver "$work/s3rver"

# curl 8 signs the body's hash; s3rver wants the header, so the bucket is created with UNSIGNED-PAYLOAD.
curl -sf -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$endpoint/s3fs-peer" >/dev/null

echo "S3RVER:S3RVER" >"$work/passwd"
chmod 600 "$work/passwd"
s3fs s3fs-peer "$mountpoint" -o url="$endpoint" -o use_path_request_style -o passwd_file="$work/passwd" -o endpoint=us-east-1

echo "source: $size_mib MiB of random bytes"
head -c "$((size_mib << 20))" /dev/urandom >"$work/source.bin"
# The source stays in the page cache so the write measures s3fs, not the local disk.
cat "$work/source.bin" >/dev/null

s3fs_write=$(timed dd if="$work/source.bin" of="$mountpoint/big.bin" bs=1M conv=fsync status=none)
drop_caches
fusermount -u "$mountpoint"
s3fs s3fs-peer "$mountpoint" -o url="$endpoint" -o use_path_request_style -o passwd_file="$work/passwd" -o endpoint=us-east-1
s3fs_read=$(timed dd if="$mountpoint/big.bin" of=/dev/null bs=1M status=none)
cmp -s "$work/source.bin" "$mountpoint/big.bin" || { echo "s3fs read back different bytes" >&2; exit 1; }
fusermount -u "$mountpoint"
rm -f "$work/source.bin"

dotnet build "$root/bench/Fs.Core.Bench/Fs.Core.Bench.csproj" -c Release -nologo -v quiet >/dev/null
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_EC2_METADATA_DISABLED=true
vfs_output=$(dotnet "$root/bench/Fs.Core.Bench/bin/Release/net10.0/Fs.Core.Bench.dll" \
    --dir "$work/bench" --size-mib "$size_mib" --storage-url "s3://vfs-bench?endpoint=$endpoint")
echo "$vfs_output"
# Rows: label, seconds, MiB/s, CPU seconds.
vfs_write=$(awk '/^vfs write\+fsync \(store\)/ { print $(NF-2) }' <<<"$vfs_output")
vfs_read=$(awk '/^vfs cold read \(store\)/ { print $(NF-2) }' <<<"$vfs_output")

rate() { calc "$size_mib / $1"; }
printf '\n%-28s%10s%10s%8s\n' "" seconds MiB/s ratio
printf '%-28s%10.2f%10.0f\n' "s3fs write+fsync" "$s3fs_write" "$(rate "$s3fs_write")"
printf '%-28s%10.2f%10.0f%8.2f\n' "vfs write+fsync" "$vfs_write" "$(rate "$vfs_write")" "$(calc "$s3fs_write / $vfs_write")"
printf '%-28s%10.2f%10.0f\n' "s3fs cold read" "$s3fs_read" "$(rate "$s3fs_read")"
printf '%-28s%10.2f%10.0f%8.2f\n' "vfs cold read" "$vfs_read" "$(rate "$vfs_read")" "$(calc "$s3fs_read / $vfs_read")"
