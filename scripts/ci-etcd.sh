#!/usr/bin/env bash
# Installs etcd (server and etcdctl) from the distribution's packages when
# they are missing: the etcd tests (tests/integration/etcd.rs, run by
# `cargo test -- --ignored`) and the etcd benchmark start their own members
# and need both binaries. Debian/Ubuntu: etcd-server + etcd-client (3.4).
# The TLS test makes its CA and certificates with the openssl CLI.
set -euo pipefail
if command -v etcd >/dev/null && command -v etcdctl >/dev/null && command -v openssl >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "ci-etcd: etcd/etcdctl/openssl missing and no apt-get here: install etcd 3.4 or newer and openssl by hand" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq etcd-server etcd-client openssl
# The package may start a system member on 2379; the tests use their own
# ports and never touch it.
command -v etcd >/dev/null && command -v etcdctl >/dev/null && command -v openssl >/dev/null
