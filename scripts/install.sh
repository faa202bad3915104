#!/usr/bin/env bash
# Installs n2spd: binaries, systemd units, sysusers.d/tmpfiles.d entries, the example config (and
# /etc/n2spd/n2spd.toml if there is none yet) and the bundled default model. Called by `make install`
# after `swift build -c release`; honours PREFIX (default /usr/local) and DESTDIR (staging root).
#
# The default model: $N2SPD_MODEL_SOURCE (a safetensors file or a TF checkpoint folder), else the
# checkpoint in ../shared/fixtures/tf-ckpt-small, converted with `n2sp import-checkpoint` (the optimizer
# state is kept so that the daemon can fine-tune from it).
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BIN_DIR=${BIN_DIR:-.build/release}
root="$DESTDIR"

for exe in n2sp n2spd; do
    [ -x "$BIN_DIR/$exe" ] || { echo "install: $BIN_DIR/$exe is missing: run swift build -c release first" >&2; exit 1; }
done

# systemd looks for units, sysusers and tmpfiles under /usr/local/lib too, but only /etc is searched for a
# PREFIX outside /usr and /usr/local.
case "$PREFIX" in
    /usr) systemd_lib=/usr/lib ;;
    /usr/local) systemd_lib=/usr/local/lib ;;
    *) systemd_lib=/etc ;;
esac

install -d "$root$PREFIX/bin" "$root$systemd_lib/systemd/system" "$root$systemd_lib/sysusers.d" "$root$systemd_lib/tmpfiles.d" \
    "$root$PREFIX/share/n2spd" "$root$PREFIX/share/doc/n2spd" "$root/etc/n2spd"
install -m 0755 "$BIN_DIR/n2sp" "$BIN_DIR/n2spd" "$root$PREFIX/bin/"

for unit in n2spd.service n2spd@.service; do
    sed "s#/usr/local/bin/n2spd#$PREFIX/bin/n2spd#; s#/usr/local/share/doc/n2spd#$PREFIX/share/doc/n2spd#" "systemd/$unit" \
        > "$root$systemd_lib/systemd/system/$unit"
    chmod 0644 "$root$systemd_lib/systemd/system/$unit"
done
install -m 0644 systemd/n2spd.sysusers.conf "$root$systemd_lib/sysusers.d/n2spd.conf"
install -m 0644 systemd/n2spd.tmpfiles.conf "$root$systemd_lib/tmpfiles.d/n2spd.conf"

install -m 0644 config/n2spd.example.toml "$root$PREFIX/share/doc/n2spd/n2spd.example.toml"
if [ ! -e "$root/etc/n2spd/n2spd.toml" ]; then
    # The example's model line stays commented out: the daemon then uses the bundled model.
    install -m 0644 config/n2spd.example.toml "$root/etc/n2spd/n2spd.toml"
fi

model_source=${N2SPD_MODEL_SOURCE:-../shared/fixtures/tf-ckpt-small}
model_target="$root$PREFIX/share/n2spd/default.safetensors"
if [ -e "$model_source" ]; then
    rm -f "$model_target"
    if [ -f "$model_source" ] && head -c 9 "$model_source" | tail -c 1 | grep -q '{'; then
        install -m 0644 "$model_source" "$model_target"
    else
        "$BIN_DIR/n2sp" import-checkpoint "$model_source" -o "$model_target" --keep-optimizer-state
        chmod 0644 "$model_target"
    fi
    echo "install: default model $model_source → $PREFIX/share/n2spd/default.safetensors"
else
    echo "install: no default model at $model_source (set N2SPD_MODEL_SOURCE); n2spd will need --model or \`model\` in the config" >&2
fi

if [ -z "$DESTDIR" ] && [ -d /run/systemd/system ]; then
    systemd-sysusers "$systemd_lib/sysusers.d/n2spd.conf"
    systemd-tmpfiles --create "$systemd_lib/tmpfiles.d/n2spd.conf"
    systemctl daemon-reload
    echo "install: done. Edit /etc/n2spd/n2spd.toml, then: systemctl enable --now n2spd"
else
    echo "install: done under ${DESTDIR:-/}. On the target: systemd-sysusers; systemd-tmpfiles --create; systemctl daemon-reload"
fi
