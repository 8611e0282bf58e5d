#!/usr/bin/env bash
# The collection's documentation, checked and built with antsibull-docs as the community collections do:
#   1. `antsibull-docs lint-collection-docs --plugin-docs`: every plugin's and role's docs against the schema, their
#      markup and references, and the RST they render to;
#   2. the static site: RST for every plugin and role, then Sphinx's HTML in build/docs/build/html (not committed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${NODEOPS_VENV:-$ROOT/.venv}/bin"
OUT="$ROOT/build/docs"
export PATH="$BIN:$PATH"
cd "$ROOT"

# The collections we depend on live in the venv's site-packages, which sits inside this checkout's git work tree: the
# linter would copy only their git-tracked files (none). Stop git's search for a work tree at site-packages.
GIT_CEILING_DIRECTORIES="$(realpath "$("$BIN/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')")"
export GIT_CEILING_DIRECTORIES
antsibull-docs lint-collection-docs --plugin-docs .

rm -rf "$OUT"
mkdir -p "$OUT"
antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$OUT" nodeops.chainlink >/dev/null
# No inventories of the Ansible docsite to fetch here; the links into it are checked below instead
echo 'intersphinx_mapping = {}' >>"$OUT/conf.py"
cd "$OUT"
mkdir -p rst
chmod og-w rst # antsibull-docs wants the directory writable by itself only
antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --fail-on-error --use-current \
  --squash-hierarchy --dest-dir rst nodeops.chainlink
sphinx-build -M html rst build -c . -q -w warnings.log
# Every warning must be a link into the Ansible docsite (ansible.builtin, community.*, its common pages), which the
# published site resolves through intersphinx; anything else (a broken page, a link to ourselves) fails.
if grep -Ev "WARNING: undefined label: '(common_return_values|ansible_configuration_settings|action_plugins|ansible_collections\.(ansible|community)\.[a-z0-9_.]+)' \[ref\.ref\]$" warnings.log; then
  echo "docs: Sphinx warnings above (build/docs/warnings.log)" >&2
  exit 1
fi
echo "docs: site in ${OUT}/build/html ($(find build/html -name '*.html' | wc -l) pages)"
