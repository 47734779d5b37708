#!/usr/bin/env bash
# Runs Loupe on this machine: PostgreSQL (embedded by default), Keycloak with Loupe's realm, and every
# service as a built jar, in the background, with logs and PID files under .local/stack.
#
#   deploy/local/stack.sh up       build if needed, start everything, wait until each service is ready
#   deploy/local/stack.sh down     stop exactly what `up` started
#   deploy/local/stack.sh status   what is running, with health and memory
#   deploy/local/stack.sh start-service NAME   start one service of a running stack again (after it
#                                  crashed or was killed) and wait until it is ready
#
# Environment: LOUPE_DB_URL=postgresql://HOST:PORT uses an existing PostgreSQL server instead of the
# embedded one (it must already have the logins and databases loupe_dataset, loupe_training,
# loupe_governance and loupe_serving and the login loupe_governance_app, passwords in LOUPE_DATASET_DB_PASSWORD,
# LOUPE_TRAINING_DB_PASSWORD, LOUPE_GOVERNANCE_DB_PASSWORD, LOUPE_SERVING_DB_PASSWORD and
# LOUPE_GOVERNANCE_DB_APP_PASSWORD).
# A Keycloak already serving the loupe realm on port 8180 is used as it is.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "$0")/lib.sh"

STACK_DIR="${LOUPE_STACK_DIR:-$LOUPE_HOME/stack}"
RUN_DIR="$STACK_DIR/run"
LOG_DIR="$STACK_DIR/logs"
EMBEDDED_DB_PORT="${LOUPE_EMBEDDED_DB_PORT:-15432}"
# name:port, in start order; the gateway last.
SERVICES=(dataset-service:8081 training-service:8082 serving-service:8083 governance-service:8084 gateway:8080)

service_jar() { echo "$LOUPE_ROOT/$1/target/quarkus-app/quarkus-run.jar"; }
postgres_launcher_dir() { echo "$LOUPE_ROOT/deploy/local/embedded-postgres/target"; }

build_if_needed() {
  local entry missing=""
  for entry in "${SERVICES[@]}"; do
    [ -f "$(service_jar "${entry%%:*}")" ] || missing=yes
  done
  [ -d "$(postgres_launcher_dir)/lib" ] || missing=yes
  [ -d "$LOUPE_ROOT/vlm-engine/target/worker-lib" ] || missing=yes
  if [ -n "$missing" ]; then
    log "building Loupe (mvn package, tests skipped; run deploy/local/test.sh for the tests)"
    (cd "$LOUPE_ROOT" && mvn -B -q package -DskipTests) >&2 || die "build failed"
  fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_embedded_postgres() {
  local launcher log_file="$LOG_DIR/postgres.log" started=$SECONDS
  launcher="$(postgres_launcher_dir)"
  port_free "$EMBEDDED_DB_PORT" || die "port $EMBEDDED_DB_PORT is taken; set LOUPE_EMBEDDED_DB_PORT"
  log "starting embedded PostgreSQL on port $EMBEDDED_DB_PORT (data: $STACK_DIR/postgres-data)"
  (
    exec setsid java -Xmx128m -cp "$launcher/loupe-local-postgres-0.1.0-SNAPSHOT.jar:$launcher/lib/*" \
      dev.loupe.local.EmbeddedPostgresMain --port "$EMBEDDED_DB_PORT" --data-dir "$STACK_DIR/postgres-data" \
      --database loupe_dataset=LOUPE_DATASET_DB_PASSWORD --database loupe_training=LOUPE_TRAINING_DB_PASSWORD \
      --database loupe_governance=LOUPE_GOVERNANCE_DB_PASSWORD --database loupe_serving=LOUPE_SERVING_DB_PASSWORD \
      --login loupe_governance_app=LOUPE_GOVERNANCE_DB_APP_PASSWORD \
      < /dev/null > "$log_file" 2>&1
  ) &
  echo $! > "$RUN_DIR/postgres.pid"
  until grep -q "Loupe embedded PostgreSQL ready" "$log_file" 2>/dev/null; do
    pid_alive "$RUN_DIR/postgres.pid" || { tail -n 30 "$log_file" >&2; die "embedded PostgreSQL failed to start"; }
    (( SECONDS - started > 90 )) && die "embedded PostgreSQL not ready in 90 s"
    sleep 0.5
  done
}

start_service() {
  local name="$1" port="$2" upper
  upper="$(echo "${name%-service}" | tr 'a-z-' 'A-Z_')"
  port_free "$port" || die "port $port for $name is taken (is another Loupe running?)"
  (
    export "LOUPE_${upper}_PORT=$port" LOUPE_DB_HOST="$DB_HOST" LOUPE_DB_PORT="$DB_PORT"
    # The local KMS key files and the audit checkpoint files outside the database.
    export LOUPE_KMS_LOCAL_KEY_DIR="$STACK_DIR/kms" LOUPE_GOVERNANCE_CHECKPOINTS_DIR="$STACK_DIR/audit-checkpoints"
    # The encrypted images and the encrypted spool of uploads while they are imported.
    export LOUPE_DATASET_BLOBS_DIR="$STACK_DIR/dataset-blobs" LOUPE_DATASET_IMPORTS_SPOOL_DIR="$STACK_DIR/dataset-spool"
    # The folder base models are registered from, and the repository's tiny base model, registered at start.
    export LOUPE_TRAINING_MODELS_ROOT="$STACK_DIR/models"
    export LOUPE_TRAINING_TINY_BASE_PATH="$LOUPE_ROOT/models/loupe-tiny-base"
    # Each fine-tuning job's worker: a child JVM of the training-service on the engine's class path, writing its
    # checkpoints and result under the jobs folder.
    export LOUPE_TRAINING_JOBS_ROOT="$STACK_DIR/training-jobs" LOUPE_TRAINING_MODEL_VERSIONS_ROOT="$STACK_DIR/model-versions"
    export LOUPE_TRAINING_WORKER_CLASSPATH="$LOUPE_ROOT/vlm-engine/target/classes:$LOUPE_ROOT/vlm-engine/target/worker-lib/*"
    # Only the gateway faces the network; the services behind it listen on loopback.
    [ "$name" = gateway ] || export QUARKUS_HTTP_HOST=127.0.0.1
    # The serving-service runs the models in its own process: DJL must not try to download anything.
    local java_options=(-Xmx256m -XX:+UseSerialGC)
    [ "$name" = serving-service ] && java_options+=(-Dai.djl.offline=true)
    # libtorch's threads for inference (LOUPE_SERVING_THREADS; its default is one per core).
    [ "$name" = serving-service ] && [ -n "${LOUPE_SERVING_THREADS:-}" ] \
      && java_options+=("-Dai.djl.pytorch.num_threads=$LOUPE_SERVING_THREADS")
    exec setsid java "${java_options[@]}" -jar "$(service_jar "$name")" < /dev/null > "$LOG_DIR/$name.log" 2>&1
  ) &
  echo $! > "$RUN_DIR/$name.pid"
}

wait_ready() {
  local name="$1" port="$2" started="$3"
  if ! wait_for_url "http://localhost:$port/q/health/ready" 120; then
    tail -n 30 "$LOG_DIR/$name.log" >&2
    die "$name did not become ready in 120 s (log: $LOG_DIR/$name.log)"
  fi
  log "$name ready on port $port after $(( SECONDS - started )) s"
}

# Sets DB_HOST and DB_PORT: LOUPE_DB_URL's server, or the embedded one.
database_address() {
  if [ -n "${LOUPE_DB_URL:-}" ]; then
    local hostport="${LOUPE_DB_URL#postgresql://}"
    hostport="${hostport%%/*}"
    DB_HOST="${hostport%%:*}"
    DB_PORT="${hostport##*:}"
  else
    DB_HOST=127.0.0.1
    DB_PORT="$EMBEDDED_DB_PORT"
  fi
}

start_one_service() {
  local name="${1:-}" entry port=""
  for entry in "${SERVICES[@]}"; do
    [ "${entry%%:*}" = "$name" ] && port="${entry##*:}"
  done
  [ -n "$port" ] || die "no service named '$name'"
  [ -f "$RUN_DIR/keycloak.pid" ] || keycloak_running || die "the stack is not up: run '$0 up' first"
  pid_alive "$RUN_DIR/$name.pid" && die "$name is already running"
  ensure_local_secrets
  database_address
  local started=$SECONDS
  start_service "$name" "$port"
  wait_ready "$name" "$port" "$started"
}

up() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if ls "$RUN_DIR"/*.pid > /dev/null 2>&1; then
    die "the stack is already up (or was not stopped): run '$0 down' first"
  fi
  build_if_needed
  ensure_local_secrets
  # Anything that fails from here on stops what was started.
  trap 'log "start-up failed; stopping what was started"; down' ERR EXIT

  database_address
  if [ -n "${LOUPE_DB_URL:-}" ]; then
    log "using the PostgreSQL server at $DB_HOST:$DB_PORT"
  else
    start_embedded_postgres
  fi

  if keycloak_running; then
    log "using the Keycloak already running at $KEYCLOAK_URL (down will leave it running)"
  else
    start_keycloak "$RUN_DIR/keycloak.pid" "$LOG_DIR/keycloak.log"
  fi

  local entry started=$SECONDS
  for entry in "${SERVICES[@]}"; do
    start_service "${entry%%:*}" "${entry##*:}"
  done
  for entry in "${SERVICES[@]}"; do
    wait_ready "${entry%%:*}" "${entry##*:}" "$started"
  done
  trap - ERR EXIT

  cat <<INFO

Loupe is up.
  REST API        http://localhost:8080/v1        (OpenAPI UI: http://localhost:8080/q/swagger-ui)
  Keycloak        $KEYCLOAK_URL           (realm loupe; local users, password dev-password)
  Logs and PIDs   $STACK_DIR
  Stop            $0 down

  TOKEN=\$(curl -s -d grant_type=password -d client_id=loupe-cli -d username=acme-steward \\
      -d password=dev-password $KEYCLOAK_URL/realms/loupe/protocol/openid-connect/token \\
      | sed -E 's/.*"access_token":"([^"]+)".*/\\1/')
  curl -H "Authorization: Bearer \$TOKEN" http://localhost:8080/v1/datasets
INFO
}

# Stops what `up` started, newest first, and fails if any of it is still there afterwards.
down() {
  local entry i ports=()
  for (( i=${#SERVICES[@]}-1; i>=0; i-- )); do
    entry="${SERVICES[$i]}"
    [ -f "$RUN_DIR/${entry%%:*}.pid" ] && ports+=("${entry##*:}")
    stop_pid_file "$RUN_DIR/${entry%%:*}.pid"
  done
  [ -f "$RUN_DIR/keycloak.pid" ] && ports+=("$KEYCLOAK_PORT")
  stop_pid_file "$RUN_DIR/keycloak.pid"
  [ -f "$RUN_DIR/postgres.pid" ] && ports+=("$EMBEDDED_DB_PORT")
  stop_pid_file "$RUN_DIR/postgres.pid"
  for i in "${ports[@]}"; do
    port_free "$i" || die "something still listens on port $i after stopping"
  done
  log "stopped"
}

status() {
  local file name pid rss
  shopt -s nullglob
  local files=("$RUN_DIR"/*.pid)
  [ ${#files[@]} -eq 0 ] && { echo "Loupe is not running (nothing started by $0)"; return 0; }
  for file in "${files[@]}"; do
    name="$(basename "$file" .pid)"
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
      rss="$(ps -o rss= --ppid "$pid" --pid "$pid" | awk '{s+=$1} END {printf "%d MB", s/1024}')"
      echo "$name: running (pid $pid, RSS $rss)"
    else
      echo "$name: NOT running (stale pid file $file)"
    fi
  done
  for entry in "${SERVICES[@]}"; do
    printf '%s health: %s\n' "${entry%%:*}" \
      "$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:${entry##*:}/q/health/ready" || true)"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  start-service) start_one_service "${2:-}" ;;
  *) echo "usage: $0 up|down|status|start-service NAME" >&2; exit 2 ;;
esac
