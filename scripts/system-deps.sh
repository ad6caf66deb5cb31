#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo use, when they are missing (npm:
# `make models` installs nsfwjs from the npm registry).
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v npm >/dev/null 2>&1 || need+=(npm)
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
  echo "cannot install ${need[*]}: not root and no sudo. Install them and rerun." >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts redis-server as a service on install; the project starts its own.
if [ -n "$(command -v systemctl || true)" ]; then $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true; fi
