#!/usr/bin/env bash
# The canary's AnalysisTemplate against a real Prometheus: Debian's `prometheus` (apt-get install prometheus) on
# 127.0.0.1 scrapes two inference servers from one file store, one pinned to v1 (the "stable" ReplicaSet) and one
# pinned to v2 (the "canary"), each target labelled as Argo's pods are (rollouts_pod_template_hash, role). Then every
# query of samples/deploy/canary/analysis-template.yaml is evaluated through Prometheus's HTTP API and its success
# condition checked, twice: with the same healthy traffic on both servers (every condition must pass), and after the
# canary got a drifted stream (unseen ids in every categorical field, I1-I6 missing: PSI, unseen share and missing
# share must fail).
#
#   benchmarks/canary/analysis.sh          # prints one table per phase; exit 0 when both phases came out as expected
#   KEEP=1 benchmarks/canary/analysis.sh   # keep the work folder (store, logs, Prometheus data)
#
# Without the drift gauges (a server whose artifacts have no training profile) the drift queries return empty
# vectors and the script says so (UNEXPECTED, exit 1). Skips (exit 0, says so) without prometheus. Needs dotnet, python3 (with PyYAML), curl. Everything listens on
# 127.0.0.1; the servers and Prometheus started here are stopped here by pid.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$REPO/benchmarks/canary"
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || true)}
if [ -z "$PROMETHEUS" ]; then
  echo "SKIPPED: no prometheus binary (Debian: apt-get install prometheus); nothing was evaluated."
  exit 0
fi
for tool in dotnet python3 curl; do command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }; done

STABLE_PORT=${STABLE_PORT:-18191}
CANARY_PORT=${CANARY_PORT:-18192}
PROM_PORT=${PROM_PORT:-18190}
WINDOW=${WINDOW:-2000}
WORK=$(mktemp -d /tmp/ctrfallback-canary-analysis.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building (Release)"
timeout 900 dotnet build "$REPO/samples/CtrFallback.InferenceServer" -c Release -v quiet -nologo >/dev/null
timeout 900 dotnet build "$REPO/samples/CtrFallback.Cli" -c Release -v quiet -nologo >/dev/null
CLI="$REPO/samples/CtrFallback.Cli/bin/Release/net10.0/ctrfallback.dll"
SERVER_DIR="$REPO/samples/CtrFallback.InferenceServer/bin/Release/net10.0"

echo "== two versions in one file store (two days of generated clicks from the same truth)"
STORE="$WORK/store"
for day in 1 2; do
  timeout 600 dotnet "$CLI" generate --rows 40000 --seed "$day" --out "$WORK/day$day.tsv" >/dev/null
  CtrFallback__Gate__MaxAucLoss=0.05 CtrFallback__Gate__MaxNormalizedEntropyIncrease=0.05 \
    timeout 900 dotnet "$CLI" train --data "$WORK/day$day.tsv" --store "$STORE" >/dev/null
done
timeout 600 dotnet "$CLI" generate --rows 20000 --seed 3 --out "$WORK/live.tsv" >/dev/null

start_server() { # port version role
  (cd "$SERVER_DIR" && exec env CtrFallback__Store__Path="$STORE" CtrFallback__Serving__Version="$2" \
    CtrFallback__Serving__Drift__SampleEvery=1 CtrFallback__Serving__Drift__Window="$WINDOW" \
    dotnet CtrFallback.InferenceServer.dll --urls "http://127.0.0.1:$1") >"$WORK/server-$3.log" 2>&1 &
  PIDS+=("$!")
}
start_server "$STABLE_PORT" 1 stable
start_server "$CANARY_PORT" 2 canary
for port in "$STABLE_PORT" "$CANARY_PORT"; do
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { echo "server on $port not ready:"; tail -20 "$WORK"/server-*.log; exit 1; }
  echo "   :$port serves $(curl -fs "http://127.0.0.1:$port/model" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["modelVersion"], "pinned", m["pinnedVersion"])')"
done

echo "== prometheus $("$PROMETHEUS" --version 2>&1 | head -1 | awk '{print $3}') on 127.0.0.1:$PROM_PORT, scraping both every second"
cat >"$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ctr-inference
    metrics_path: /metrics
    static_configs:
      # The labels Argo's pods carry, as kubernetes_sd relabelling would put them on the series.
      - targets: ["127.0.0.1:$STABLE_PORT"]
        labels: { rollouts_pod_template_hash: "stable-hash-v1", role: stable }
      - targets: ["127.0.0.1:$CANARY_PORT"]
        labels: { rollouts_pod_template_hash: "canary-hash-v2", role: canary }
YAML
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null || { echo "prometheus not ready:"; tail -20 "$WORK/prometheus.log"; exit 1; }

timeout 900 python3 "$HERE/evaluate.py" \
  --template "$REPO/samples/deploy/canary/analysis-template.yaml" \
  --prometheus "http://127.0.0.1:$PROM_PORT" \
  --stable "http://127.0.0.1:$STABLE_PORT" --canary "http://127.0.0.1:$CANARY_PORT" \
  --stable-hash stable-hash-v1 --canary-hash canary-hash-v2 \
  --live "$WORK/live.tsv" --window "$WINDOW"
