#!/usr/bin/env bash
# Cold start: how fast a freshly started inference server answers in its first seconds, against itself 30 s later.
# A promotion restarts every pod (Argo Rollouts), so each rollout lands traffic on cold processes.
#
# For each variant and repetition: start the server pinned to ONE core (cpu 0), wait for /readyz, then at once drive
# /predict with wrk (64 connections, pinned to cpu 1) for FIRST seconds ("first"), idle until 30 s after ready, and
# drive it again for FIRST seconds ("after30"). Prints req/s of both and first/after30.
#
#   benchmarks/load/coldstart.sh                         # every variant, 3 repetitions each, interleaved
#   VARIANTS="shipped nowarmup" REPS=5 benchmarks/load/coldstart.sh
#
# Variants (environment of the server process, or how it was built):
#   shipped      as the image runs it: the csproj's tiering on, quick JIT off, PGO off; the runtime environment the
#                inference server's Dockerfile sets (DOTNET_TC_CallCountingDelayMs=0: tier-up starts at once;
#                DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1); a
#                request-path warm-up before /readyz of at least 1 s and until no method was compiled for 1 s (at most
#                15 s more)
#   delayed      shipped without DOTNET_TC_CallCountingDelayMs: the runtime's default tiering delay (tier-up only
#                after 100 ms, on one core 1 s, without a newly called method)
#   fixed1s      delayed with a fixed 1 s warm-up (not waiting for the JIT to settle)
#   nowarmup     delayed without the request warm-up (CtrFallback__Server__Warmup=00:00:00; model warm-up only)
#   tiered       the .NET default: quick JIT and PGO on (tier-0, then PGO tier-up), no request warm-up
#   tieredwarm   tiered + an 8 s request warm-up before /readyz
#   notiering    DOTNET_TieredCompilation=0 + 1 s warm-up (full speed at once, but a quarter lower warm rate)
#   qj0          quick JIT off, PGO on, 1 s warm-up
#   qj0nopgo     quick JIT off, PGO off, 1 s warm-up (what shipped is), spelled as environment variables
#   qj0nopgo5    qj0nopgo with a 5 s warm-up
#   nopgo        tiered + DOTNET_TieredPGO=0
#   nodelay      tiered + DOTNET_TC_CallCountingDelayMs=0 (tier-up starts at once, not after 100 ms without new tier-0 code)
#   r2r          tiered, the server published with ReadyToRun
#
# Needs dotnet, wrk, taskset, curl. Env: ROWS (training log, default 50000), FIRST (default 5), REPS (default 3),
# PORT. Every wait is bounded; the server started here is stopped here by pid.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROWS=${ROWS:-50000}
FIRST=${FIRST:-5}
REPS=${REPS:-3}
PORT=${PORT:-18095}
VARIANTS=${VARIANTS:-"shipped delayed tiered"}
SERVER_CPU=0
WRK_CPU=1
for tool in dotnet wrk taskset curl python3; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done
if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then echo "port $PORT already in use"; exit 1; fi

WORK=$(mktemp -d /tmp/ctrfallback-coldstart.XXXXXX)
# shellcheck source=server.sh
. "$REPO/benchmarks/load/server.sh"
finish() { stop_server; if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi; }
trap finish EXIT

echo "== building (Release), and a ReadyToRun publish"
timeout 900 dotnet build "$REPO/samples/CtrFallback.Cli" -c Release -v quiet -nologo >/dev/null
timeout 900 dotnet build "$REPO/samples/CtrFallback.InferenceServer" -c Release -v quiet -nologo >/dev/null
case " $VARIANTS " in *" r2r "*)
  timeout 900 dotnet publish "$REPO/samples/CtrFallback.InferenceServer" -c Release -r linux-x64 --self-contained false \
    -p:PublishReadyToRun=true -o "$WORK/r2r" -v quiet -nologo >/dev/null ;;
esac
CLI="$REPO/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback.dll"
BUILT="$REPO/samples/CtrFallback.InferenceServer/bin/Release/net10.0"

echo "== a champion and request bodies from $ROWS generated rows"
DATA="$WORK/data.tsv"
STORE="$WORK/store"
timeout 600 dotnet "$CLI" generate --rows "$ROWS" --out "$DATA" --seed 42 >/dev/null
timeout 900 dotnet "$CLI" train --data "$DATA" --format criteo --store "$STORE" >/dev/null
# One request body per log row (the first 2,000 rows), as the load test's wrk script cycles through them.
python3 - "$DATA" "$WORK/post.lua" <<'PYEOF'
import json, sys
rows = [l.rstrip("\n").split("\t") for _, l in zip(range(2000), open(sys.argv[1]))]
bodies = []
for r in rows:
    body = {f"I{i}": (int(v) if v else None) for i, v in enumerate(r[1:14], 1)}
    body.update({f"C{i}": (v or None) for i, v in enumerate(r[14:40], 1)})
    bodies.append(json.dumps(body, separators=(",", ":")))
with open(sys.argv[2], "w") as f:
    f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nlocal bodies = {\n')
    for b in bodies:
        f.write("  [==[" + b + "]==],\n")
    f.write('}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[i])\nend\n')
PYEOF

rps() { # seconds -> prints requests/s of a wrk run against /predict
  taskset -c "$WRK_CPU" timeout 120 wrk -t2 -c64 -d"$1s" --timeout 10s -s "$WORK/post.lua" "http://127.0.0.1:$PORT/predict" \
    | awk '/Requests\/sec/ {print int($2)} /Non-2xx/ {print "non-2xx: " $0 > "/dev/stderr"}'
}

mapfile -t IMAGE_ENV < <(image_env)

run_variant() { # variant rep
  local dir=$BUILT envs=()
  case "$1" in
    shipped) envs=("${IMAGE_ENV[@]}") ;;
    delayed) mapfile -t envs < <(printf '%s\n' "${IMAGE_ENV[@]}" | grep -v '^DOTNET_TC_CallCountingDelayMs=') ;;
    nowarmup) envs=(CtrFallback__Server__Warmup=00:00:00 CtrFallback__Server__WarmupUntilJitSettles=00:00:00) ;;
    fixed1s) envs=(CtrFallback__Server__WarmupUntilJitSettles=00:00:00) ;;
    tiered) envs=(CtrFallback__Server__Warmup=00:00:00 DOTNET_TC_QuickJit=1 DOTNET_TC_QuickJitForLoops=1 DOTNET_TieredPGO=1) ;;
    tieredwarm) envs=(CtrFallback__Server__Warmup=00:00:08 DOTNET_TC_QuickJit=1 DOTNET_TC_QuickJitForLoops=1 DOTNET_TieredPGO=1) ;;
    notiering) envs=(CtrFallback__Server__Warmup=00:00:01 DOTNET_TieredCompilation=0) ;;
    qj0) envs=(CtrFallback__Server__Warmup=00:00:01 DOTNET_TieredCompilation=1 DOTNET_TC_QuickJit=0 DOTNET_TC_QuickJitForLoops=0) ;;
    qj0nopgo) envs=(CtrFallback__Server__Warmup=00:00:01 DOTNET_TieredCompilation=1 DOTNET_TC_QuickJit=0 DOTNET_TC_QuickJitForLoops=0 DOTNET_TieredPGO=0) ;;
    qj0nopgo5) envs=(CtrFallback__Server__Warmup=00:00:05 DOTNET_TieredCompilation=1 DOTNET_TC_QuickJit=0 DOTNET_TC_QuickJitForLoops=0 DOTNET_TieredPGO=0) ;;
    nopgo) envs=(CtrFallback__Server__Warmup=00:00:00 DOTNET_TieredCompilation=1 DOTNET_TieredPGO=0) ;;
    nodelay) envs=(CtrFallback__Server__Warmup=00:00:00 DOTNET_TieredCompilation=1 DOTNET_TC_CallCountingDelayMs=0) ;;
    r2r) envs=(CtrFallback__Server__Warmup=00:00:00 DOTNET_TieredCompilation=1); dir="$WORK/r2r" ;;
    *) echo "unknown variant $1"; exit 1 ;;
  esac
  local started=$(date +%s.%N)
  (cd "$dir" && exec env "${envs[@]}" taskset -c "$SERVER_CPU" dotnet CtrFallback.InferenceServer.dll --store "$STORE" \
     --urls "http://127.0.0.1:$PORT") >"$WORK/server-$1-$2.log" 2>&1 &
  SERVER_PID=$!
  local ready=
  for _ in $(seq 1200); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null; then ready=1; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$ready" ] || { echo "$1: not ready"; tail -20 "$WORK/server-$1-$2.log"; exit 1; }
  local ready_at=$(date +%s.%N)
  local first_ms; first_ms=$(curl -fsS -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
    -d "$(sed -n 's/^  \[==\[\(.*\)\]==\],$/\1/p' "$WORK/post.lua" | head -1)" "http://127.0.0.1:$PORT/predict" | python3 -c "import sys; print(round(float(sys.stdin.read()) * 1000, 1))")
  local first; first=$(rps "$FIRST")
  local wait_s; wait_s=$(python3 -c "import time; print(max(0.0, 30 - (time.time() - $ready_at)))")
  sleep "$wait_s"
  local after; after=$(rps "$FIRST")
  stop_server
  printf '%-10s rep %s  start->ready %5.2f s  first request %6.1f ms  first %ss %7d req/s  after 30 s %7d req/s  first/after30 %.2f\n' \
    "$1" "$2" "$(python3 -c "print($ready_at - $started)")" "$first_ms" "$FIRST" "$first" "$after" "$(python3 -c "print($first / $after)")" \
    | tee -a "$WORK/results.txt"
}

echo "== cold starts: server on cpu $SERVER_CPU, wrk on cpu $WRK_CPU, variants interleaved"
for rep in $(seq "$REPS"); do
  for v in $VARIANTS; do run_variant "$v" "$rep"; done
done
echo "== medians of first/after30"
python3 - "$WORK/results.txt" <<'PYEOF'
import re, statistics, sys, collections
by = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)\s+rep.*first request\s+([\d.]+) ms\s+first \d+s\s+(\d+) req/s\s+after 30 s\s+(\d+) req/s\s+first/after30 ([\d.]+)", line)
    if m: by[m.group(1)].append((int(m.group(3)), int(m.group(4)), float(m.group(5)), float(m.group(2))))
for v, runs in by.items():
    print(f"{v:<10} first {statistics.median(r[0] for r in runs):>8.0f} req/s  after30 {statistics.median(r[1] for r in runs):>8.0f} req/s  ratio median {statistics.median(r[2] for r in runs):.2f}  (runs: {', '.join(f'{r[2]:.2f}' for r in runs)})  first request median {statistics.median(r[3] for r in runs):.1f} ms")
PYEOF
