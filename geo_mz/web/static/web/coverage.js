/* geo-mz facility and coverage pages: facilities by type with service-radius rings, a run's
   uncovered areas and suggested sites, and the interactive "what if I put one here" on click.
   Leaflet from our own static files; basemap optional (offline by default). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const mapEl = document.getElementById("map");
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const getJSON = (url) => fetch(url, { headers: { Accept: "application/json" } }).then((r) => r.json().then((b) => { if (!r.ok) throw new Error(b.detail || r.status); return b; }));
  const map = L.map(mapEl).setView([29.72, 113.9], 10);
  L.control.scale({ imperial: false }).addTo(map);
  const bm = config.basemap || { kind: "none" };
  if (bm.kind !== "none" && !bm.missing_key) {
    const opts = { attribution: bm.attribution, maxZoom: 19 };
    if (bm.subdomains) opts.subdomains = bm.subdomains;
    L.tileLayer(bm.url, opts).addTo(map);
  }
  const PALETTE = ["#1570ef", "#039855", "#dc6803", "#7a5af8", "#d92d20", "#0e9384", "#c11574", "#4e5ba6"];
  const colour = {};
  const colourOf = (t) => (colour[t] = colour[t] || PALETTE[Object.keys(colour).length % PALETTE.length]);
  const types = config.types ? config.types.join(",") : (config.facilityType || "");
  const q = new URLSearchParams();
  if (types) q.set("type", types);
  if (config.runId) q.set("status", "operating"); // the facilities the analysis used
  const loads = [getJSON(`/api/facilities/?${q}`)];
  if (config.runId) loads.push(getJSON(`/api/coverage/runs/${config.runId}/`));
  Promise.all(loads).then(([fc, run]) => {
    const rings = L.layerGroup();
    const points = L.geoJSON(fc, {
      pointToLayer: (f, latlng) => {
        const p = f.properties;
        if (p.radius_m && (config.runId || types)) L.circle(latlng, { radius: (run && run.parameters.radius_m) || p.radius_m, color: colourOf(p.type), weight: 1, fillOpacity: 0.06, interactive: false }).addTo(rings);
        return L.circleMarker(latlng, { radius: 5, color: "#101828", weight: 1, fillColor: colourOf(p.type), fillOpacity: 0.9 });
      },
      onEachFeature: (f, l) => l.bindTooltip(`${esc(f.properties.name)}（${esc(f.properties.type_name)}）`),
    });
    const overlays = { "设施": points.addTo(map), "服务半径": rings.addTo(map) };
    if (run && run.uncovered) overlays["未覆盖区域"] = L.geoJSON(run.uncovered, { style: { color: "#d92d20", weight: 1, dashArray: "4 3", fillOpacity: 0.15 }, interactive: false }).addTo(map);
    if (run && run.suggestions.length) {
      overlays["建议选址"] = L.layerGroup(run.suggestions.map((s) => L.circleMarker([s.lat, s.lon], { radius: 9, color: "#d92d20", weight: 3, fillOpacity: 0 }).bindTooltip(`${s.rank}. ${esc(s.label)} +${Math.round(s.added_weight)}`))).addTo(map);
    }
    L.control.layers(null, overlays, { collapsed: false }).addTo(map);
    const b = points.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [10, 10] });
    mapEl.dataset.facilities = String(fc.features.length);
    mapEl.dataset.ready = "true";
  }).catch((err) => { mapEl.dataset.ready = "error"; mapEl.title = String(err); });

  // What if I put one here: the demand a new site at the clicked point would add.
  const out = document.getElementById("what-if");
  if (out && config.whatIfType) {
    let marker = null;
    let clicks = 0;
    map.on("click", (e) => {
      const q = new URLSearchParams({ type: config.whatIfType, lon: e.latlng.lng.toFixed(7), lat: e.latlng.lat.toFixed(7) });
      if (config.group) q.set("group", config.group);
      if (marker) marker.remove();
      marker = L.circleMarker(e.latlng, { radius: 8, color: "#7a5af8", weight: 3, fillOpacity: 0.2 }).addTo(map);
      const click = ++clicks;
      const ask = (tries) => getJSON(`/api/coverage/what-if/?${q}`).then((r) => {
        if (click !== clicks) return; // a later click owns the panel
        if (r.status === "preparing") {
          // 202: this server is still preparing its analysis index; ask again when it says so
          out.innerHTML = `<p class="muted">${esc(r.detail)}…</p>`;
          if (tries < 60) setTimeout(() => ask(tries + 1), 1000 * (r.retry_after_s || 3));
          return;
        }
        out.dataset.added = String(r.added_weight);
        out.innerHTML = `<table><tr><th>新增覆盖</th><td id="what-if-added">${Math.round(r.added_weight)}</td></tr>` +
          `<tr><th>覆盖率</th><td>${(100 * r.covered_before / r.total_weight).toFixed(1)}% → ${(100 * r.share_after).toFixed(1)}%</td></tr>` +
          `<tr><th>服务半径</th><td>${r.radius_m} 米</td></tr><tr><th>计算耗时</th><td>${r.runtime_ms} 毫秒</td></tr></table>` +
          (r.stale ? `<p class="muted">最新的地址或区划修改正在计入分析索引，本次结果基于此前的数据。</p>` : "");
      }).catch((err) => { if (click === clicks) out.innerHTML = `<p class="error">${esc(err.message)}</p>`; });
      ask(0);
    });
  }
})();
