#!/usr/bin/env bash
# Loupe's main job in one command: starts the local stack on its embedded defaults (unless it is up already), then
# tells the whole story through the REST API with the demo users: import a synthetic dataset and read its
# validation report, freeze a version, fine-tune the tiny base model with LoRA, compare before and after, approve
# (four eyes), deploy, ask the deployment about pictures it never saw, verify the audit trail. The stack keeps
# running afterwards; deploy/local/stack.sh down stops it.
#
#   deploy/local/demo.sh [--scenes N] [--epochs N] [--held-out N]     (defaults 600, 4, 8)
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "$0")/lib.sh"

if curl -fsS -o /dev/null http://localhost:8080/q/health/ready 2>/dev/null; then
  log "using the Loupe stack already running"
else
  "$LOUPE_ROOT/deploy/local/stack.sh" up
fi

# Java's single-file launcher runs the story with the engine's classes (synthetic scenes, Jackson) on the class path.
exec java -cp "$LOUPE_ROOT/vlm-engine/target/classes:$LOUPE_ROOT/vlm-engine/target/worker-lib/*" \
  "$LOUPE_ROOT/deploy/local/Demo.java" "$@"
