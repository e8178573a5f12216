#!/usr/bin/env bash
# Builds both .debs (debug binaries: quick) and checks what an installer gets: the files and
# their modes (`dpkg-deb -c`), the conffiles, the maintainer scripts, and both systemd units
# through `systemd-analyze verify` in a root made of the package's own files. Any warning
# from systemd fails the check. scripts/test.sh runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_pkgs systemd
if ! command -v cargo-deb >/dev/null; then
  echo "== installing cargo-deb (once)"
  cargo install --locked cargo-deb --version 3.8.0
fi
bash packaging/build-debs.sh --dev >/dev/null

fail() { echo "error: packaging: $*" >&2; exit 1; }
arch=$(dpkg --print-architecture)
newest() { ls -t target/debian/"$1"_*_"$arch".deb | head -n 1; }
kiosk_deb=$(newest kiosk)
server_deb=$(newest trace-server)

# `dpkg-deb -c` lines are "mode owner size date time path": check mode and path.
has() { # deb mode path
  dpkg-deb -c "$1" | awk -v m="$2" -v p="./$3" '$1 == m && $6 == p {found = 1} END {exit !found}' ||
    fail "$(basename "$1") lacks $3 with mode $2"
}
has "$kiosk_deb" -rwxr-xr-x usr/bin/kiosk
has "$kiosk_deb" -rw-r----- etc/kiosk/kiosk.toml
has "$kiosk_deb" -rw-r--r-- usr/lib/systemd/system/kiosk.service
has "$kiosk_deb" -rw-r--r-- usr/lib/udev/rules.d/90-kiosk-usb.rules
has "$kiosk_deb" -rw-r--r-- usr/share/doc/kiosk/README.md
has "$server_deb" -rwxr-xr-x usr/bin/trace-server
has "$server_deb" -rw------- etc/trace-server/env
has "$server_deb" -rw-r--r-- usr/lib/systemd/system/trace-server.service

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for deb in "$kiosk_deb" "$server_deb"; do
  name=$(dpkg-deb -f "$deb" Package)
  dpkg-deb -e "$deb" "$work/$name.control"
  dpkg-deb -x "$deb" "$work/root"
  grep -qx "/etc/$name/$( [ "$name" = kiosk ] && echo kiosk.toml || echo env )" "$work/$name.control/conffiles" ||
    fail "$name: its configuration is not a conffile (an upgrade would overwrite the operator's edits)"
  grep -q "systemctl --system daemon-reload" "$work/$name.control/postinst" ||
    fail "$name: postinst does not register the unit"
done
grep -q "adduser --system --group" "$work/kiosk.control/postinst" || fail "kiosk: postinst makes no system user"
grep -q "trace-server key generate" "$work/trace-server.control/postinst" ||
  fail "trace-server: postinst makes no signing key (it would live in the database)"
grep -q "^LoadCredential=signing-key:" "$work/root/usr/lib/systemd/system/trace-server.service" ||
  fail "trace-server: the unit does not hand the signing key over as a credential"
grep -q '^path = "/var/lib/kiosk/kiosk.db"' "$work/root/etc/kiosk/kiosk.toml" ||
  fail "kiosk: the packaged kiosk.toml does not keep the log in /var/lib/kiosk"
grep -q '^Depends:.*\bcage\b' <(dpkg-deb -f "$kiosk_deb") || fail "kiosk: does not depend on cage"

# The packaged configuration is valid as shipped (the kiosk refuses to start otherwise).
"$work/root/usr/bin/kiosk" --config "$work/root/etc/kiosk/kiosk.toml" check-config >/dev/null ||
  fail "kiosk: the packaged kiosk.toml does not pass check-config"

# systemd-analyze verify in a root of the packages' files, systemd's own units, and a stand-in
# for cage (a dependency, not ours: its absence here says nothing about our unit).
mkdir -p "$work/root/usr/lib/systemd"
cp -r /usr/lib/systemd/system/. "$work/root/usr/lib/systemd/system/"
printf '#!/bin/sh\n' >"$work/root/usr/bin/cage" && chmod 755 "$work/root/usr/bin/cage"
for unit in kiosk trace-server; do
  out=$(systemd-analyze verify --root="$work/root" "/usr/lib/systemd/system/$unit.service" 2>&1) ||
    fail "$unit.service: $out"
  [ -z "$out" ] || fail "$unit.service: systemd warns: $out"
done
echo "== packaging: kiosk and trace-server .debs and their units check out"
