#!/bin/sh
# PostgreSQL server programs for the feedback-store tests (a throw-away cluster: initdb + pg_ctl).
# Idempotent: does nothing when they are already there. Debian keeps them in /usr/lib/postgresql/<v>/bin.
set -eu
found() {
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && return 0
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && return 0
    done
    return 1
}
found && exit 0
echo "PostgreSQL (initdb, pg_ctl) not found: installing Debian's postgresql package" >&2
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y postgresql >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y postgresql >/dev/null; } || true
fi
found && exit 0
echo "PostgreSQL is needed by the tests and could not be installed. Run: apt-get update && apt-get install -y postgresql" >&2
exit 1
