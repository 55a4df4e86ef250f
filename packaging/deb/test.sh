#!/usr/bin/env bash
# Packaging acceptance test (run by .ci/run; needs root and dpkg): builds the .deb with the project's own script,
# installs it with dpkg -i, runs /usr/bin/appliance --version, formats a volume the way the service would (as the
# appliance user, with the installed settings), removes the package with dpkg -r and checks that the volume data in
# /var/lib/appliance is still there. It also checks compose.yaml parses and wires the appliance to Redis and S3.
# It refuses to run where the appliance is installed for real, and purges everything it installed on the way out.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [[ $(id -u) != 0 ]]; then
    echo "packaging test skipped: needs root for dpkg -i"
    exit 0
fi
if dpkg-query -W -f='${Status}' appliance 2>/dev/null | grep -q "installed" || [[ -e /var/lib/appliance ]]; then
    echo "packaging test skipped: an appliance package or /var/lib/appliance already exists on this machine" >&2
    exit 0
fi

fail() {
    echo "packaging test FAILED: $*" >&2
    exit 1
}

cleanup() {
    dpkg --purge appliance >/dev/null 2>&1 || true
    rm -rf /var/lib/appliance
}
trap cleanup EXIT

echo "== compose.yaml"
python3 - "$root/packaging/compose.yaml" <<'PY'
import sys
try:
    import yaml
except ImportError:
    print("compose.yaml not checked: python3 has no yaml module")
    sys.exit(0)
doc = yaml.safe_load(open(sys.argv[1]))
services = doc["services"]
for name in ("appliance", "redis", "minio"):
    assert name in services, f"service {name} missing"
env = services["appliance"]["environment"]
assert env["APPLIANCE_META"].startswith("redis://redis:"), env["APPLIANCE_META"]
assert env["APPLIANCE_STORAGE"].startswith("s3://") and "endpoint=http://minio:9000" in env["APPLIANCE_STORAGE"], env["APPLIANCE_STORAGE"]
assert set(services["appliance"]["depends_on"]) >= {"redis", "minio"}
print("compose.yaml: services", ", ".join(services))
PY

echo "== build"
package=$("$here/build.sh" | tail -n 1)
[[ -f "$package" ]] || fail "build.sh made no package"

echo "== dpkg -i $(basename "$package")"
dpkg -i "$package" || fail "dpkg -i failed"
[[ -x /usr/bin/appliance ]] || fail "/usr/bin/appliance is missing"
[[ -f /lib/systemd/system/appliance.service ]] || fail "the systemd unit is missing"
grep -q '^Restart=on-failure' /lib/systemd/system/appliance.service || fail "the unit has no restart policy"
getent passwd appliance >/dev/null || fail "postinst did not create the appliance user"
[[ $(stat -c %U /var/lib/appliance) == appliance ]] || fail "/var/lib/appliance is not owned by appliance"

version=$(/usr/bin/appliance --version) || fail "/usr/bin/appliance --version failed"
echo "appliance --version: $version"
[[ "$version" == "$(dpkg-query -W -f='${Version}' appliance)"* ]] || fail "--version says $version"

# As the service would: its user, its settings file, its data directory.
(cd /var/lib/appliance && runuser -u appliance -- env APPLIANCE_CONFIG=/etc/appliance/appsettings.json \
    DOTNET_BUNDLE_EXTRACT_BASE_DIR=/var/cache/appliance /usr/bin/appliance format packaged) || fail "format as the appliance user failed"
[[ -f /var/lib/appliance/meta.db ]] || fail "format left no /var/lib/appliance/meta.db"

echo "== dpkg -r appliance"
dpkg -r appliance || fail "dpkg -r failed"
[[ ! -e /usr/bin/appliance ]] || fail "/usr/bin/appliance is still there after dpkg -r"
[[ -f /var/lib/appliance/meta.db ]] || fail "dpkg -r removed the volume data in /var/lib/appliance"
[[ -f /etc/appliance/appsettings.json ]] || fail "dpkg -r removed the conffile (only purge should)"

echo "packaging test passed"
