#!/usr/bin/env bash
# Negative downsampling at read time, before and after: `ctrfallback train --negative-sample-rate RATE` on one generated
# low-CTR log with two builds of the CLI, run after run interleaved. Prints, per run, the featurized temp folder's peak
# size (polled every 20 ms), the load stage, the holdout AUC / NE, the training rows and the machine's load.
#
#   BEFORE_DLL=<old ctrfallback.dll> AFTER_DLL=<new ctrfallback.dll> benchmarks/train/sampling.sh [ROWS] [RUNS] [RATE] [CTR]
#   (defaults: 1000000 3 0.1 0.03)
#
# Writes only under a temporary folder (TMPDIR), removed at the end.
set -euo pipefail
rows=${1:-1000000}
runs=${2:-3}
rate=${3:-0.1}
ctr=${4:-0.03}
: "${BEFORE_DLL:?set BEFORE_DLL to the old build's ctrfallback.dll}" "${AFTER_DLL:?set AFTER_DLL to the new build's ctrfallback.dll}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== generating $rows rows (ctrfallback generate --ctr $ctr --seed 5)"
dotnet "$AFTER_DLL" generate --rows "$rows" --ctr "$ctr" --seed 5 --out "$work/clicks.tsv" >/dev/null

/usr/bin/python3 - "$work" "$runs" "$rate" "$BEFORE_DLL" "$AFTER_DLL" <<'PY'
import json, os, subprocess, sys, time
work, runs, rate, dlls = sys.argv[1], int(sys.argv[2]), sys.argv[3], {"before": sys.argv[4], "after": sys.argv[5]}

def folder_bytes(path):
    total = 0
    for entry in os.scandir(path):
        try:
            total += entry.stat().st_size
        except FileNotFoundError:
            pass  # a tail chunk deleted between the listing and the stat
    return total

def run(side, i):
    temp, store = f"{work}/temp-{side}-{i}", f"{work}/store-{side}-{i}"
    os.makedirs(temp)
    load = os.getloadavg()[0]
    cmd = ["dotnet", dlls[side], "train", "--data", f"{work}/clicks.tsv", "--store", store, "--temp-dir", temp,
           "--negative-sample-rate", rate, "--json"]
    with open(f"{work}/out-{side}-{i}.json", "w") as out:
        p = subprocess.Popen(cmd, stdout=out)
        peak = 0
        while p.poll() is None:
            peak = max(peak, folder_bytes(temp))
            time.sleep(0.02)
    if p.returncode != 0:
        sys.exit(f"{side} run {i} failed ({p.returncode})")
    o = json.load(open(f"{work}/out-{side}-{i}.json"))
    m, par = o["metrics"], o.get("parameters", {})
    return dict(side=side, run=i, load=load, peak=peak / 1e6, stage=o["stages"]["load"], auc=m["auc"], ne=m["normalizedEntropy"],
                train=o.get("trainingRows", "?"), held=par.get("data.peakRowsHeld", "-"), dropped=par.get("data.droppedNegatives", "-"))

results = []
for i in range(1, runs + 1):
    for side in ("before", "after"):
        results.append(run(side, i))
        r = results[-1]
        print(f"{r['side']:>6} run {r['run']}: load avg {r['load']:5.1f}  temp peak {r['peak']:8.1f} MB  load stage {r['stage']:6.2f} s  "
              f"AUC {r['auc']:.6f}  NE {r['ne']:.6f}  training rows {r['train']}  peak rows held {r['held']}  dropped {r['dropped']}", flush=True)
for side in ("before", "after"):
    rs = [r for r in results if r["side"] == side]
    med = lambda k: sorted(r[k] for r in rs)[len(rs) // 2]
    print(f"{side:>6} median: temp peak {med('peak'):.1f} MB, load stage {med('stage'):.2f} s")
PY
