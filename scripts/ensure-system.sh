#!/usr/bin/env bash
# Install the OS packages djmap needs when they are missing (apt-get as root; otherwise say what to run).
set -euo pipefail
PG=15
need=()
[ -x /usr/lib/postgresql/$PG/bin/initdb ] || need+=("postgresql-$PG")
[ -f /usr/share/postgresql/$PG/extension/postgis.control ] || need+=("postgresql-$PG-postgis-3")
[ -f /usr/share/postgresql/$PG/extension/pgrouting.control ] || need+=("postgresql-$PG-pgrouting")
command -v pgbouncer >/dev/null || need+=("pgbouncer")  # djmap db bouncer
command -v pg_autoctl >/dev/null || need+=("postgresql-$PG-auto-failover")  # make test-ha
command -v chromium >/dev/null || need+=("chromium")
command -v wrk >/dev/null || need+=("wrk")
command -v ogrinfo >/dev/null || need+=("gdal-bin")  # tests read the features API with GDAL OAPIF
command -v node >/dev/null || need+=("nodejs")
command -v npm >/dev/null || need+=("npm")
[ -d /usr/share/fonts/opentype/noto ] || need+=("fonts-noto-cjk")  # pages and the PDF report (zh-CN)
command -v pdftoppm >/dev/null || need+=("poppler-utils")  # tests read the report PDF (pdftoppm, pdftotext)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=("python3-venv")
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "djmap needs these OS packages; please run:" >&2
  echo "  sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "installing OS packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
