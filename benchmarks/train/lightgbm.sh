#!/usr/bin/env bash
# LightGBM acceptance figures on the neutral log: `ctrfallback train --trainer LightGbm` end to end (wall time, peak RSS,
# holdout AUC, stages, rounds), RUNS times; then `ctrfallback predict` on the holdout rows of the last run's model,
# whose AUC must equal train's; then `ctrfallback bench --trainer LightGbm` (featurize + predict per call, bytes).
#
#   benchmarks/train/lightgbm.sh [ROWS] [RUNS] [SEED]      (defaults: 1000000 3 42)
#
# Needs GNU time (/usr/bin/time, Debian's `time`) and ../shared/baseline/gen_synthetic.py (or LOG=path to reuse a log).
# Extra settings go through the environment, e.g. CtrFallback__LightGbm__NumberOfLeaves=63.
# Writes only under a temporary folder, removed at the end.
set -euo pipefail
rows=${1:-1000000}
runs=${2:-3}
seed=${3:-42}
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ -x /usr/bin/time ] || { echo "GNU time is required: apt-get install -y time" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building ctrfallback (Release)"
dotnet build "$repo/samples/CtrFallback.Cli" -c Release -v q -nologo >/dev/null
cli=(dotnet "$repo/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback.dll")

log=${LOG:-}
if [ -z "$log" ]; then
  log="$work/neutral.tsv"
  echo "== generating $rows rows (gen_synthetic.py --seed $seed)"
  python3 "$repo/../shared/baseline/gen_synthetic.py" "$rows" "$log" --seed "$seed" >/dev/null
fi

for run in $(seq 1 "$runs"); do
  echo "== train --trainer LightGbm, run $run"
  rm -rf "$work/store"
  /usr/bin/time -f "%e %M" -o "$work/time-$run" \
    "${cli[@]}" train --data "$log" --format criteo --trainer LightGbm --store "$work/store" --temp-dir "$work" --json > "$work/train-$run.json"
done

echo "== predict on the holdout (the last 10% of rows: the neutral log has no timestamps)"
total=$(wc -l < "$log")
tail -n $(( total / 10 )) "$log" > "$work/holdout.tsv"
"${cli[@]}" predict --data "$work/holdout.tsv" --format criteo --store "$work/store" --out "$work/scores.tsv" 2>/dev/null

echo "== bench --trainer LightGbm"
"${cli[@]}" bench --trainer LightGbm --json > "$work/bench.json"

/usr/bin/python3 - "$work" "$runs" <<'PY'
import json, sys, statistics
work, runs = sys.argv[1], int(sys.argv[2])
print(f"\n{'run':>4} {'wall s':>7} {'peak RSS MB':>12} {'AUC':>7} {'load':>6} {'vocab':>6} {'train':>6} {'eval':>6} {'rounds':>7}")
walls, aucs = [], []
for r in range(1, runs + 1):
    wall, rss = open(f"{work}/time-{r}").read().split()
    out = json.load(open(f"{work}/train-{r}.json"))
    st, p, m = out["stages"], out["parameters"], out["metrics"]
    walls.append(float(wall)); aucs.append(m["auc"])
    print(f"{r:>4} {float(wall):>7.1f} {int(rss) / 1024:>12,.0f} {m['auc']:>7.4f} {st['load']:>6.1f} {st.get('vocabulary', 0):>6.1f} {st['train']:>6.1f} {st['evaluate']:>6.1f} {p['iterations']:>7}")
print(f"median wall {statistics.median(walls):.1f} s, AUC {statistics.median(aucs):.4f}")

def auc(pairs):
    pairs.sort(key=lambda x: x[1])
    pos = sum(l for l, _ in pairs); neg = len(pairs) - pos; rank = 0.0; i = 0; s = 0.0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][1] == pairs[i][1]: j += 1
        s += sum(l for l, _ in pairs[i:j]) * ((i + j + 1) / 2)
        i = j
    return (s - pos * (pos + 1) / 2) / (pos * neg)
rows = [l.split("\t") for l in open(f"{work}/scores.tsv").read().splitlines()[1:]]
predicted = auc([(int(a), float(b)) for a, b in rows])
print(f"predict on the holdout: AUC {predicted:.6f}, train reported {aucs[-1]:.6f}, difference {abs(predicted - aucs[-1]):.2e}")
b = json.load(open(f"{work}/bench.json"))
print("bench:", {k: v for k, v in b.items() if not isinstance(v, (dict, list))})
PY
