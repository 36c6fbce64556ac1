#!/usr/bin/env bash
# Debian packages some tests need (a real C# compiler for the APIM policy expressions, LibreOffice to open
# the workbooks, Chromium for the portal). Installs only what is missing; needs root (CI and dev boxes here are).
set -euo pipefail
need=()
command -v mcs >/dev/null || need+=(mono-mcs)
[ -e /usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll ] || need+=(libnewtonsoft-json5.0-cil)
command -v soffice >/dev/null || need+=(libreoffice-calc-nogui)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v chromium >/dev/null || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing ${need[*]} (run as root to install, or: sudo apt-get install ${need[*]})" >&2
  exit 0
fi
echo "system-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
