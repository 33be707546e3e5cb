#!/usr/bin/env bash
# Installs what the build, the service and the tests need, from Debian 12's archive only.
# Skips apt-get entirely when everything is already there.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache clang libclang-rt-14-dev libfuzzer-14-dev clang-format
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libpq-dev libspdlog-dev libcli11-dev
  libyaml-cpp-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev prometheus-cpp-dev
  # the database the service embeds and the tests start
  postgresql-15 postgresql-client-15
  # the high-availability region (catalogctl up, the ha tests): Patroni with its etcd (v2) client, etcd,
  # HAProxy, supervisord to run them, nftables to cut zones apart in drills
  patroni python3-etcd etcd-server etcd-client haproxy supervisor nftables
  # monitoring (catalogctl up; promtool tests the alert rules): Prometheus, Alertmanager, the exporters;
  # chromium: the status page's browser test
  prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-node-exporter chromium
  # backups (catalogctl up, backup run|list|verify, the dr tests): pgBackRest, openssl for its certificates
  pgbackrest openssl
  # the game day's report: its plots
  gnuplot-nox
  # curl: for people trying the API; acl: setfacl, to let the embedded PostgreSQL reach a 0700 checkout
  curl acl bc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Debian starts a package's service on install (Prometheus on *:9090, the exporters, Alertmanager...).
# The project runs its own instances on its own addresses: keep the packaged ones from starting.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ -z "$policy" ] || $SUDO rm -f "$policy"
echo "deps: done"
