#!/usr/bin/env bash
# Trains on a TSV and on its Parquet partitions (to-parquet.cs), interleaved, the same command each time; prints the
# load stage of each, their ratio, the machine's load, and the largest metric difference between the two.
# Usage: benchmarks/data/compare-parquet.sh TSV PARQUET_FOLDER [RUNS=3]
set -euo pipefail
tsv=$1 pq=$2 runs=${3:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
cli=${CTRFALLBACK_CLI:-$root/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "run  tsv_load_s  parquet_load_s  parquet/tsv  max_metric_diff  uptime"
for r in $(seq 1 "$runs"); do
  for side in tsv pq; do
    data=$tsv; [ $side = pq ] && data=$pq
    rm -rf "$work/store-$side"
    "$cli" train --data "$data" --json --store "$work/store-$side" > "$work/$side.json"
  done
  python3 - "$work/tsv.json" "$work/pq.json" "$r" "$(uptime | sed 's/.*load average: //')" <<'PY'
import json, sys
t, p = (json.load(open(f)) for f in sys.argv[1:3])
diff = max(abs(t["metrics"][k] - p["metrics"][k]) for k in ("auc", "logLoss", "normalizedEntropy", "calibration"))
assert t["rows"] == p["rows"], (t["rows"], p["rows"])
print(f'{sys.argv[3]:>3}  {t["stages"]["load"]:10.3f}  {p["stages"]["load"]:14.3f}  {p["stages"]["load"] / t["stages"]["load"]:11.3f}  {diff:15.2e}  {sys.argv[4]}')
PY
done
