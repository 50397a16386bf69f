#!/bin/sh
# Install jsafe: the binary, its man pages and its shell completions, each
# where its tool looks for it.
#
#   scripts/install.sh [PREFIX]          PREFIX defaults to /usr/local
#
#   PREFIX/bin/jsafe
#   PREFIX/share/man/man1/jsafe.1, jsafe-<command>.1
#   PREFIX/share/bash-completion/completions/jsafe
#   PREFIX/share/zsh/site-functions/_jsafe
#   PREFIX/share/fish/vendor_completions.d/jsafe.fish
#
# The binary is target/release/jsafe, built first with
# `cargo build --release --locked` when it is missing; JSAFE_BIN=PATH installs
# another one. DESTDIR=DIR puts everything below DIR (for packages). The man
# pages and completion scripts are made by the binary being installed, so they
# always match it. For one user: scripts/install.sh ~/.local
set -eu

prefix=${1:-/usr/local}
case $prefix in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    /*) ;;
    *) prefix=$(pwd)/$prefix ;;
esac
root=${DESTDIR:-}$prefix
repo=$(cd "$(dirname "$0")/.." && pwd)

bin=${JSAFE_BIN:-}
if [ -z "$bin" ]; then
    bin=$repo/target/release/jsafe
    if [ ! -x "$bin" ]; then
        echo "install.sh: building $bin" >&2
        (cd "$repo" && cargo build --release --locked)
    fi
fi
if [ ! -x "$bin" ]; then
    echo "install.sh: $bin is not an executable file" >&2
    exit 1
fi

mkdir -p "$root/bin" "$root/share/man/man1" \
    "$root/share/bash-completion/completions" \
    "$root/share/zsh/site-functions" \
    "$root/share/fish/vendor_completions.d"

# Into a temp name, then renamed: a jsafe that is running is never overwritten.
cp "$bin" "$root/bin/.jsafe.new"
chmod 755 "$root/bin/.jsafe.new"
mv -f "$root/bin/.jsafe.new" "$root/bin/jsafe"

"$bin" man "$root/share/man/man1"
"$bin" completions bash > "$root/share/bash-completion/completions/jsafe"
"$bin" completions zsh > "$root/share/zsh/site-functions/_jsafe"
"$bin" completions fish > "$root/share/fish/vendor_completions.d/jsafe.fish"
chmod 644 "$root"/share/man/man1/jsafe*.1 \
    "$root/share/bash-completion/completions/jsafe" \
    "$root/share/zsh/site-functions/_jsafe" \
    "$root/share/fish/vendor_completions.d/jsafe.fish"

echo "installed jsafe $("$root/bin/jsafe" --version | cut -d' ' -f2) into $root"
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "note: $prefix/bin is not in PATH; the completions call jsafe through PATH" ;;
esac
