#!/usr/bin/env bash
# Runs Loupe's tests on this machine: makes sure PostgreSQL (Debian's package) and Keycloak (from Maven
# Central, with Loupe's realm) are running, runs `mvn -B verify` with any extra arguments given, and stops
# whatever this script started, even when the tests fail.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "$0")/lib.sh"

started_postgres=""
keycloak_pid_file="$LOUPE_HOME/test-keycloak.pid"

cleanup() {
  stop_pid_file "$keycloak_pid_file"
  if [ -n "$started_postgres" ]; then
    log "stopping the PostgreSQL cluster this run started"
    stop_debian_postgres
  fi
}
trap cleanup EXIT

started_postgres="$(ensure_debian_postgres)"
# Test-only login, used by the %test profiles; it owns nothing but the test databases. They are created
# afresh for every run: the tests' signing keys live under target/, and checkpoints signed by an earlier
# checkout's key must not be mistaken for forgeries.
fresh_database loupe_test loupe-test loupe_dataset_test
fresh_database loupe_test loupe-test loupe_training_test
fresh_database loupe_test loupe-test loupe_governance_test
fresh_database loupe_test loupe-test loupe_serving_test
# The governance-service's tests run as an application role that may only read and append.
ensure_role loupe_governance_app_test loupe-test
# The service clients' secrets: Keycloak imports them, the tests use them for service-account tokens.
ensure_local_secrets

if keycloak_running; then
  log "using the Keycloak already running at $KEYCLOAK_URL"
else
  mkdir -p "$LOUPE_HOME"
  start_keycloak "$keycloak_pid_file" "$LOUPE_HOME/test-keycloak.log"
fi

cd "$LOUPE_ROOT"
mvn -B verify "$@"
