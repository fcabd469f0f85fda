/* geo-mz boundary pages: lines coloured by inspection state, markers by last condition, the field
   form's "use my location" button. Leaflet from our own static files; basemap optional. */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const mapEl = document.getElementById("map");
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const getJSON = (url) => fetch(url, { headers: { Accept: "application/json" } }).then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); });

  const LINE_COLORS = { overdue: "#d92d20", due: "#f79009", in_progress: "#1570ef", ok: "#039855" };
  const MARKER_COLORS = { intact: "#039855", damaged: "#f79009", moved: "#7a5af8", lost: "#d92d20" };

  // "Use my location": fill the measured lon/lat from the device's GNSS (tablets in the field).
  document.querySelectorAll("button.locate").forEach((btn) => btn.addEventListener("click", () => {
    const form = btn.closest("form");
    if (!navigator.geolocation) { btn.textContent = "无定位"; return; }
    navigator.geolocation.getCurrentPosition((pos) => {
      form.lon.value = pos.coords.longitude.toFixed(7);
      form.lat.value = pos.coords.latitude.toFixed(7);
    }, (err) => { btn.textContent = err.message; }, { enableHighAccuracy: true, timeout: 20000 });
  }));

  if (!mapEl) return;
  const map = L.map(mapEl).setView([29.72, 113.9], 10);
  L.control.scale({ imperial: false }).addTo(map);
  const bm = config.basemap || { kind: "none" };
  if (bm.kind !== "none" && !bm.missing_key) {
    const opts = { attribution: bm.attribution, maxZoom: 19 };
    if (bm.subdomains) opts.subdomains = bm.subdomains;
    L.tileLayer(bm.url, opts).addTo(map);
  }
  const lineUrl = config.lineId ? `/api/boundary-lines/${config.lineId}/` : "/api/boundary-lines/";
  const markerUrl = config.lineId ? `/api/boundary-markers/?line=${config.lineId}` : "/api/boundary-markers/";
  Promise.all([getJSON(lineUrl), getJSON(markerUrl)]).then(([lines, markers]) => {
    const lineLayer = L.geoJSON(lines, {
      style: (f) => ({ color: LINE_COLORS[f.properties.inspection_state] || "#475467", weight: f.properties.level === "county" ? 4 : 2, dashArray: f.properties.level === "county" ? null : "5 4" }),
      onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.name)} · ${f.properties.length_km} km`).on("click", () => { if (!config.lineId) location.href = `/boundaries/lines/${f.properties.id}/`; }),
    }).addTo(map);
    const markerLayer = L.geoJSON(markers, {
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: f.properties.kind === "triple" ? 7 : 5, color: "#101828", weight: 1, fillColor: MARKER_COLORS[f.properties.last_condition] || "#98a2b3", fillOpacity: 0.95 }),
      onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.number)} ${esc(f.properties.last_condition_label)}`),
    }).addTo(map);
    L.control.layers(null, { "界线": lineLayer, "界桩": markerLayer }, { collapsed: false }).addTo(map);
    const bounds = lineLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
    mapEl.dataset.lines = String(lines.features ? lines.features.length : 1);
    mapEl.dataset.markers = String(markers.features.length);
    mapEl.dataset.ready = "true";
  }).catch((err) => { mapEl.dataset.ready = "error"; mapEl.title = String(err); });
})();
