# Sourced by the load scripts: stop the server they started (by pid, TERM then KILL, bounded).
SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "$SERVER_PID" ] && { wait "$SERVER_PID" 2>/dev/null || true; }
  SERVER_PID=
}

# The runtime environment the inference server's image sets (its Dockerfile's `ENV DOTNET_...` lines), so the scripts
# run the server as it is shipped.
image_env() {
  sed -n 's/^ENV \(DOTNET_[A-Za-z_]*=[^ ]*\)$/\1/p' "$REPO/samples/deploy/docker/inference-server.Dockerfile"
}
