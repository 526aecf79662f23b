#!/usr/bin/env bash
# Used by the benchmarks (BENCHMARKS.md); `cargo xtask test` sets up the same environment itself.
# Runs "$@" inside a private D-Bus session with an unlocked gnome-keyring (Secret Service)
# (a throwaway HOME, so your own keyring is never touched).
# Usage: scripts/with-keyring.sh cargo test -p cds-vault --test os_keyring
set -e
H=$(mktemp -d /tmp/krhome.XXXXXX)
export CARGO_HOME=${CARGO_HOME:-$HOME/.cargo} RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
export HOME=$H XDG_DATA_HOME=$H/.local/share
exec dbus-run-session -- sh -c 'eval "$(printf cds-test | gnome-keyring-daemon --unlock --components=secrets)"; export GNOME_KEYRING_CONTROL SSH_AUTH_SOCK; exec "$@"' sh "$@"
