#!/usr/bin/env bash
# Feature-search benchmark: `ctrfallback train --features auto` against the preset (`--features schema`) on the
# neutral log (../shared/baseline/gen_synthetic.py, seed 42) and on a generated log with two planted crosses the
# preset lacks (`ctrfallback generate --crosses C2:C17,C5:C22 --seed 7`), interleaved run by run (preset, then auto)
# so both sides see the same machine state. Prints per run the wall times, the auto/preset ratio, `uptime`'s load, the
# holdout AUC and NE of both, the crosses added with their z, the search's own stages (the beam's triples among them),
# and for the planted log the truth's own holdout AUC
# (the generator's click probabilities scored on the same holdout: the ceiling of any model).
#
#   benchmarks/train/auto.sh [ROWS] [RUNS]      (defaults: 1000000 rows, 3 runs per log)
#
# Reuses logs when NEUTRAL_LOG, or PLANTED_LOG and PLANTED_TRUTH, name existing files; CLI_DLL runs a copied build.
# PLANTED_CROSSES plants other crosses, pairs or triples (default C2:C17,C5:C22; e.g. C2:C17,C14:C23:C9); LOGS picks
# the logs (default "neutral planted"). Writes only under a temporary folder, removed at the end.
set -euo pipefail
rows=${1:-1000000}
runs=${2:-3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
baseline=${BASELINE_DIR:-$repo/../shared/baseline}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -n "${CLI_DLL:-}" ]; then
  cli=(dotnet "$CLI_DLL") # a copy of a build, so the source can change while this runs
else
  echo "== building ctrfallback (Release)"
  dotnet build "$repo/samples/CtrFallback.Cli" -c Release -v q -nologo >/dev/null
  cli=(dotnet "$repo/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback.dll")
fi

neutral=${NEUTRAL_LOG:-}
if [ -z "$neutral" ] && [[ " ${LOGS:-neutral planted} " == *" neutral "* ]]; then
  [ -f "$baseline/gen_synthetic.py" ] || { echo "baseline not found at $baseline (set BASELINE_DIR or NEUTRAL_LOG)" >&2; exit 1; }
  neutral="$work/neutral.tsv"
  echo "== generating the neutral log ($rows rows, gen_synthetic.py --seed 42)"
  /usr/bin/python3 "$baseline/gen_synthetic.py" "$rows" "$neutral" --seed 42
fi

planted=${PLANTED_LOG:-}
truth=${PLANTED_TRUTH:-}
crosses=${PLANTED_CROSSES:-C2:C17,C5:C22}
logs=${LOGS:-neutral planted}
if [ -z "$planted" ] && [[ " $logs " == *" planted "* ]]; then
  planted="$work/planted.tsv"
  truth="$work/planted-truth.txt"
  echo "== generating the planted log ($rows rows, generate --crosses $crosses --seed 7)"
  "${cli[@]}" generate --rows "$rows" --crosses "$crosses" --seed 7 --out "$planted" --truth "$truth"
fi

for log in $logs; do
  data=$([ "$log" = neutral ] && echo "$neutral" || echo "$planted")
  for run in $(seq 1 "$runs"); do
    for features in schema auto; do
      echo "== $log run $run: train --features $features"
      uptime | sed 's/.*load average: /load /' > "$work/$log-$run-$features.load"
      start=$(date +%s.%N)
      "${cli[@]}" train --data "$data" --store "$work/store-$log-$run-$features" --temp-dir "$work" --features "$features" --json > "$work/$log-$run-$features.json"
      echo "$(date +%s.%N) - $start" | bc -l > "$work/$log-$run-$features.wall"
    done
  done
done

/usr/bin/python3 - "$work" "$runs" "$planted" "${truth:-}" "$logs" <<'PY'
import json, statistics, sys
work, runs, planted, truth, logs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].split()

def truth_auc(holdout_rows):
    # The training holdout of a log without timestamps is its last rows in file order.
    from sklearn.metrics import roc_auc_score, log_loss
    labels = [line.split('\t', 1)[0] == '1' for line in open(planted)]
    p = [float(x) for x in open(truth)]
    y, q = labels[-holdout_rows:], p[-holdout_rows:]
    import math
    ll = log_loss(y, q)
    ctr = sum(y) / len(y)
    h = -(ctr * math.log(ctr) + (1 - ctr) * math.log(1 - ctr))
    return roc_auc_score(y, q), ll / h

for log in logs:
    print(f"\n{log} log")
    print(f"{'run':>4}{'preset s':>10}{'auto s':>9}{'ratio':>7}{'preset AUC':>12}{'auto AUC':>10}{'preset NE':>11}{'auto NE':>9}  load (1/5/15 min) before preset; auto stages; crosses added")
    ratios, pw, aw = [], [], []
    for run in range(1, runs + 1):
        p = json.load(open(f"{work}/{log}-{run}-schema.json"))
        a = json.load(open(f"{work}/{log}-{run}-auto.json"))
        ps, as_ = float(open(f"{work}/{log}-{run}-schema.wall").read()), float(open(f"{work}/{log}-{run}-auto.wall").read())
        load = open(f"{work}/{log}-{run}-schema.load").read().strip()
        ratios.append(as_ / ps); pw.append(ps); aw.append(as_)
        par = a["parameters"]
        print(f"{run:>4}{ps:>10.1f}{as_:>9.1f}{as_ / ps:>7.2f}{p['metrics']['auc']:>12.4f}{a['metrics']['auc']:>10.4f}"
              f"{p['metrics']['normalizedEntropy']:>11.4f}{a['metrics']['normalizedEntropy']:>9.4f}  {load}; {a['stages']}; "
              f"{par.get('features.addedCrosses', '')} [bar {par.get('features.requiredZ', '')}; bits {par.get('featurizer.hashBits')}]")
        print(f"      search stages (s): {par.get('features.searchSeconds', '')}")
        if run == 1 and "features.inputSchemaHoldout" in par:
            print(f"      input schema on the search's sample fit: {par['features.inputSchemaHoldout']}")
    print(f"median: preset {statistics.median(pw):.1f} s, auto {statistics.median(aw):.1f} s, ratio {statistics.median(ratios):.2f} (runs {', '.join(f'{r:.2f}' for r in ratios)})")
    if log == "planted" and truth:
        holdout = p["metrics"]["rows"]
        auc, ne = truth_auc(holdout)
        print(f"truth ceiling on the same {holdout:,} holdout rows: AUC {auc:.4f}, NE {ne:.4f}; "
              f"headroom over the preset {auc - p['metrics']['auc']:+.4f}, auto's gain {a['metrics']['auc'] - p['metrics']['auc']:+.4f}")
PY
