#!/usr/bin/env bash
# Side-by-side load test: CtrFallback.InferenceServer vs the FastAPI/uvicorn baseline, each pinned to ONE core
# (cpu 0, one after the other), driven by wrk pinned to the other core (cpu 1), on 127.0.0.1 only, with the same
# request bodies (the baseline's make_requests.py over the same generated log both models are trained on).
#
#   benchmarks/load/run.sh                    # 200k rows, 20 s warm-up, 20 s at 64 connections, 10 s at 1 connection
#   ROWS=100000 DURATION=10s DURATION1=5s benchmarks/load/run.sh
#   SWAP=0 benchmarks/load/run.sh             # skip the champion-swap / corrupt-artifact run
#
# Then (SWAP=1, the default) a third run against our server only: under 64 connections the champion alias moves
# v1 -> v2 (zero failed requests expected, and no response with v1 once a wrk thread has seen v2 apart from requests
# already in flight), then to v3 whose artifact bytes were corrupted after registration (v2 keeps serving, /readyz
# stays 200, /metrics shows one failed reload).
#
# Needs: dotnet, /usr/bin/python3 with python3-sklearn/fastapi/uvicorn/uvloop/httptools, wrk, taskset, curl; the file
# model store (CtrFallback:Store:Path) registered by AddCtrFallback. Every wait is bounded; the servers started here
# are stopped here by pid. Env: ROWS, DURATION, DURATION1, WARMUP, PORT, BASE_PORT, BASELINE (folder), KEEP=1.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$REPO/benchmarks/load"
PY=/usr/bin/python3
ROWS=${ROWS:-200000}
DURATION=${DURATION:-20s}
DURATION1=${DURATION1:-10s}
# 20 s, for both servers: pinned to one core, .NET's tier-up JIT competes with the requests it is warming, and 5 s left it
# short of steady state (19.4x and a 993 µs p99 at 5 s, against 29.4x and 713 µs at 20 s, one run each).
WARMUP=${WARMUP:-20s}
PORT=${PORT:-18090}
BASE_PORT=${BASE_PORT:-18091}
SWAP=${SWAP:-1}
SERVER_CPU=0
WRK_CPU=1
BASELINE=${BASELINE:-}
for candidate in "$REPO/../shared/baseline" "$REPO/../../shared/baseline"; do
  if [ -z "$BASELINE" ] && [ -f "$candidate/serve.py" ]; then BASELINE=$candidate; fi
done
[ -n "$BASELINE" ] || { echo "no baseline folder (set BASELINE=.../shared/baseline)"; exit 1; }
for tool in dotnet wrk taskset curl; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
for p in "$PORT" "$BASE_PORT"; do
  if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "port $p already in use"; exit 1; fi
done

WORK=$(mktemp -d /tmp/ctrfallback-load.XXXXXX)
# shellcheck source=server.sh
. "$REPO/benchmarks/load/server.sh"
finish() {
  stop_server
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap finish EXIT

wait_ready() { # url, seconds
  for _ in $(seq $(( $2 * 10 ))); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "server died:"; tail -20 "$WORK/server.log"; exit 1; }
    sleep 0.1
  done
  echo "not ready after $2 s: $1"; tail -20 "$WORK/server.log"; exit 1
}

wrk_run() { # label, url, threads, conns, duration, script -> prints the RESULT line
  taskset -c "$WRK_CPU" timeout 300 wrk -t"$3" -c"$4" -d"$WARMUP" --timeout 10s -s "$6" "$2" >/dev/null
  local line
  line=$(taskset -c "$WRK_CPU" timeout 300 wrk -t"$3" -c"$4" -d"$5" --timeout 10s --latency -s "$6" "$2" | grep -E '^(RESULT|SWAP)')
  echo "$1 $line" | tee -a "$WORK/results.txt"
}

echo "== building (Release)"
timeout 900 dotnet build "$REPO/samples/CtrFallback.InferenceServer" -c Release -v quiet -nologo >/dev/null
timeout 900 dotnet build "$REPO/samples/CtrFallback.Cli" -c Release -v quiet -nologo >/dev/null
CLI="$REPO/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback.dll"
SERVER_DIR="$REPO/samples/CtrFallback.InferenceServer/bin/Release/net10.0"

echo "== data: $ROWS generated rows, the same file for both stacks"
cp -r "$BASELINE" "$WORK/baseline"
mkdir -p "$WORK/baseline/data"
DATA="$WORK/data.tsv"
timeout 600 dotnet "$CLI" generate --rows "$ROWS" --out "$DATA" --seed 42
timeout 600 "$PY" "$WORK/baseline/make_requests.py" --data "$DATA" --out "$WORK/requests.jsonl" --count 2000 --lua "$WORK/post.lua" --lua-count 16

echo "== training ours (3 registrations: v1, v2, v3) and the baseline"
STORE="$WORK/store"
timeout 900 dotnet "$CLI" bench --json --data "$DATA" --store "$STORE" | tee "$WORK/bench.json"
if [ "$SWAP" = 1 ]; then
  for _ in 2 3; do timeout 900 dotnet "$CLI" bench --json --data "$DATA" --store "$STORE" --calls 10000 --seconds 0.2 >/dev/null; done
  # Point the champion back at v1 the way the store does it: write beside, rename over.
  printf '{"version":1,"setAt":"%s"}' "$(date -u +%FT%TZ)" >"$STORE/ctr/aliases/.champion.tmp"
  mv -f "$STORE/ctr/aliases/.champion.tmp" "$STORE/ctr/aliases/champion"
fi
(cd "$WORK/baseline" && OMP_NUM_THREADS=1 timeout 1800 "$PY" train.py --data "$DATA" --out data/model.joblib) | tail -5

echo "== ours: CtrFallback.InferenceServer on cpu $SERVER_CPU"
mapfile -t IMAGE_ENV < <(image_env)
(cd "$SERVER_DIR" && exec env "${IMAGE_ENV[@]}" taskset -c "$SERVER_CPU" dotnet CtrFallback.InferenceServer.dll --store "$STORE" \
   --poll-interval 00:00:01 --urls "http://127.0.0.1:$PORT") >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "http://127.0.0.1:$PORT/readyz" 60
echo "sample: $(curl -fsS -H 'Content-Type: application/json' -d "$(head -1 "$WORK/requests.jsonl")" "http://127.0.0.1:$PORT/predict")"
wrk_run "ours  c64" "http://127.0.0.1:$PORT/predict" 2 64 "$DURATION" "$WORK/post.lua"
wrk_run "ours  c1 " "http://127.0.0.1:$PORT/predict" 1 1 "$DURATION1" "$WORK/post.lua"

if [ "$SWAP" = 1 ]; then
  echo "== ours under load while the champion moves v1 -> v2 -> v3 (corrupted)"
  V3="$STORE/ctr/versions/3/model.ctrfallback"
  chmod u+w "$V3" 2>/dev/null || true
  "$PY" - "$V3" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xFF
open(p, "wb").write(bytes(b))
PYEOF
  SWAP_SECONDS=${SWAP_SECONDS:-15}
  (
    sleep $(( SWAP_SECONDS / 3 ))
    printf '{"version":2,"setAt":"%s"}' "$(date -u +%FT%TZ)" >"$STORE/ctr/aliases/.champion.tmp"
    mv -f "$STORE/ctr/aliases/.champion.tmp" "$STORE/ctr/aliases/champion"
    sleep $(( SWAP_SECONDS / 3 ))
    printf '{"version":3,"setAt":"%s"}' "$(date -u +%FT%TZ)" >"$STORE/ctr/aliases/.champion.tmp"
    mv -f "$STORE/ctr/aliases/.champion.tmp" "$STORE/ctr/aliases/champion"
  ) &
  MOVER=$!
  POST_LUA="$WORK/post.lua" taskset -c "$WRK_CPU" timeout 120 wrk -t2 -c64 -d"${SWAP_SECONDS}s" --timeout 10s --latency \
    -s "$HERE/versions.lua" "http://127.0.0.1:$PORT/predict" | grep '^SWAP' | sed 's/^/ours  swap /' | tee -a "$WORK/results.txt"
  wait "$MOVER"
  echo "readyz after the corrupt v3: HTTP $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")"
  echo "serving: $(curl -fsS -H 'Content-Type: application/json' -d "$(head -1 "$WORK/requests.jsonl")" "http://127.0.0.1:$PORT/predict")"
  curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -E '^ctrfallback_serving_' | sed 's/^/  /'
  grep -E 'Could not load|Serving model' "$WORK/server.log" | cut -c1-220 | sed 's/^/  log: /' || true
fi
stop_server

echo "== baseline: FastAPI/uvicorn on cpu $SERVER_CPU"
(cd "$WORK/baseline" && OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MODEL_PATH=data/model.joblib exec taskset -c "$SERVER_CPU" \
   "$PY" -m uvicorn serve:app --host 127.0.0.1 --port "$BASE_PORT" --workers 1 --loop uvloop --http httptools \
   --no-access-log --log-level warning) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
wait_ready "http://127.0.0.1:$BASE_PORT/healthz" 120
echo "sample: $(curl -fsS -H 'Content-Type: application/json' -d "$(head -1 "$WORK/requests.jsonl")" "http://127.0.0.1:$BASE_PORT/predict")"
wrk_run "base  c64" "http://127.0.0.1:$BASE_PORT/predict" 2 64 "$DURATION" "$WORK/post.lua"
wrk_run "base  c1 " "http://127.0.0.1:$BASE_PORT/predict" 1 1 "$DURATION1" "$WORK/post.lua"
stop_server

echo "== summary (server on 1 core, wrk on the other; latency in microseconds)"
awk '
  /^(ours|base) +c/ {
    side=$1; conns=$2
    for (i = 3; i <= NF; i++) { split($i, kv, "="); v[side, conns, kv[1]] = kv[2] }
  }
  END {
    printf "%-10s %12s %10s %10s %10s %8s\n", "side conns", "req/s", "p50", "p99", "p99.9", "non2xx"
    n = split("ours c64,base c64,ours c1,base c1", rows, ",")
    for (r = 1; r <= n; r++) {
      split(rows[r], k, " ")
      printf "%-10s %12.0f %10d %10d %10d %8d\n", rows[r], v[k[1], k[2], "rps"], v[k[1], k[2], "lat_us_p50"], v[k[1], k[2], "p99"], v[k[1], k[2], "p999"], v[k[1], k[2], "non2xx"]
    }
    printf "req/s ratio ours/baseline: %.1fx at 64 connections, %.1fx at 1 connection\n", v["ours","c64","rps"] / v["base","c64","rps"], v["ours","c1","rps"] / v["base","c1","rps"]
    printf "ours p99 at 1 connection vs baseline p50 at 1 connection: %d us vs %d us\n", v["ours","c1","p99"], v["base","c1","lat_us_p50"]
  }' "$WORK/results.txt"
