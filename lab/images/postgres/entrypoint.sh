#!/bin/sh
# Initialise a cluster on first start (password auth for TCP, so tests see real auth failures),
# then run the server in the foreground on 127.0.0.1:$PGPORT.
set -eu
BIN=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  "$BIN/initdb" -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
fi
exec "$BIN/postgres" -D "$PGDATA" -h 127.0.0.1 -p "$PGPORT" -k /tmp \
  -c max_connections="${POSTGRES_MAX_CONNECTIONS:-300}" -c fsync=off -c synchronous_commit=off "$@"
