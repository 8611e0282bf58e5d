#!/usr/bin/env bash
# Run `ansible-test sanity` on the collection. ansible-test must run from a directory named
# ansible_collections/<namespace>/<name>, so the tracked (and new, not ignored) files are copied
# into build/sanity/ (SANITY_DIR) first; the copy is a git repository of its own so ansible-test sees exactly them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${SANITY_DIR:-$ROOT/build/sanity}"  # a directory per concurrent run
DEST="$OUT/ansible_collections/nodeops/chainlink"
PY="${PYTHON_VERSION:-3.11}"
# whose ansible-test (and so which ansible-core's sanity rules) runs: the development venv's 2.19 by default,
# .venv-current's for the current controller stack (./nodeops sanity runs both)
VENV="${SANITY_VENV:-$ROOT/.venv}"
[ -x "$VENV/bin/ansible-test" ] || { echo "sanity: no ansible-test in ${VENV}: scripts/bootstrap.sh creates it (.venv-current needs a Python 3.12)" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$DEST"
cd "$ROOT"
# Only collection content: the lab, the benchmarks and these scripts are development tooling
# (linted by ruff and mypy, and left out of the built collection by galaxy.yml's build_ignore).
git ls-files -z --cached --others --exclude-standard -- . ':!lab/' ':!benchmarks/' ':!scripts/' ':!nodeops' ':!.ci/' | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$DEST/$(dirname "$f")"
  cp -p "$f" "$DEST/$f"
done
# The import test loads the collections we depend on from beside ours.
SITE="$("$VENV/bin/python" -c 'import ansible_collections.community.docker as m, os; print(os.path.dirname(os.path.dirname(os.path.dirname(m.__path__[0]))))')"
for dep in community/docker community/postgresql; do
  mkdir -p "$(dirname "$OUT/ansible_collections/$dep")"
  ln -sfn "$SITE/ansible_collections/$dep" "$OUT/ansible_collections/$dep"
done
# ansible-test finds python$PY by name on PATH. pyenv's shims answer only for its global version, so link the
# interpreter of a pyenv install (the machine image's 3.10, 3.12, 3.13) into a directory of its own.
if ! "python$PY" -c '' >/dev/null 2>&1; then
  found="$(find "${PYENV_ROOT:-$HOME/.pyenv}/versions" -maxdepth 3 -path "*/versions/$PY.*/bin/python$PY" 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$found" ] || { echo "sanity: no Python $PY on PATH or under pyenv: install it, or leave it out of NODEOPS_TARGET_PYTHONS (./nodeops sanity)" >&2; exit 1; }
  mkdir -p "$OUT/bin"
  ln -sfn "$found" "$OUT/bin/python$PY"
  export PATH="$OUT/bin:$PATH"
fi
cd "$DEST"
git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
# --venv: each sanity test gets the requirements it pins, in a venv of its own.
exec "$VENV/bin/ansible-test" sanity --venv --python "$PY" --color no "$@"
