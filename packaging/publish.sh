#!/usr/bin/env bash
# Publishes the appliance as one self-contained executable for linux-x64 (no .NET runtime needed on the target) into
# packaging/out/appliance. Native libraries (SQLite) are inside the file and unpacked on first start into
# $DOTNET_BUNDLE_EXTRACT_BASE_DIR (default ~/.net); the systemd unit points that at the service's cache directory.
#
# Usage: packaging/publish.sh            RID=linux-arm64 packaging/publish.sh for another target.
set -euo pipefail

cd "$(dirname "$0")/.."
rid=${RID:-linux-x64}
out=packaging/out
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

rm -rf "$out"
dotnet publish Appliance/Appliance.csproj -c Release -r "$rid" --self-contained true -nologo -v quiet \
    -p:PublishSingleFile=true \
    -p:IncludeNativeLibrariesForSelfExtract=true \
    -p:EnableCompressionInSingleFile=true \
    -p:DebugType=none \
    -o "$out" </dev/null

# The configuration next to the binary is the development one; installs use packaging/appsettings.sample.json.
rm -f "$out/appsettings.json"
echo "$out/appliance ($(du -h "$out/appliance" | cut -f1), $rid)"
