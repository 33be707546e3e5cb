#!/usr/bin/env bash
# Benchmark (run by hand, as root): undoing a bad deployment on a catalog of N products
# (`catalogctl dr recover`), beside baselines measured in the same run on the same topology: a full
# pgBackRest backup of the same cluster, and the restore phase inside the recovery.
#   bench/recover.sh [PRODUCTS]   (default 1000000; the local topology up, its catalog empty or of N products)
# Orders arrive all along (three clients, bounded by time); a catalogd with deploy id bad-bench reprices
# 1,000 products; then the recovery runs. Prints the figures and checks prices and orders.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
T_FILE=deploy/local.yaml
CTL=(build/catalogctl)
SECRETS=var/local/secrets.yaml
secret() { awk -v k="$1:" '$1 == k {print $2}' "$SECRETS"; }
export PGPASSWORD; PGPASSWORD=$(secret superuser)
API=http://127.0.10.1:8080
DB="host=127.0.10.1 port=5000 user=postgres dbname=techmoda"
DIR=$(mktemp -d /tmp/tm-bench-recover-XXXXXX)
BAD=""
LOADERS=()
cleanup() {
  [ -n "$BAD" ] && kill -TERM "$BAD" 2>/dev/null || true
  for p in "${LOADERS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

have=$(psql -qAt "$DB" -c "SELECT count(*) FROM products WHERE category NOT LIKE 'synthetic/%'")
if [ "$have" != "$N" ]; then
  echo "seeding $N products ..."
  "${CTL[@]}" seed --products "$N" --topology "$T_FILE" >"$DIR/seed.log" 2>&1 || { cat "$DIR/seed.log"; exit 1; }
fi
psql -qAt "$DB" -c "SELECT sku FROM inventory ORDER BY sku LIMIT 12" >"$DIR/skus"
while read -r sku; do
  curl -sf -o /dev/null -X PUT "$API/v1/inventory/$sku" -H 'Content-Type: application/json' -H "Authorization: Bearer $(secret admin_token)" \
    -d '{"on_hand": 1000000}'
done <"$DIR/skus"
t0=$(date +%s.%N)
"${CTL[@]}" backup run --type full --topology "$T_FILE" >"$DIR/backup.log" 2>&1 || { cat "$DIR/backup.log"; exit 1; }
t1=$(date +%s.%N)
size=$(psql -qAt "$DB" -c "SELECT pg_size_pretty(pg_database_size('techmoda'))")

# Orders all along: three clients, each stopping by itself after 10 minutes at most.
load() {
  local end=$((SECONDS + 600)) i=0 out
  mapfile -t skus <"$DIR/skus"
  while [ $SECONDS -lt $end ] && [ ! -e "$DIR/stop" ]; do
    i=$((i + 1))
    out=$(curl -s -m 60 -X POST "$API/v1/orders" -H 'Content-Type: application/json' -H "Authorization: Bearer $(secret client_token)" \
      -H "Idempotency-Key: bench-$1-$i-$RANDOM" \
      -d "{\"customer_id\": \"c$1\", \"lines\": [{\"sku\": \"${skus[$((i % ${#skus[@]}))]}\", \"quantity\": 1}]}" \
      -w ' %{http_code}') || true
    [ "${out##* }" = 201 ] && echo "$out" | grep -o '"id":"o-[0-9a-f]*"' | head -1 | cut -d'"' -f4 >>"$DIR/acked.$1"
  done
}
for w in 1 2 3; do load "$w" & LOADERS+=($!); done
sleep 3
T=$(psql -qAt "$DB" -c "SELECT now()")
sleep 1

# The bad deployment: its own catalogd on the same database, repricing 1,000 products to 1 cent.
psql -qAt "$DB" -c "SELECT id || ' ' || price_amount FROM products WHERE status = 'active' ORDER BY id LIMIT 1000" \
  >"$DIR/prices"
CATALOGD_ADMIN_TOKEN=bench-admin-token-0123456789 build/catalogd --listen 127.0.0.1:18191 --data-dir "$DIR/bad" \
  --database-url "host=127.0.10.1 port=5000 dbname=techmoda user=catalog password=$(secret catalog)" \
  --deploy-id bad-bench --read-copy false --access-log false >"$DIR/bad.log" 2>&1 &
BAD=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null http://127.0.0.1:18191/healthz && break; sleep 0.2; done
while read -r id _; do
  curl -s http://127.0.0.1:18191/v1/products/"$id" | sed 's/"amount":[0-9]*/"amount":1/' >"$DIR/p.json"
  curl -sf -o /dev/null -X PUT http://127.0.0.1:18191/v1/products/"$id" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer bench-admin-token-0123456789" --data-binary @"$DIR/p.json"
done <"$DIR/prices"
kill -TERM "$BAD"; wait "$BAD" 2>/dev/null || true; BAD=""
echo "bad deployment: $(psql -qAt "$DB" -c "SELECT count(*) FROM change_log WHERE deploy_id = 'bad-bench'") changes"

t2=$(date +%s.%N)
"${CTL[@]}" dr recover --to-time "$T" --exclude-deploy bad-bench --json --topology "$T_FILE" >"$DIR/report.json" \
  2>"$DIR/progress" || { cat "$DIR/progress"; exit 1; }
t3=$(date +%s.%N)
sleep 3
touch "$DIR/stop"
for p in "${LOADERS[@]}"; do wait "$p" 2>/dev/null || true; done
LOADERS=()

restored=0
while read -r id price; do
  now=$(psql -qAt "$DB" -c "SELECT price_amount FROM products WHERE id = '$id'")
  [ "$now" = "$price" ] && restored=$((restored + 1))
done <"$DIR/prices"
cat "$DIR"/acked.* | sort >"$DIR/acked"
psql -qAt "$DB" -c "SELECT id FROM orders" | sort >"$DIR/present"
lost=$(comm -23 "$DIR/acked" "$DIR/present" | wc -l)
restore_s=$(python3 -c "import json,sys; r=json.load(open('$DIR/report.json')); print([p['seconds'] for p in r['phases'] if p['phase'].startswith('backup ')][0])")
refused_s=$(python3 -c "import json; print(round(json.load(open('$DIR/report.json'))['writes_refused_s'], 1))")
replayed=$(python3 -c "import json; r=json.load(open('$DIR/report.json')); print(r['replayed'], 'replayed,', r['skipped'], 'skipped,', len(r['conflicts']), 'conflicts')")
backup_s=$(echo "$t1 - $t0" | bc)
recover_s=$(echo "$t3 - $t2" | bc)
printf '%-44s %9s\n' "scenario ($N products, $size)" "seconds"
printf '%-44s %9.1f\n' "baseline: full backup (pgbackrest backup)" "$backup_s"
printf '%-44s %9.1f\n' "  restore phase inside the recovery" "$restore_s"
printf '%-44s %9.1f   (%.2fx the full backup)\n' "dr recover --to-time T --exclude-deploy D" "$recover_s" \
  "$(echo "$recover_s / $backup_s" | bc -l)"
printf '%-44s %9s\n' "  writes refused" "$refused_s"
echo "replay: $replayed; prices restored $restored/1000; acknowledged orders $(wc -l <"$DIR/acked"), lost $lost"
