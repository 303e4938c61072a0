#!/usr/bin/env bash
# Make sure the servers the test suite starts for itself are installed (PostgreSQL binaries).
# The tests start and stop their own throw-away instances; nothing here is left running.
set -u

# apt_install WHAT CONSEQUENCE PACKAGE...: install the Debian packages when root with apt-get, else say
# what is missing and what follows from it (a skipped or failing test group)
apt_install() {
  local what=$1 consequence=$2
  shift 2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $what (Debian packages: $*)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null) \
      || echo "warning: could not install $what; $consequence" >&2
  else
    echo "note: $what not found and cannot install it; $consequence" >&2
  fi
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  apt_install "PostgreSQL server binaries" "PostgreSQL tests will be skipped" postgresql
fi
# libfido2 (fido2-tools, libfido2-dev), OpenSSL headers, gcc, ssh-keygen: the FIDO2 interop tests compile a
# small libfido2 client and an OpenSSH security-key provider
if [ ! -e /usr/include/fido.h ] || [ ! -e /usr/include/openssl/ecdsa.h ] || ! command -v gcc >/dev/null 2>&1 \
    || ! command -v ssh-keygen >/dev/null 2>&1; then
  apt_install "libfido2, OpenSSL headers, gcc and ssh-keygen" "the libfido2/OpenSSH interop tests will be skipped" \
    fido2-tools libfido2-dev libssl-dev gcc openssh-client
fi
# Chromium for the browser tests (tests/browser, Playwright drives the distribution's package). They FAIL,
# never skip, when it is missing: a browser suite that skips in CI tests nothing.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
    && [ -z "${TOKENSIM_CHROMIUM:-}" ]; then
  apt_install "Chromium" "the browser tests will fail" chromium
fi
exit 0
