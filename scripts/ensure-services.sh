#!/usr/bin/env bash
# Make sure the servers the test suite starts for itself are installed (PostgreSQL binaries).
# The tests start and stop their own throw-away instances; nothing here is left running.
set -u
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL server binaries (Debian package 'postgresql')..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
      || echo "warning: could not install postgresql; PostgreSQL tests will be skipped" >&2
  else
    echo "note: PostgreSQL server binaries not found and cannot install them; PostgreSQL tests will be skipped" >&2
  fi
fi
exit 0
