#!/usr/bin/env bash
# Bring a fresh Debian/Ubuntu machine to the point where the demo and the tests can run:
# system packages, a running Docker engine, and the project's virtualenv. Idempotent: every
# step first checks whether it is already done, and a Docker engine that already answers is
# never touched.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${NODEOPS_VENV:-$ROOT/.venv}"
DOCKERD_LOG="${NODEOPS_DOCKERD_LOG:-/var/log/nodeops-dockerd.log}"
PYTHON="${PYTHON:-python3}"
# Debian package -> a command it provides, to decide what is missing.
declare -A PACKAGE_COMMANDS=(
  [docker.io]=dockerd
  [debootstrap]=debootstrap
  [postgresql-client]=psql
  [shellcheck]=shellcheck
  # the SSH lab (lab/lab ssh-up): an sshd of its own on loopback addresses
  [openssh-server]=/usr/sbin/sshd
  # promtool checks and tests the monitor's alert rules; prometheus scrapes the exporter in its integration test
  [prometheus]=promtool
)
# Debian packages without a command: what a Docker host's system Python needs to run the collection's modules
# there (docs/targets.md); the SSH lab uses this machine's /usr/bin/python3 as such a host.
# Checked by importing the module with the system Python (by its path, as a target runs it).
declare -A TARGET_PACKAGES=(
  [python3-requests]=requests  # community.docker's API client (docker_container, docker_image_info, log_wait)
  [python3-psycopg2]=psycopg2  # lock_info and lock_observer, on a host named by chainlink_database_check_host
)

say() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: ERROR: %s\n' "$*" >&2; exit 1; }

missing_packages() {
  local pkg
  for pkg in "${!PACKAGE_COMMANDS[@]}"; do
    command -v "${PACKAGE_COMMANDS[$pkg]}" >/dev/null 2>&1 || printf '%s\n' "$pkg"
  done | sort
  for pkg in "${!TARGET_PACKAGES[@]}"; do
    /usr/bin/python3 -c "import ${TARGET_PACKAGES[$pkg]}" >/dev/null 2>&1 || printf '%s\n' "$pkg"
  done | sort
}

install_packages() {
  local missing
  missing="$(missing_packages | tr '\n' ' ')"
  [ -z "${missing// /}" ] && { say "system packages present"; return; }
  if [ ! -r /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
    die "this is not a Debian-like system with apt-get. Install the equivalents of these Debian packages yourself, then rerun: ${missing% }"
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages: ${missing% }. Run as root, or install them first: sudo apt-get install -y ${missing% }"
  fi
  say "installing ${missing}"
  apt-get update -qq
  # shellcheck disable=SC2086  # word splitting is the point: one argument per package
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing} >/dev/null
}

docker_answers() { docker info >/dev/null 2>&1; }

start_docker() {
  if docker_answers; then
    say "Docker engine answers; leaving it as it is"
    return
  fi
  if [ "$(id -u)" -ne 0 ]; then
    die "no Docker engine answers and starting one needs root. Start it yourself (e.g. 'sudo systemctl start docker' or 'sudo dockerd &'), or add your user to the 'docker' group"
  fi
  command -v dockerd >/dev/null 2>&1 || die "dockerd not found: apt-get install -y docker.io"
  say "starting dockerd (log: ${DOCKERD_LOG})"
  # No systemd on these machines: run the engine in the background, detached from this shell.
  nohup setsid dockerd >>"${DOCKERD_LOG}" 2>&1 </dev/null &
  local pid=$! deadline=$((SECONDS + 60))
  until docker_answers; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      printf 'bootstrap: ERROR: the Docker engine did not start. Last lines of %s:\n' "${DOCKERD_LOG}" >&2
      tail -n 25 "${DOCKERD_LOG}" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  say "Docker engine is up (pid ${pid})"
}

create_venv() {
  local stamp="$VENV/.requirements-dev.sha256" want
  want="$(sha256sum "$ROOT/requirements-dev.txt" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/ansible-playbook" ]; then
    say "virtualenv up to date: ${VENV}"
    return
  fi
  say "creating virtualenv ${VENV}"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" || die "could not create a virtualenv with ${PYTHON}: apt-get install -y python3-venv"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -r "$ROOT/requirements-dev.txt"
  echo "$want" >"$stamp"
}

link_collection() {
  # ansible-core and Molecule find the collection by FQCN through this link.
  local dir="$ROOT/.collections/ansible_collections/nodeops"
  mkdir -p "$dir"
  ln -sfn ../../.. "$dir/chainlink"
}

# ansible-test sanity downloads a pip bootstrap script; offline, ../shared/tools has a stand-in.
install_get_pip_standin() {
  local standin="$ROOT/../shared/tools/ansible-test-get-pip.py"
  [ -f "$standin" ] || return 0
  local pipver
  # The file name carries the pip version ansible-test asks for (get_pip_24_2.py for pip 24.2).
  pipver="$("$VENV/bin/python" - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements as pr
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(pr.get_venv_packages)).group(1).replace(".", "_"))
PY
)" || die "could not read the pip version ansible-test wants; is ansible-core installed in ${VENV}?"
  mkdir -p "$HOME/.ansible/test/cache"
  install -m 0644 "$standin" "$HOME/.ansible/test/cache/get_pip_${pipver}.py"
}

install_packages
start_docker
create_venv
link_collection
install_get_pip_standin
say "ready"
