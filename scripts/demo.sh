#!/usr/bin/env bash
# The demo's main job, against the lab started by `lab/lab up`: deploy a pair, show its status,
# upgrade it with a graceful lease handover, show the status again. Each step runs when its
# playbook exists in this checkout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
INVENTORY="${DEMO_INVENTORY:-lab/inventory/one-host.yml}"
FROM="${DEMO_FROM_VERSION:-2.28.0}"
TO="${DEMO_TO_VERSION:-2.29.0}"

run_playbook() {  # run_playbook NAME [args...]
  local book="playbooks/$1.yml"; shift
  if [ ! -f "$book" ]; then
    printf 'demo: %s is not in this checkout yet; skipping\n' "$book"
    return 0
  fi
  printf '\n== ansible-playbook %s %s ==\n' "$book" "$*"
  ansible-playbook -i "$INVENTORY" "$book" "$@"
}

run_playbook deploy -e "chainlink_version=$FROM"
run_playbook status
run_playbook upgrade -e "chainlink_version=$TO"
run_playbook status
printf '\ndemo: done\n'
