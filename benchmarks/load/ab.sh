#!/usr/bin/env bash
# A/B of two runtime environments for the inference server, side by side in one run: both servers on cpu 0 (the idle
# one costs nothing), warmed, then short wrk runs at 64 connections on cpu 1 alternating between them, so both see the
# same minutes of a shared machine. Prints each run, the medians, and the median of the per-round ratios.
#
#   KEEP=1 SWAP=0 benchmarks/load/run.sh          # once: builds, trains a store and writes the request bodies; prints "kept DIR"
#   benchmarks/load/ab.sh DIR "" "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1" [ROUNDS=6] [SECONDS=5]
#
# A and B are space-separated NAME=value lists added to the environment the image sets (DOTNET_TC_CallCountingDelayMs
# and the rest of its ENV DOTNET_ lines are NOT added, so that one of them can be compared with its absence: pass the
# ones you want). Ports 18101 and 18102.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$1 A=$2 B=$3 ROUNDS=${4:-6} SECS=${5:-5}
SERVER_DIR="$REPO/samples/CtrFallback.InferenceServer/bin/Release/net10.0"
[ -d "$WORK/store" ] && [ -f "$WORK/post.lua" ] || { echo "$WORK has no store/ and post.lua: run KEEP=1 SWAP=0 benchmarks/load/run.sh first"; exit 1; }
for p in 18101 18102; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p already in use"; exit 1; fi
done
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait' EXIT
start() { # "env list", port
  # shellcheck disable=SC2086
  (cd "$SERVER_DIR" && exec env $1 taskset -c 0 dotnet CtrFallback.InferenceServer.dll --store "$WORK/store" \
     --poll-interval 00:00:01 --urls "http://127.0.0.1:$2") >"$WORK/ab-$2.log" 2>&1 &
  PIDS+=($!)
}
start "$A" 18101
start "$B" 18102
for p in 18101 18102; do
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$p/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fs "http://127.0.0.1:$p/readyz" >/dev/null || { echo "server on $p not ready"; tail -5 "$WORK/ab-$p.log"; exit 1; }
  taskset -c 1 timeout 120 wrk -t2 -c64 -d10s -s "$WORK/post.lua" "http://127.0.0.1:$p/predict" >/dev/null
done
echo "A: ${A:-(image defaults only)}"
echo "B: ${B:-(image defaults only)}"
echo "round  A_req_s  B_req_s  B/A  load"
: >"$WORK/ab.txt"
for r in $(seq "$ROUNDS"); do
  line="$r"
  for p in 18101 18102; do
    rps=$(taskset -c 1 timeout 120 wrk -t2 -c64 -d"${SECS}s" -s "$WORK/post.lua" "http://127.0.0.1:$p/predict" | sed -n 's/^RESULT .*rps=\([0-9.]*\).*/\1/p')
    line="$line $rps"
  done
  echo "$line $(cut -d' ' -f1 /proc/loadavg)" >>"$WORK/ab.txt"
  awk '{printf "%5d  %7.0f  %7.0f  %.3f  %s\n", $1, $2, $3, $3 / $2, $4}' <<<"$line $(cut -d' ' -f1 /proc/loadavg)"
done
sort -n -k2 "$WORK/ab.txt" | awk '{a[NR]=$2} END {print "A median", (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'
sort -n -k3 "$WORK/ab.txt" | awk '{b[NR]=$3} END {print "B median", (NR % 2 ? b[(NR+1)/2] : (b[NR/2] + b[NR/2+1]) / 2)}'
awk '{print $3 / $2}' "$WORK/ab.txt" | sort -g | awk '{r[NR]=$1} END {print "median B/A per round", (NR % 2 ? r[(NR+1)/2] : (r[NR/2] + r[NR/2+1]) / 2)}'
