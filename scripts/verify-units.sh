#!/usr/bin/env bash
# Checks the systemd units with `systemd-analyze verify` and FAILS on any output (systemd-analyze returns 0
# for most bad values and only prints warnings), then prints `systemd-analyze security --offline=yes`.
#
# The units name /usr/local/bin/n2spd, which verify checks for existence; so they are verified from a
# temporary copy whose ExecStart points at the built binary (or /bin/true when nothing is built yet),
# everything else unchanged. The template is verified as an instance (n2spd@example.service).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then
    echo "verify-units: systemd-analyze not found (apt-get install systemd)" >&2
    exit 1
fi
binary=/bin/true
for candidate in "$PWD/.build/release/n2spd" "$PWD/.build/debug/n2spd"; do
    if [ -x "$candidate" ]; then binary=$candidate; break; fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s#/usr/local/bin/n2spd#$binary#" systemd/n2spd.service > "$work/n2spd.service"
sed "s#/usr/local/bin/n2spd#$binary#" systemd/n2spd@.service > "$work/n2spd@.service"
cp "$work/n2spd@.service" "$work/n2spd@example.service"

status=0
for unit in n2spd.service n2spd@example.service; do
    # verify needs a writable unit search path; --man=no: the Documentation= is a file: URL, not a man page.
    out=$(cd "$work" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$work/$unit" 2>&1) || true
    if [ -n "$out" ]; then
        echo "verify-units: $unit: systemd-analyze verify printed:" >&2
        echo "$out" >&2
        status=1
    else
        echo "verify-units: $unit OK"
    fi
done
for file in systemd/n2spd.sysusers.conf systemd/n2spd.tmpfiles.conf; do
    [ -s "$file" ] || { echo "verify-units: $file missing or empty" >&2; status=1; }
done
if command -v systemd-sysusers >/dev/null; then
    # --dry-run reports what it would create; anything else (a parse error) fails the check.
    out=$(systemd-sysusers --dry-run "$PWD/systemd/n2spd.sysusers.conf" 2>&1 | grep -v "^Creating \|^Would write \|already exists" || true)
    if [ -n "$out" ]; then echo "verify-units: sysusers: $out" >&2; status=1; fi
fi

for unit in n2spd.service n2spd@example.service; do
    echo "== systemd-analyze security --offline=yes $unit"
    # The passed checks (✓) are omitted; what is left is the exposure and what would lower it.
    (cd "$work" && systemd-analyze security --offline=yes "$work/$unit" 2>&1 | grep -v "^✓") || true
done
exit $status
