#!/usr/bin/env bash
# Re-copy the three.js the web page uses into the package, from the pinned npm packages here:
#
#   bash tools/threejs/vendor.sh
#
# The web page (src/mouthpiece/serve/static/index.html) must work offline from an installed
# package, so three.js ships inside it, in src/mouthpiece/serve/static/vendor/three/. The npm
# package has no minified builds, so the pinned esbuild (package.json) writes them:
#
# - three.module.min.js: build/three.module.js with build/three.core.js, which it imports, in
#   one minified ES module (the WebGL build; the WebGPU one is left out);
# - GLTFLoader.min.js: examples/jsm/loaders/GLTFLoader.js with the two helpers it imports
#   (utils/BufferGeometryUtils.js, utils/SkeletonUtils.js), minified; it imports "three",
#   which the page's import map resolves to three.module.min.js;
# - LICENSE: three.js's MIT licence; README.md: the version and where the files came from.
#
# esbuild keeps three.js's @license comments. To update three.js, change its version in
# package.json, run `npm install` here, then this script, and commit the folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/../../src/mouthpiece/serve/static/vendor/three"
three="$here/node_modules/three"
esbuild="$here/node_modules/.bin/esbuild"

if [[ ! -x "$esbuild" || ! -f "$three/package.json" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
version="$(node -p "require('$three/package.json').version")"
esbuild_version="$("$esbuild" --version)"

rm -rf "$out"
mkdir -p "$out"
options=(--bundle --format=esm --minify --target=es2020 --legal-comments=inline --log-level=warning)
"$esbuild" "$three/build/three.module.js" "${options[@]}" --outfile="$out/three.module.min.js"
"$esbuild" "$three/examples/jsm/loaders/GLTFLoader.js" "${options[@]}" --external:three \
  --outfile="$out/GLTFLoader.min.js"
cp "$three/LICENSE" "$out/LICENSE"
cat >"$out/README.md" <<EOF
# three.js $version, for the web page's 3D head

[three.js](https://threejs.org) $version by the three.js authors (MIT licence: \`LICENSE\`),
from the npm package \`three@$version\` pinned in \`tools/threejs\`, minified by esbuild
$esbuild_version. Written by \`bash tools/threejs/vendor.sh\`: do not edit by hand.

- \`three.module.min.js\`: \`build/three.module.js\` and \`build/three.core.js\`, which it
  imports, as one ES module.
- \`GLTFLoader.min.js\`: \`examples/jsm/loaders/GLTFLoader.js\` with the helpers it
  imports from \`examples/jsm/utils/\` (\`BufferGeometryUtils.js\`, \`SkeletonUtils.js\`);
  it imports \`three\`, which the page's import map resolves to \`three.module.min.js\`.

The server serves exactly these files at \`/static/vendor/three/NAME\`, so the page
needs no CDN and works offline.
EOF
ls -l "$out"
