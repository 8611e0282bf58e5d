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
# the pair exporter, then the demo pair's series, before the lab goes down (docs/monitoring.md)
MONITOR_PORT="${DEMO_MONITOR_PORT:-10120}"
run_playbook monitor -e "chainlink_monitor_port=$MONITOR_PORT"
if [ -f playbooks/monitor.yml ]; then
  printf '\n== the demo pair in http://127.0.0.1:%s/metrics ==\n' "$MONITOR_PORT"
  sleep 6  # one read interval after the exporter started: every series is there
  python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())' \
    "http://127.0.0.1:$MONITOR_PORT/metrics" | grep -E '^chainlink_pair_' | grep -v -E '^chainlink_pair_(reads|statements|read_duration|last_read)'
fi
printf '\ndemo: done\n'
