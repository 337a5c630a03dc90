#!/usr/bin/env bash
# Render the HTML report in headless Chromium with the network off, and save a screenshot.
# Usage: scripts/screenshot_report.sh [report.html] [out.png]
# Needs Chromium (Debian: apt-get install chromium). A page that loads anything from the
# network shows broken images here, since every request but file:// is refused.
set -euo pipefail
report=$(realpath "${1:-readme_files/emotion_report.html}")
out=$(realpath -m "${2:-/tmp/emotion_report.png}")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" \
  --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>' \
  --window-size=1100,2600 --screenshot="$out" "file://$report" 2>/dev/null
echo "screenshot: $out"
