#!/usr/bin/env bash
# Benchmark (run by hand): catalogctl seed of N products into catalogd's embedded PostgreSQL, beside a
# baseline measured in the same run on the same PostgreSQL: pgbench's own initialisation (COPY, then
# primary keys) of the same number of pgbench_accounts rows.
#   bench/seed.sh [PRODUCTS]      (default 1000000; needs a release build: scripts/build.sh release)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
DIR=$(mktemp -d /tmp/tm-bench-seed-XXXXXX)
chmod 755 "$DIR"
PORT=18190
build/catalogd --listen 127.0.0.1:$PORT --data-dir "$DIR/var" --access-log false >"$DIR/catalogd.log" 2>&1 &
CATALOGD=$!
trap 'kill -TERM $CATALOGD 2>/dev/null; wait $CATALOGD 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
SOCK="$DIR/var/pg/run"  # the embedded PostgreSQL's socket folder (the path is short enough)
export PGHOST="$SOCK" PGUSER=postgres
psql -qAt -d postgres -c "CREATE DATABASE pgbench_baseline" >/dev/null

t0=$(date +%s.%N)
build/catalogctl seed --products "$N" --data-dir "$DIR/var" 2>"$DIR/seed.progress" >/dev/null
t1=$(date +%s.%N)
/usr/lib/postgresql/15/bin/pgbench -i -q -s $(( (N + 99999) / 100000 )) pgbench_baseline >"$DIR/pgbench.log" 2>&1
t2=$(date +%s.%N)

rows=$(psql -qAt -d catalog -c "SELECT (SELECT count(*) FROM products) || ' products, ' || (SELECT count(*) FROM inventory) || ' stock rows, ' || pg_size_pretty(pg_database_size('catalog'))")
base=$(psql -qAt -d pgbench_baseline -c "SELECT count(*) || ' accounts, ' || pg_size_pretty(pg_database_size('pgbench_baseline')) FROM pgbench_accounts")
seed_s=$(echo "$t1 - $t0" | bc)
base_s=$(echo "$t2 - $t1" | bc)
printf '%-34s %10s  %s\n' "scenario" "seconds" "what was loaded"
printf '%-34s %10.1f  %s\n' "catalogctl seed --products $N" "$seed_s" "$rows"
printf '%-34s %10.1f  %s\n' "baseline: pgbench -i (same PG)" "$base_s" "$base"
printf '%-34s %10.2f\n' "ratio (seed / baseline)" "$(echo "$seed_s / $base_s" | bc -l)"
