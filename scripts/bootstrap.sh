# shellcheck shell=bash
# Source this file: it puts a Node.js >= 22 and pnpm 10 first on PATH.
# When the system Node is older than 22 (Debian 12 ships 18, this machine 20) it installs
# Node 24 LTS from the npm registry's `node` package into .tools/ (ignored by git); pnpm
# likewise when it is missing. Nothing is downloaded from anywhere but the npm registry.
INVIS_NODE_VERSION=24.21.0
INVIS_PNPM_VERSION=10.34.8
invis_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
invis_tools="$invis_root/.tools"

invis_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if ! command -v npm >/dev/null 2>&1; then
  echo "bootstrap: npm is missing; installing Debian's nodejs and npm to fetch Node 24" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm >&2
fi
if [ -x "$invis_tools/node/node_modules/.bin/node" ]; then
  export PATH="$invis_tools/node/node_modules/.bin:$PATH"
fi
if [ "$(invis_node_major)" -lt 22 ]; then
  echo "bootstrap: system Node $(node --version 2>/dev/null) is too old; installing Node $INVIS_NODE_VERSION into .tools/node" >&2
  npm install --prefix "$invis_tools/node" --no-save --no-audit --no-fund --loglevel=error \
    "node@$INVIS_NODE_VERSION" >&2
  export PATH="$invis_tools/node/node_modules/.bin:$PATH"
fi
if [ "$(pnpm --version 2>/dev/null | cut -d. -f1)" != "10" ]; then
  if [ ! -x "$invis_tools/pnpm/node_modules/.bin/pnpm" ]; then
    echo "bootstrap: installing pnpm $INVIS_PNPM_VERSION into .tools/pnpm" >&2
    npm install --prefix "$invis_tools/pnpm" --no-save --no-audit --no-fund --loglevel=error \
      "pnpm@$INVIS_PNPM_VERSION" >&2
  fi
  export PATH="$invis_tools/pnpm/node_modules/.bin:$PATH"
fi
export PATH="$invis_root/node_modules/.bin:$PATH"
# invis_floor_node: installs the Node.js of the engines floor (package.json "engines") into
# .tools/node-floor and exports INVIS_FLOOR_NODE, so the dist check runs the shipped packages on
# it as well as on 24.
INVIS_FLOOR_NODE_VERSION=22.19.0
invis_floor_node() {
  local dir="$invis_root/.tools/node-floor"
  if [ ! -x "$dir/node_modules/.bin/node" ]; then
    echo "bootstrap: installing Node $INVIS_FLOOR_NODE_VERSION (engines floor) into .tools/node-floor" >&2
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node@$INVIS_FLOOR_NODE_VERSION" >&2
  fi
  INVIS_FLOOR_NODE="$(readlink -f "$dir/node_modules/.bin/node")"
  export INVIS_FLOOR_NODE
}
# pnpm would otherwise ask before it recreates node_modules in a non-interactive CI run.
export CI="${CI:-}"
unset invis_tools
