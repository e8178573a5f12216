#!/usr/bin/env bash
# Builds the two Debian packages into target/debian/: kiosk_*.deb (the appliance: binary,
# /etc/kiosk/kiosk.toml, kiosk.service under cage, the kiosk system user) and
# trace-server_*.deb (hardened service, /etc/trace-server/env). Needs cargo-deb
# (`cargo install cargo-deb`).
#
#   bash packaging/build-debs.sh            # release binaries (what you install)
#   bash packaging/build-debs.sh --dev      # the workspace's debug binaries: for checking the packages
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
[ "${1:-}" = --dev ] && profile=dev
command -v cargo-deb >/dev/null || { echo "error: cargo-deb is missing: cargo install cargo-deb" >&2; exit 2; }

# The packaged configuration is the documented kiosk.toml with the log under /var/lib/kiosk
# (the package's state directory), not beside the file in /etc.
mkdir -p target/packaging
sed 's|^path = "kiosk.db".*|path = "/var/lib/kiosk/kiosk.db"   # the service'"'"'s state directory|' kiosk.toml \
  >target/packaging/kiosk.toml
grep -q '^path = "/var/lib/kiosk/kiosk.db"' target/packaging/kiosk.toml ||
  { echo "error: kiosk.toml has no [storage] path = \"kiosk.db\" line to point at /var/lib/kiosk" >&2; exit 2; }

if [ "$profile" = dev ]; then
  # The binaries the tests build (one workspace build), packaged as they are.
  cargo build --locked --workspace --bins --features trace-server/testkit -q
  cargo deb --locked --profile dev --no-build -p kiosk
  cargo deb --locked --profile dev --no-build -p trace-server
else
  cargo deb --locked -p kiosk
  cargo deb --locked -p trace-server
fi
ls -1 target/debian/*.deb
