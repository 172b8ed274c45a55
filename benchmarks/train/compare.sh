#!/usr/bin/env bash
# Side-by-side training benchmark: the scikit-learn baseline (../shared/baseline) and `ctrfallback train`
# on the same click log, in one run, on this machine. Prints each side's stage times and holdout metrics,
# then the speed ratio and the AUC difference.
#
#   benchmarks/train/compare.sh [ROWS] [SEED]      (defaults: 1000000 rows, seed 42)
#
# Needs Debian's python3-sklearn and python3-pandas (apt-get install -y python3-sklearn python3-pandas).
# Writes only under a temporary folder, removed at the end.
set -euo pipefail
rows=${1:-1000000}
seed=${2:-42}
repo=$(cd "$(dirname "$0")/../.." && pwd)
baseline=${BASELINE_DIR:-$repo/../shared/baseline}
[ -f "$baseline/train.py" ] || { echo "baseline not found at $baseline (set BASELINE_DIR)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$baseline" "$work/baseline"
data="$work/clicks.tsv"

echo "== generating $rows rows with the neutral generator (baseline/gen_synthetic.py --seed $seed)"
/usr/bin/python3 "$work/baseline/gen_synthetic.py" "$rows" "$data" --seed "$seed"

echo "== building ctrfallback (Release)"
dotnet build "$repo/samples/CtrFallback.Cli" -c Release -v q -nologo >/dev/null
cli=(dotnet "$repo/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback.dll")

echo "== ctrfallback train (end to end: read, featurize, train, evaluate, gate, register)"
start=$(date +%s.%N)
"${cli[@]}" train --data "$data" --store "$work/store" --json > "$work/ours.json"
ours_s=$(echo "$(date +%s.%N) - $start" | bc -l)

echo "== scikit-learn baseline (train.py: saga, C=0.1, single thread)"
start=$(date +%s.%N)
OMP_NUM_THREADS=1 /usr/bin/python3 "$work/baseline/train.py" --data "$data" --out "$work/model.joblib" --metrics-json "$work/base.json" > "$work/base.log" 2>&1
base_s=$(echo "$(date +%s.%N) - $start" | bc -l)

/usr/bin/python3 - "$work/ours.json" "$work/base.json" "$ours_s" "$base_s" <<'PY'
import json, sys
ours, base = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ours_s, base_s = float(sys.argv[3]), float(sys.argv[4])
om, bm = ours["metrics"], base.get("holdout", base)
def g(d, *keys):
    for k in keys:
        if k in d: return d[k]
    return float("nan")
print()
print(f"{'':24}{'ctrfallback':>14}{'scikit-learn':>14}")
print(f"{'wall time, s':24}{ours_s:14.1f}{base_s:14.1f}")
print(f"{'holdout AUC':24}{om['auc']:14.4f}{g(bm,'auc'):14.4f}")
print(f"{'holdout log loss':24}{om['logLoss']:14.4f}{g(bm,'logloss'):14.4f}")
print(f"{'normalized entropy':24}{om['normalizedEntropy']:14.4f}{g(bm,'ne'):14.4f}")
print(f"{'calibration':24}{om['calibration']:14.4f}{g(bm,'calibration'):14.4f}")
ours_in, base_in = sum(ours["stages"].values()), sum(base["timings_s"].values())
print(f"{'read+featurize+train+eval':24}{ours_in:14.1f}{base_in:14.1f}   (each side's own stage timers)")
print(f"ctrfallback stages: {ours['stages']}; baseline stages: {base['timings_s']}")
print(f"speed-up: {base_s / ours_s:.1f}x wall, {base_in / ours_in:.1f}x stages; AUC difference (ours - baseline): {om['auc'] - g(bm,'auc'):+.4f}")
PY
