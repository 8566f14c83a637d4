#!/usr/bin/env bash
# Install MathJax 3 from npm into jupyter_book/_mathjax (gitignored).
#
# The book serves this copy from its own _static folder (html_static_path + mathjax_path in
# _config.yml) instead of loading MathJax from a CDN, so math renders with no network.
# Quick (no npm call) when the right version is already installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${MATHJAX_VERSION:-3.2.2}"
prefix="$here/_mathjax"
package="$prefix/node_modules/mathjax"

if [ -f "$package/es5/tex-mml-chtml.js" ] && grep -q "\"version\": \"$version\"" "$package/package.json" 2>/dev/null; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "install_mathjax.sh: npm not found. Install Node.js and npm (Debian: apt-get install npm)," >&2
    echo "or put mathjax@$version's files in $package yourself." >&2
    exit 1
fi
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --no-save --loglevel=error "mathjax@$version"
test -f "$package/es5/tex-mml-chtml.js"
echo "MathJax $version installed in $package"
