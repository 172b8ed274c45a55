#!/usr/bin/env bash
# Scale benchmark: `ctrfallback train` on a small and a ten times larger generated log, in one run, on this machine.
# Prints rows/s, wall time and peak RSS for each, and the time ratio (linear cost means a ratio near the size ratio).
#
#   benchmarks/train/scale.sh [SMALL_ROWS] [LARGE_ROWS] [SEED]      (defaults: 1000000 10000000 3)
#
# Needs GNU time (/usr/bin/time, Debian's package `time`) for peak RSS. Writes only under a temporary folder
# (TMPDIR, about 2.6 GB for 10M rows plus the featurized log of the same size), removed at the end.
set -euo pipefail
small=${1:-1000000}
large=${2:-10000000}
seed=${3:-3}
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ -x /usr/bin/time ] || { echo "GNU time is required: apt-get install -y time" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building ctrfallback (Release)"
dotnet build "$repo/samples/CtrFallback.Cli" -c Release -v q -nologo >/dev/null
cli=(dotnet "$repo/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback.dll")

for rows in "$small" "$large"; do
  echo "== generating $rows rows (ctrfallback generate --seed $seed)"
  "${cli[@]}" generate --rows "$rows" --seed "$seed" --out "$work/clicks-$rows.tsv" >/dev/null
done

for rows in "$small" "$large"; do
  echo "== ctrfallback train on $rows rows"
  /usr/bin/time -f "%e %M" -o "$work/time-$rows" \
    "${cli[@]}" train --data "$work/clicks-$rows.tsv" --store "$work/store-$rows" --temp-dir "$work" --json > "$work/train-$rows.json"
done

/usr/bin/python3 - "$work" "$small" "$large" <<'PY'
import json, sys
work, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
res = {}
for rows in (small, large):
    wall, rss_kb = open(f"{work}/time-{rows}").read().split()
    out = json.load(open(f"{work}/train-{rows}.json"))
    res[rows] = (float(wall), int(rss_kb) / 1024, out)
print()
print(f"{'rows':>12} {'wall s':>8} {'rows/s':>10} {'peak RSS MB':>12} {'load s':>7} {'train s':>8} {'passes':>7} {'AUC':>7} {'calib.':>7}  training data")
for rows, (wall, rss, out) in res.items():
    st, p, m = out["stages"], out.get("parameters", {}), out["metrics"]
    print(f"{rows:>12,} {wall:>8.1f} {rows / wall:>10,.0f} {rss:>12,.0f} {st['load']:>7.1f} {st['train']:>8.1f} {p.get('passes', '?'):>7} {m['auc']:>7.4f} {m['calibration']:>7.4f}  {p.get('trainingData', '?')}")
(ws, _, _), (wl, _, _) = res[small], res[large]
print(f"time ratio {large:,}/{small:,} rows: {wl / ws:.2f} (size ratio {large / small:.0f})")
PY
