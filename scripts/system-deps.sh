#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's Chromium (HTML report test)
# and Node.js/npm (Neo4j Cypher grammar check). Installs only what is missing; needs root+apt.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: please install: ${missing[*]}" >&2
    exit 1
  fi
  echo "system-deps: installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
