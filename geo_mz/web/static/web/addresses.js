/* geo-mz house-number pages: numbering workbench map (entrances coloured by side, proposals
   highlighted), entrance picking on the case form, the address/case location map.
   Leaflet from our own static files; basemap optional (offline by default). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const mapEl = document.getElementById("map");
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const getJSON = (url) => fetch(url, { headers: { Accept: "application/json" } }).then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); });

  const map = L.map(mapEl).setView([29.72, 113.9], 13);
  L.control.scale({ imperial: false }).addTo(map);
  const bm = config.basemap || { kind: "none" };
  if (bm.kind !== "none" && !bm.missing_key) {
    const opts = { attribution: bm.attribution, maxZoom: 19 };
    if (bm.subdomains) opts.subdomains = bm.subdomains;
    L.tileLayer(bm.url, opts).addTo(map);
  }
  const done = () => { mapEl.dataset.ready = "true"; };
  const fail = (err) => { mapEl.dataset.ready = "error"; mapEl.title = String(err); };

  // Colours: odd side blue, even side orange; proposals filled, existing hollow, rejected red.
  const ODD = "#1570ef", EVEN = "#dc6803";
  function entranceStyle(p, oddSide) {
    if (p.status === "rejected") return { radius: 7, color: "#d92d20", fillColor: "#d92d20", fillOpacity: 0.9 };
    const color = p.side === oddSide ? ODD : EVEN;
    const proposed = p.status === "new" || p.status === "infill";
    return { radius: proposed ? 7 : 5, color, weight: proposed ? 3 : 1.5, fillColor: color, fillOpacity: proposed ? 0.9 : 0.25 };
  }

  if (config.roadCode) {
    Promise.all([
      getJSON(`/api/placenames/features/${encodeURIComponent(config.roadCode)}/`),
      getJSON(`/api/addresses/roads/${encodeURIComponent(config.roadCode)}/numbering/${location.search.includes("renumber=1") ? "?renumber=1" : ""}`),
    ]).then(([road, preview]) => {
      const line = L.geoJSON(road, { style: { color: "#344054", weight: 6, opacity: 0.6 } }).addTo(map);
      let n = 0;
      L.geoJSON(preview.features, {
        pointToLayer: (f, latlng) => L.circleMarker(latlng, entranceStyle(f.properties, preview.odd_side)),
        onEachFeature: (f, l) => {
          n += 1;
          const p = f.properties;
          l.bindTooltip(`${esc(p.label || p.reason)}${p.current && p.current !== p.label ? `（${esc(p.current)}）` : ""}`,
            { permanent: p.status === "new" || p.status === "infill", direction: "top", className: "number-label" });
        },
      }).addTo(map);
      mapEl.dataset.entrances = String(n);
      mapEl.dataset.proposals = String(preview.pending);
      if (line.getLayers().length) map.fitBounds(line.getBounds(), { padding: [40, 40], maxZoom: 18 });
      done();
    }).catch(fail);
  } else if (config.pick) {
    const lon = document.getElementById("lon"), lat = document.getElementById("lat");
    let marker = null;
    const place = (latlng) => {
      if (marker) marker.setLatLng(latlng); else marker = L.marker(latlng).addTo(map);
      lon.value = latlng.lng.toFixed(7); lat.value = latlng.lat.toFixed(7);
      getJSON(`/api/addresses/reverse/?lon=${lon.value}&lat=${lat.value}`).then((r) => {
        const near = r.results[0];
        marker.bindTooltip(`${r.road ? esc(r.road.name) + " " + r.road.distance_m.toFixed(0) + " 米" : ""}${near ? "<br>最近门牌：" + esc(near.properties.label) : ""}`, { permanent: true }).openTooltip();
      }).catch(() => {});
    };
    map.on("click", (e) => place(e.latlng));
    getJSON("/api/placenames/features/?roads=1&status=active").then((fc) => {
      const roads = L.geoJSON(fc, { style: { color: "#667085", weight: 2 }, onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.name)) }).addTo(map);
      if (lon.value && lat.value) { place(L.latLng(Number(lat.value), Number(lon.value))); map.setView([Number(lat.value), Number(lon.value)], 17); }
      else if (roads.getLayers().length) map.fitBounds(roads.getBounds());
      done();
    }).catch(fail);
  } else if (config.casePoint) {
    const [x, y] = config.casePoint;
    L.circleMarker([y, x], { radius: 8, color: "#d92d20", fillOpacity: 0.8 }).addTo(map);
    map.setView([y, x], 17);
    const b = map.getBounds();
    getJSON(`/api/addresses/?bbox=${b.getWest()},${b.getSouth()},${b.getEast()},${b.getNorth()}`).then((fc) => {
      L.geoJSON(fc, { pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 4, color: "#475467" }).bindTooltip(esc(f.properties.label)) }).addTo(map);
      done();
    }).catch(fail);
  }
})();
