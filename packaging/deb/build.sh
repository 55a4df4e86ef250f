#!/usr/bin/env bash
# Builds packaging/out/appliance_VERSION_amd64.deb with dpkg-deb from the self-contained binary of publish.sh:
#   /usr/bin/appliance                          the binary
#   /etc/appliance/appsettings.json             settings (a conffile: upgrades keep local edits)
#   /lib/systemd/system/appliance.service       the unit (Restart=on-failure, sandboxed, user appliance)
#   /usr/share/doc/appliance/                   README.md, SETTINGS.md, examples/fuse.conf (drop-in for the FUSE door)
# postinst creates the user and /var/lib/appliance; removing the package leaves /var/lib/appliance alone.
#
# Usage: packaging/deb/build.sh               publishes, then packages
#        NO_PUBLISH=1 packaging/deb/build.sh  packages the binary already in packaging/out
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/packaging/out"

if [[ "${NO_PUBLISH:-}" != 1 ]]; then
    "$root/packaging/publish.sh"
fi
[[ -x "$out/appliance" ]] || { echo "no binary at $out/appliance; run packaging/publish.sh" >&2; exit 1; }

version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Appliance/Appliance.csproj" | head -n 1)
[[ -n "$version" ]] || { echo "no <Version> in Appliance/Appliance.csproj" >&2; exit 1; }
arch=amd64
package="$out/appliance_${version}_${arch}.deb"

stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT

install -D -m 0755 "$out/appliance" "$stage/usr/bin/appliance"
install -D -m 0640 "$root/packaging/appsettings.sample.json" "$stage/etc/appliance/appsettings.json"
install -D -m 0644 "$here/appliance.service" "$stage/lib/systemd/system/appliance.service"
install -D -m 0644 "$root/README.md" "$stage/usr/share/doc/appliance/README.md"
install -D -m 0644 "$root/packaging/SETTINGS.md" "$stage/usr/share/doc/appliance/SETTINGS.md"
install -D -m 0644 "$here/fuse.conf" "$stage/usr/share/doc/appliance/examples/fuse.conf"

install -d "$stage/DEBIAN"
for script in postinst prerm postrm; do
    install -m 0755 "$here/$script" "$stage/DEBIAN/$script"
done
echo /etc/appliance/appsettings.json >"$stage/DEBIAN/conffiles"
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: appliance
Version: $version
Architecture: $arch
Maintainer: Appliance maintainers <appliance@localhost>
Installed-Size: $installed_kb
Depends: libc6 (>= 2.31), libgcc-s1, libstdc++6, zlib1g, libssl3 | libssl3t64, passwd
Recommends: fuse3, nfs-common
Section: net
Priority: optional
Homepage: file:///usr/share/doc/appliance/README.md
Description: network file server with metadata in a database and data in an object store
 One long-running process serves one volume over NFSv3, WebDAV and a local
 FUSE mount. Metadata lives in SQLite (embedded) or Redis (shared by many
 appliances), file data as immutable blocks in a local directory or an
 S3-compatible object store. Prometheus metrics and a health check are on
 an admin HTTP port (127.0.0.1:9567 by default).
CONTROL

dpkg-deb --root-owner-group -Zxz --build "$stage" "$package" >/dev/null
echo "$package"
