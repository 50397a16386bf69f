#!/usr/bin/env bash
# The Python package's CI: build it as a user installs it (`pip install
# ./python`, maturin from PyPI), put the `jsafe` CLI on PATH for the interop
# tests, and run the tests with pytest. Then the one test that needs the
# write core's fail points (ChangedNotDurable) against a second, debug build
# made with them; an installed wheel never has them.
#
# Needs python3 and cargo (as root, python3-venv is installed when venv is
# missing); run from anywhere.
# Fails when pytest fails or collects no tests (its exit 5).
# JSAFE_PY_VENV: where the virtual environments go (default target/python-venv).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${JSAFE_PY_VENV:-$root/target/python-venv}
cd "$root"

# pytest ends with its summary line; "no tests ran" (5) is a failure here.
# Run from the repository's root with the venv's own pytest script: neither
# it nor the Python children the tests start (python -c) then find the
# source tree's python/jsafe before the installed package.
run_pytest() {
    local env=$1
    shift
    local rc=0
    (cd "$root" && "$env/bin/pytest" -p no:cacheprovider python/tests "$@") || rc=$?
    if ((rc == 5)); then
        echo "ci-python: pytest collected no tests" >&2
        return 1
    fi
    return "$rc"
}

# Debian's python3 has venv in a package of its own (python3-venv).
make_venv() {
    if python3 -m venv "$1" 2>/dev/null; then
        return 0
    fi
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$1"
        python3 -m venv "$1"
        return
    fi
    echo "ci-python: python3 -m venv failed (install python3-venv)" >&2
    return 1
}

echo "== ci-python: the jsafe CLI for the interop tests"
cargo build --locked --bin jsafe
export PATH="$root/target/debug:$PATH"
command -v jsafe

echo "== ci-python: pip install ./python into $venv"
make_venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check maturin pytest
# The wheel's Rust build uses python/Cargo.lock as committed.
MATURIN_PEP517_ARGS="--locked" "$venv/bin/python" -m pip install --disable-pip-version-check ./python
# The installed package, not the source tree, is what is tested.
(cd / && "$venv/bin/python" -c 'import jsafe, sys; assert not jsafe._jsafe.FAILPOINTS; print("jsafe", jsafe.__version__, "from", jsafe.__file__)')

echo "== ci-python: pytest (installed wheel)"
run_pytest "$venv" -m "not failpoints"

echo "== ci-python: pytest -m failpoints (debug build with the write core's fail points)"
fp="$venv-failpoints"
make_venv "$fp"
"$fp/bin/python" -m pip install --quiet --disable-pip-version-check maturin pytest
(cd "$root/python" && VIRTUAL_ENV="$fp" PATH="$fp/bin:$PATH" maturin develop --locked --features failpoints)
run_pytest "$fp" -m failpoints
