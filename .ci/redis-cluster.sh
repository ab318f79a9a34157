#!/usr/bin/env bash
# A three-node Redis Cluster on loopback for the tests (CI and local development alike):
#   .ci/redis-cluster.sh            start it, or leave it running when it is already healthy
#   .ci/redis-cluster.sh stop       stop the nodes and remove their files
# Prints the REDIS_CLUSTER_URL to hand to `npm test`. Ports: REDIS_CLUSTER_PORTS (default "7101 7102 7103");
# files: REDIS_CLUSTER_DIR (default /tmp/oauth-hub-redis-cluster). A port held by anything that is not one of
# these nodes is never touched: the script stops with a message instead.
set -euo pipefail

read -r -a ports <<<"${REDIS_CLUSTER_PORTS:-7101 7102 7103}"
dir="${REDIS_CLUSTER_DIR:-/tmp/oauth-hub-redis-cluster}"
cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# Is the server on this port one of ours (its working directory is under $dir)?
ours() { [ "$(cli "$1" config get dir 2>/dev/null | sed -n 2p)" = "$dir/$1" ]; }
answers() { cli "$1" ping >/dev/null 2>&1; }

healthy() {
  for port in "${ports[@]}"; do
    answers "$port" && ours "$port" || return 1
    info="$(cli "$port" cluster info 2>/dev/null)" || return 1
    grep -q '^cluster_state:ok' <<<"$info" || return 1
    grep -q "^cluster_known_nodes:${#ports[@]}" <<<"$info" || return 1
  done
}

stop_nodes() {
  for port in "${ports[@]}"; do
    if answers "$port"; then
      ours "$port" || { echo "FAIL: 127.0.0.1:$port is taken by a server that is not this test cluster" >&2; exit 1; }
      cli "$port" shutdown nosave >/dev/null 2>&1 || true
    fi
  done
  for _ in $(seq 1 50); do
    alive=0
    for port in "${ports[@]}"; do answers "$port" && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  rm -rf "$dir"
}

url() { local IFS=,; echo "${ports[*]/#/redis://127.0.0.1:}"; }

if [ "${1:-start}" = stop ]; then
  stop_nodes
  exit 0
fi

if healthy; then
  echo "REDIS_CLUSTER_URL=$(url)"
  exit 0
fi

stop_nodes
for port in "${ports[@]}"; do
  mkdir -p "$dir/$port"
  redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file "$dir/$port/nodes.conf" \
    --cluster-node-timeout 5000 --save "" --appendonly no --dir "$dir/$port" --logfile "$dir/$port/redis.log" --daemonize yes
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 50); do answers "$port" && break; sleep 0.1; done
  answers "$port" || { echo "FAIL: redis-server on port $port did not start (see $dir/$port/redis.log)" >&2; exit 1; }
done
redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
for _ in $(seq 1 100); do
  healthy && break
  sleep 0.1
done
healthy || { echo "FAIL: the Redis Cluster did not reach cluster_state:ok" >&2; exit 1; }
echo "REDIS_CLUSTER_URL=$(url)"
