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
# libfido2 (fido2-tools, libfido2-dev), OpenSSL headers, gcc, ssh-keygen: the FIDO2 interop tests compile a
# small libfido2 client and an OpenSSH security-key provider
if [ ! -e /usr/include/fido.h ] || [ ! -e /usr/include/openssl/ecdsa.h ] || ! command -v gcc >/dev/null 2>&1 \
    || ! command -v ssh-keygen >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing libfido2 (Debian packages 'fido2-tools', 'libfido2-dev', 'libssl-dev', 'gcc', 'openssh-client')..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fido2-tools libfido2-dev libssl-dev \
      gcc openssh-client >/dev/null) || echo "warning: could not install libfido2; its interop tests will be skipped" >&2
  else
    echo "note: libfido2-dev or gcc missing and cannot install them; the libfido2 interop test will be skipped" >&2
  fi
fi
# Chromium for the browser tests (tests/browser, Playwright drives the distribution's package). They FAIL,
# never skip, when it is missing: a browser suite that skips in CI tests nothing.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
    && [ -z "${TOKENSIM_CHROMIUM:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Chromium for the browser tests (Debian package 'chromium')..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the browser tests will fail" >&2
  else
    echo "warning: chromium not found and cannot install it; the browser tests will fail" >&2
  fi
fi
exit 0
