#!/usr/bin/env bash
# Writes page.html, the page `dvc plots show` fills (plots.html_template in .dvc/config). DVC's own page loads
# Vega from a CDN; this one carries Vega, Vega-Lite and vega-embed from their npm packages, so it works offline.
# Needs npm; change a version here and rerun to update.
set -euo pipefail
cd "$(dirname "$0")"
packages="vega@5.33.1 vega-lite@5.23.0 vega-embed@6.29.0"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent $packages > /dev/null)
{
  printf '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>rnnlab plots</title>\n'
  for package in $packages; do
    name=${package%@*}
    printf '<script>/* %s */\n' "$package"
    tar -xzOf "$work/$name-${package#*@}.tgz" "package/build/$name.min.js"
    printf '\n</script>\n'
  done
  printf '<style>body { font-family: sans-serif; } div.vega-embed { margin: 8px; }</style>\n'
  printf '</head>\n<body>\n{plot_divs}\n</body>\n</html>\n'
} > page.tmp
# DVC fills the page by plain replacement of {plot_divs}; a bundle holding it, or a closing script tag, breaks it.
if [[ $(grep -c '{plot_divs}' page.tmp) != 1 || $(grep -c '</script' page.tmp) != 3 ]]; then
  echo "error: a bundle holds {plot_divs} or </script; page.html left as it was" >&2
  rm page.tmp
  exit 1
fi
mv page.tmp page.html
