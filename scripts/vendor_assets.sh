#!/usr/bin/env bash
# Re-vendor the front-end libraries from the npm registry into static files (no CDN at run time).
# Source maps are not shipped, so their trailing comments are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
LEAFLET=${LEAFLET_VERSION:-1.9.4}
OL=${OL_VERSION:-7.2.2}   # the version Django's GIS admin widget is written for
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "leaflet@$LEAFLET" "ol@$OL" >/dev/null && for f in *.tgz; do mkdir "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)
dest=geo_mz/core/static/vendor
rm -rf "$dest/leaflet" "$dest/ol"; mkdir -p "$dest/leaflet" "$dest/ol"
cp -r "$tmp/leaflet-$LEAFLET/package/dist/"{leaflet.js,leaflet.css,images} "$tmp/leaflet-$LEAFLET/package/LICENSE" "$dest/leaflet/"
cp "$tmp/ol-$OL/package/dist/ol.js" "$tmp/ol-$OL/package/ol.css" "$tmp/ol-$OL/package/LICENSE.md" "$dest/ol/"
sed -i '/sourceMappingURL=/d' "$dest/leaflet/leaflet.js" "$dest/ol/ol.js" "$dest/ol/ol.css"
echo "vendored leaflet $LEAFLET and ol $OL into $dest"
