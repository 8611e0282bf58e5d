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

# sync_venv VENV PYTHON REQUIREMENTS [LABEL]: VENV holds REQUIREMENTS (pinned). A stamp of the file's hash makes a
# rerun cheap; a changed file reinstalls into the same venv.
sync_venv() {
  local venv="$1" python="$2" requirements="$3" label="${4:-}" want
  local stamp
  stamp="$venv/.$(basename "$requirements" .txt).sha256"
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$venv/bin/ansible-playbook" ]; then
    say "virtualenv up to date: ${venv}"
    return
  fi
  say "creating virtualenv ${venv}${label}"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv" || die "could not create a virtualenv with ${python}: apt-get install -y python3-venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install -q -r "$requirements"
  echo "$want" >"$stamp"
}

create_venv() { sync_venv "$VENV" "$PYTHON" "$ROOT/requirements-dev.txt"; }

# The second controller stack (requirements-current.txt: the newest ansible on Python 3.12) in its own venv: the
# installed-collection test, galaxy-importer and ansible-test sanity for that ansible-core use it. Python 3.12 comes
# from PATH or pyenv (the machine image has it); without one, this stack is skipped and said so.
CURRENT_VENV="${NODEOPS_CURRENT_VENV:-$ROOT/.venv-current}"
CURRENT_PYTHON_VERSION=3.12

create_current_venv() {
  local python
  python="$(command -v "python${CURRENT_PYTHON_VERSION}" || true)"
  if [ -z "$python" ] || ! "$python" -c '' 2>/dev/null; then  # pyenv's shim answers only for its global version
    python="$(find "${PYENV_ROOT:-$HOME/.pyenv}/versions" -maxdepth 3 -path "*/versions/${CURRENT_PYTHON_VERSION}.*/bin/python${CURRENT_PYTHON_VERSION}" 2>/dev/null | sort -V | tail -n 1)"
  fi
  if [ -z "$python" ]; then
    say "WARNING: no Python ${CURRENT_PYTHON_VERSION} on PATH or under pyenv: skipping ${CURRENT_VENV} (requirements-current.txt); the current-stack checks of ./nodeops test need it"
    return
  fi
  sync_venv "$CURRENT_VENV" "$python" "$ROOT/requirements-current.txt" " (Python ${CURRENT_PYTHON_VERSION})"
}

link_collection() {
  # ansible-core and Molecule find the collection by FQCN through this link.
  local dir="$ROOT/.collections/ansible_collections/nodeops"
  mkdir -p "$dir"
  ln -sfn ../../.. "$dir/chainlink"
}

# ansible-test sanity downloads a pip bootstrap script; offline, ../shared/tools has a stand-in.
install_get_pip_standin() {
  local venv="$1" standin="$ROOT/../shared/tools/ansible-test-get-pip.py"
  [ -f "$standin" ] && [ -x "$venv/bin/python" ] || return 0
  local pipver
  # The file name carries the pip version ansible-test asks for (get_pip_24_2.py for pip 24.2).
  pipver="$("$venv/bin/python" - <<'PY'
import inspect, re
from ansible_test._internal import python_requirements as pr
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(pr.get_venv_packages)).group(1).replace(".", "_"))
PY
)" || die "could not read the pip version ansible-test wants; is ansible-core installed in ${venv}?"
  mkdir -p "$HOME/.ansible/test/cache"
  install -m 0644 "$standin" "$HOME/.ansible/test/cache/get_pip_${pipver}.py"
}

install_packages
start_docker
create_venv
create_current_venv
link_collection
install_get_pip_standin "$VENV"
install_get_pip_standin "$CURRENT_VENV"
say "ready"
