#!/usr/bin/env bash
# Render the interactive report in headless Chromium with the network refused, and save
# a screenshot (make demo refreshes readme_files/report_screenshot.png this way).
# Usage: scripts/screenshot_report.sh [report.html] [out.png]
# Needs Chromium (Debian: apt-get install chromium). Every request but file:// goes to a
# closed port, so a page that needed the network would show broken charts.
set -euo pipefail
report=$(realpath "${1:-readme_files/emotion_report.html}")
out=$(realpath -m "${2:-readme_files/report_screenshot.png}")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" \
  --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>' --hide-scrollbars \
  --virtual-time-budget=15000 --window-size=1250,1750 --screenshot="$out" \
  "file://$report" 2>/dev/null
echo "screenshot: $out"
