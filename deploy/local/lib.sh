# Shell functions shared by stack.sh, test.sh and .ci/run. Source it; it defines, it does not run.
# Everything it downloads or unpacks goes under $LOUPE_HOME (default: <repo>/.local), which git ignores.

LOUPE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOUPE_HOME="${LOUPE_HOME:-$LOUPE_ROOT/.local}"
KEYCLOAK_VERSION="26.5.6"
KEYCLOAK_PORT="${LOUPE_KEYCLOAK_PORT:-8180}"
KEYCLOAK_URL="http://localhost:$KEYCLOAK_PORT"
KEYCLOAK_HOME="$LOUPE_HOME/keycloak-$KEYCLOAK_VERSION"
SERVICE_CLIENTS=(dataset training serving governance gateway)

log() { printf '[loupe] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Keycloak starts faster on a newer JDK when the machine has one.
keycloak_java_home() {
  local candidate
  for candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64; do
    [ -x "$candidate/bin/java" ] && { echo "$candidate"; return; }
  done
  echo "${JAVA_HOME:-}"
}

# Waits until a URL answers 200, or fails after $2 seconds.
wait_for_url() {
  local url="$1" timeout="$2" started=$SECONDS
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    (( SECONDS - started > timeout )) && return 1
    sleep 1
  done
}

# Local-only secrets (service client secrets, database passwords), generated once per checkout.
ensure_local_secrets() {
  local file="$LOUPE_HOME/secrets.env" client name
  local names=(LOUPE_DATASET_DB_PASSWORD LOUPE_TRAINING_DB_PASSWORD LOUPE_GOVERNANCE_DB_PASSWORD
    LOUPE_GOVERNANCE_DB_APP_PASSWORD LOUPE_SERVING_DB_PASSWORD LOUPE_TRAINER_WORKER_CLIENT_SECRET)
  for client in "${SERVICE_CLIENTS[@]}"; do
    names+=("LOUPE_${client^^}_SERVICE_CLIENT_SECRET")
  done
  mkdir -p "$LOUPE_HOME"
  (
    umask 077
    touch "$file"
    for name in "${names[@]}"; do
      grep -q "^$name=" "$file" || echo "$name=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')" >> "$file"
    done
  )
  set -a
  # shellcheck disable=SC1090
  . "$file"
  set +a
}

# Unpacks Keycloak from Maven Central into $LOUPE_HOME (only the zip: no transitive downloads).
install_keycloak() {
  [ -x "$KEYCLOAK_HOME/bin/kc.sh" ] && return 0
  local repo zip
  # Some terminals' Maven wraps its output in colour codes even in batch mode: strip them.
  repo="$(cd "$LOUPE_ROOT" && mvn -B -q -N help:evaluate -Dexpression=settings.localRepository -DforceStdout \
    | sed 's/\x1b\[[0-9;]*m//g')" || die "could not ask Maven where its local repository is"
  zip="$repo/org/keycloak/keycloak-quarkus-dist/$KEYCLOAK_VERSION/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip"
  if [ ! -f "$zip" ]; then
    log "downloading Keycloak $KEYCLOAK_VERSION from Maven Central"
    (cd "$LOUPE_ROOT" && mvn -B -q -N dependency:get \
      -Dartifact="org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" -Dtransitive=false) >&2 \
      || die "could not download Keycloak"
  fi
  mkdir -p "$LOUPE_HOME"
  local tmp="$LOUPE_HOME/keycloak-unpack.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && unzip -q "$zip") || die "could not unpack Keycloak"
  mv "$tmp/keycloak-$KEYCLOAK_VERSION" "$KEYCLOAK_HOME" && rm -rf "$tmp"
}

keycloak_running() {
  curl -fsS -o /dev/null "$KEYCLOAK_URL/realms/loupe/.well-known/openid-configuration" 2>/dev/null
}

# Starts Keycloak in the background with Loupe's realm; writes its PID to $1. Logs go to $2.
start_keycloak() {
  local pid_file="$1" log_file="$2"
  install_keycloak
  ensure_local_secrets
  mkdir -p "$KEYCLOAK_HOME/data/import"
  # Keycloak imports a realm only when it has none: when the realm file changed since the last import, the
  # local (development) data is reset so that the new file takes effect.
  local realm="$LOUPE_ROOT/deploy/keycloak/loupe-realm.json" stamp="$KEYCLOAK_HOME/data/loupe-realm.sha256" sum
  sum="$(sha256sum "$realm" | cut -d' ' -f1)"
  if [ -d "$KEYCLOAK_HOME/data/h2" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    log "the realm file changed: resetting the local Keycloak data so that it is imported again"
    rm -rf "$KEYCLOAK_HOME/data/h2"
  fi
  echo "$sum" > "$stamp"
  cp "$realm" "$KEYCLOAK_HOME/data/import/"
  log "starting Keycloak on port $KEYCLOAK_PORT (log: $log_file)"
  # start-dev keeps its data in an embedded H2 file under data/; the realm is imported when absent.
  # The bootstrap admin is local to this machine and its password is generated here.
  (
    export JAVA_HOME
    JAVA_HOME="$(keycloak_java_home)"
    export KC_BOOTSTRAP_ADMIN_USERNAME=admin
    KC_BOOTSTRAP_ADMIN_PASSWORD="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
    export KC_BOOTSTRAP_ADMIN_PASSWORD
    exec setsid "$KEYCLOAK_HOME/bin/kc.sh" start-dev --http-port="$KEYCLOAK_PORT" --import-realm \
      < /dev/null > "$log_file" 2>&1
  ) &
  echo $! > "$pid_file"
  if ! wait_for_url "$KEYCLOAK_URL/realms/loupe/.well-known/openid-configuration" 240; then
    tail -n 30 "$log_file" >&2
    die "Keycloak did not become ready in 240 s"
  fi
  log "Keycloak ready at $KEYCLOAK_URL"
}

# Stops the process group whose leader's PID is in file $1, then removes the file.
stop_pid_file() {
  local pid_file="$1" pid i
  [ -f "$pid_file" ] || return 0
  pid="$(cat "$pid_file")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pid_file"
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs one SQL statement as the postgres superuser of the local Debian cluster; prints its rows.
psql_admin() {
  printf '%s\n' "$1" | as_root su postgres -c "psql -v ON_ERROR_STOP=1 -qAt"
}

# Makes sure a PostgreSQL server from Debian's packages is installed and running on port 5432.
# Prints "started" when this call started it (so the caller can stop it again), nothing otherwise.
ensure_debian_postgres() {
  if ! command -v pg_ctlcluster > /dev/null; then
    log "installing PostgreSQL from Debian's packages"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  local cluster version
  cluster="$(pg_lsclusters --no-header | awk '$3 == 5432 {print $1" "$2; exit}')"
  if [ -z "$cluster" ]; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    as_root pg_createcluster "$version" main --port 5432 >&2
    cluster="$version main"
  fi
  if ! pg_lsclusters --no-header | awk '$3 == 5432 {print $4}' | grep -q online; then
    log "starting PostgreSQL cluster $cluster"
    # shellcheck disable=SC2086
    as_root pg_ctlcluster $cluster start >&2
    echo started
  fi
}

stop_debian_postgres() {
  local cluster
  cluster="$(pg_lsclusters --no-header | awk '$3 == 5432 {print $1" "$2; exit}')"
  # shellcheck disable=SC2086
  [ -n "$cluster" ] && as_root pg_ctlcluster $cluster stop >&2 || true
}

# Creates a login role unless it exists. Arguments: role password.
ensure_role() {
  local role="$1" password="$2"
  if [ -z "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$role'")" ]; then
    psql_admin "CREATE ROLE $role LOGIN PASSWORD '$password'" > /dev/null
  fi
}

# Drops and creates a database owned by a login role (created if missing), so that a run starts from
# nothing left by an earlier one. Arguments: role password database.
fresh_database() {
  local role="$1" password="$2" database="$3"
  ensure_role "$role" "$password"
  psql_admin "DROP DATABASE IF EXISTS $database WITH (FORCE)" > /dev/null
  psql_admin "CREATE DATABASE $database OWNER $role" > /dev/null
}

