/* geo-mz division map: Leaflet from our own static files, basemap optional (offline by default). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const T = JSON.parse(document.getElementById("i18n-labels").textContent);
  const mapEl = document.getElementById("map");
  const map = L.map(mapEl, { preferCanvas: false, zoomSnap: 0.25 }).setView([29.72, 113.9], 10);
  mapEl.leafletMap = map; // for browser tests and the console
  const layersControl = L.control.layers(null, null, { collapsed: false }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  const bm = config.basemap || { kind: "none" };
  if (bm.kind !== "none" && !bm.missing_key) {
    const opts = { attribution: bm.attribution, maxZoom: 18 };
    if (bm.subdomains) opts.subdomains = bm.subdomains;
    L.tileLayer(bm.url, opts).addTo(map);
    if (bm.labels_url) L.tileLayer(bm.labels_url, opts).addTo(map);
  }

  const fmt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString());
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  let drawn = 0;

  function showDetails(p) {
    const rows = [
      [T.code, esc(p.code)],
      [T.level, esc(p.level_label)],
      [T.parent, esc(p.parent_code || "—")],
      [T.area, p.area_km2 === null ? "—" : p.area_km2.toFixed(2)],
      [T.population, fmt(p.population) + (p.population_source ? `<br><small class="muted">${T.source}: ${esc(p.population_source)} ${esc(p.population_year || "")}</small>` : "")],
      [T.older, fmt(p.population_60_plus) + (p.population_60_plus_source ? `<br><small class="muted">${esc(p.population_60_plus_source)} ${esc(p.population_60_plus_year || "")}</small>` : "")],
      [T.households, fmt(p.households)],
      [T.geometrySource, esc(p.geometry_source || "—")],
    ];
    document.getElementById("details").innerHTML =
      `<h2 data-code="${esc(p.code)}">${esc(p.name)} ${p.synthetic ? `<span class="badge synthetic">${T.synthetic}</span>` : ""}</h2>` +
      `<table>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("")}</table>`;
  }

  function labelHtml(p) {
    return `${esc(p.short_name || p.name)}<span class="code">${esc(p.code)}</span>`;
  }

  function addLayer(url, name, style, opts) {
    return fetch(url, { headers: { Accept: "application/json" } })
      .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then((fc) => {
        const layer = L.geoJSON(fc, {
          style: () => style,
          pointToLayer: (f, latlng) => L.circleMarker(latlng, Object.assign({ radius: 4 }, style)),
          onEachFeature: (f, l) => {
            drawn += 1;
            f.properties.code = f.id; // GeoJSON feature id is the division code
            l.feature = f;
            l.on("click", (e) => { L.DomEvent.stopPropagation(e); if (!addressJustClicked()) showDetails(f.properties); });
            if (opts.labels) {
              l.bindTooltip(labelHtml(f.properties), { permanent: opts.permanentLabels, direction: "center", className: "division-label" });
            }
          },
        });
        layer.addTo(map);
        layersControl.addOverlay(layer, `${name} (${fc.features.length})`);
        mapEl.dataset.featuresDrawn = String(drawn);
        mapEl.dataset[opts.key] = String(fc.features.length);
        return layer;
      });
  }

  // Place-name layers: roads by status, unnamed segments, signs.
  const ROAD_COLORS = { active: "#344054", approved: "#1570ef", proposed: "#f79009", retired: "#98a2b3" };
  function showRoad(p) {
    const rows = [
      [T.roadCode, `<a href="/placenames/features/${encodeURIComponent(p.code)}/">${esc(p.code)}</a>`],
      [T.pinyin, esc(p.romanization)], [T.status, esc(p.status_label)],
      [T.roadClass, esc(p.road_class)], [T.width, p.width_m == null ? "—" : esc(p.width_m)],
      [T.length, p.length_m == null ? "—" : Math.round(p.length_m)], [T.division, esc(p.division_name)],
    ];
    document.getElementById("details").innerHTML = `<h2>${esc(p.name || T.unnamed)}</h2>` +
      `<table>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("")}</table>`;
  }
  function addPlacenameLayer(url, name, style, key, onClick) {
    return fetch(url, { headers: { Accept: "application/json" } })
      .then((r) => { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then((fc) => {
        const layer = L.geoJSON(fc, {
          style: (f) => (typeof style === "function" ? style(f) : style),
          pointToLayer: (f, latlng) => L.circleMarker(latlng, Object.assign({ radius: 3 }, typeof style === "function" ? style(f) : style)),
          onEachFeature: (f, l) => l.on("click", (e) => { L.DomEvent.stopPropagation(e); if (!addressJustClicked()) onClick(f.properties); }),
        }).addTo(map);
        layersControl.addOverlay(layer, `${name} (${fc.features.length})`);
        mapEl.dataset[key] = String(fc.features.length);
        return layer;
      });
  }
  const loadPlacenameLayers = () => Promise.all([
    addPlacenameLayer("/api/placenames/features/?roads=1", T.roads, (f) => ({ color: ROAD_COLORS[f.properties.status] || "#344054", weight: f.properties.road_class === "巷道" ? 1.5 : 2.5 }), "roads", showRoad),
    addPlacenameLayer(`/api/placenames/unnamed-segments/?within=${config.countyCode}`, T.unnamedSegments, { color: "#d92d20", weight: 3, dashArray: "4 3" }, "unnamed",
      (p) => showRoad({ code: p.code, name: "", road_class: p.road_class, width_m: p.width_m, length_m: p.length_m, division_name: p.division_name, status_label: T.unnamed })),
    addPlacenameLayer("/api/placenames/signs/", T.signs, (f) => ({ color: f.properties.matches_name ? "#039855" : "#d92d20", fillOpacity: 0.9 }), "signs",
      (p) => { document.getElementById("details").innerHTML = `<h2>${esc(p.sign_type)} ${esc(p.code)}</h2><p>${esc(p.text)}${p.matches_name ? "" : ` ≠ ${esc(p.current_name)}`}</p><p class="muted">${esc(p.condition)} ${esc(p.installed_on || "")}</p>`; }),
    // Boundary lines coloured by inspection state, markers by their last condition.
    addPlacenameLayer("/api/boundary-lines/", T.boundaryLines, (f) => ({ color: BOUNDARY_COLORS[f.properties.inspection_state] || "#475467", weight: f.properties.level === "county" ? 4 : 2, dashArray: f.properties.level === "county" ? null : "5 4" }), "boundaryLines",
      (p) => { document.getElementById("details").innerHTML = `<h2><a href="/boundaries/lines/${p.id}/">${esc(p.name)}</a></h2><p>${esc(p.division_a.name)} / ${esc(p.division_b.name)} · ${p.length_km} km</p>`; }),
    addPlacenameLayer("/api/boundary-markers/", T.boundaryMarkers, (f) => ({ radius: 5, color: "#101828", weight: 1, fillColor: MARKER_COLORS[f.properties.last_condition] || "#98a2b3", fillOpacity: 0.95 }), "boundaryMarkers",
      (p) => { document.getElementById("details").innerHTML = `<h2>${esc(p.number)}</h2><p>${esc(p.kind_label)} · ${esc(p.last_condition_label)} ${esc(p.last_inspected_on || "")}</p><p class="muted">X ${p.x_northing} · Y ${p.y_easting}</p>`; }),
    addPlacenameLayer("/api/facilities/?status=operating", T.facilities, (f) => ({ radius: 4, color: "#101828", weight: 1, fillColor: FACILITY_COLORS[f.properties.type] || "#667085", fillOpacity: 0.9 }), "facilities",
      (p) => { document.getElementById("details").innerHTML = `<h2>${esc(p.name)}</h2><p>${esc(p.type_name)} · ${esc(p.status_label)}${p.beds ? ` · 床位 ${p.beds}` : ""}</p><p class="muted">${esc(p.division_name)}</p>`; }),
  ]).catch(() => []);
  const FACILITY_COLORS = { elderly_institution: "#c11574", day_care: "#1570ef", rural_mutual_aid: "#039855", elderly_complex: "#7a5af8", cemetery_urban: "#344054", cemetery_rural: "#475467", cemetery_village: "#667085", community_centre: "#f79009", rescue_station: "#d92d20" };
  const BOUNDARY_COLORS = { overdue: "#d92d20", due: "#f79009", in_progress: "#1570ef", ok: "#039855" };
  const MARKER_COLORS = { intact: "#039855", damaged: "#f79009", moved: "#7a5af8", lost: "#d92d20" };

  // House numbers from vector tiles (/tiles/addresses/…, grid clusters with a `count` below z14), drawn
  // on canvas in their own pane above the division fills. The canvases take no pointer events (they
  // would swallow clicks meant for the polygons below): a click is hit-tested in 'preclick' against
  // the decoded house numbers of the tile under it, before the polygons see it. Clusters are not
  // clickable, so at county zooms a click still opens the township.
  const ADDRESS_COLORS = { active: "#0e9384", approved: "#1570ef", proposed: "#f79009" };
  const tileFeatures = {}; // "x:y:z" → { extent, features } of the tile's addresses layer
  let addressClickAt = 0;
  function addressJustClicked() { return performance.now() - addressClickAt < 400; }
  function addressStyle(p, z) {
    if (p.count) {
      return { radius: Math.min(14, 3 + 1.6 * Math.log2(p.count)), fill: true, fillColor: "#7a5af8", fillOpacity: 0.55, color: "#53389e", weight: 1 };
    }
    return { radius: z >= 17 ? 5 : 3.5, fill: true, fillColor: ADDRESS_COLORS[p.status] || "#667085", fillOpacity: 0.9, color: "#ffffff", weight: 1 };
  }
  function updateTileStats() {
    const entries = Object.values(tileFeatures);
    mapEl.dataset.addressTiles = String(entries.length);
    mapEl.dataset.addressFeatures = String(entries.reduce((n, t) => n + t.features.length, 0));
  }
  function showAddress(p) {
    const rows = [[T.addressCode, esc(p.code)], [T.status, esc(p.status)], [T.addressKind, esc(p.kind)]];
    document.getElementById("details").innerHTML = `<h2 data-address="${esc(p.code)}">${esc(p.label || p.code)}</h2>` +
      `<table>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join("")}</table>`;
  }
  function addAddressTiles() {
    // data-addresses="0": house numbers are for signed-in users (GEO_MZ_ADDRESSES_PUBLIC off)
    if (!L.VectorGrid || !mapEl.dataset.tilesBase || mapEl.dataset.addresses === "0") return null;
    const pane = map.createPane("addressTiles");
    pane.style.zIndex = 450;
    pane.style.pointerEvents = "none";
    const AddressTiles = L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise(coords) {
        return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, coords).then((tile) => {
          const layer = tile.layers.addresses;
          tileFeatures[this._tileCoordsToKey(coords)] = { extent: layer ? layer.extent : 4096, features: layer ? layer.features : [] };
          updateTileStats();
          return tile;
        });
      },
    });
    const layer = new AddressTiles(`${mapEl.dataset.tilesBase}addresses/{z}/{x}/{y}.pbf`, {
      pane: "addressTiles", rendererFactory: L.canvas.tile, interactive: false, maxZoom: 22,
      vectorTileLayerStyles: { addresses: addressStyle },
    });
    layer.on("tileunload", (e) => { delete tileFeatures[layer._tileCoordsToKey(e.coords)]; updateTileStats(); });
    map.on("preclick", (e) => {
      if (!map.hasLayer(layer)) return;
      const z = layer._tileZoom ?? Math.round(map.getZoom());
      const size = layer.getTileSize().x;
      const p = map.project(e.latlng, z);
      const tx = Math.floor(p.x / size), ty = Math.floor(p.y / size);
      const tile = tileFeatures[`${tx}:${ty}:${z}`];
      if (!tile) return;
      const k = size / tile.extent, tolerance = 7 / map.getZoomScale(map.getZoom(), z);
      let best = null, bestDist = Infinity;
      for (const f of tile.features) {
        if (f.properties.count) continue; // clusters are only a picture: the click goes to the divisions
        const g = f.geometry[0][0];
        const d = Math.hypot(tx * size + g.x * k - p.x, ty * size + g.y * k - p.y);
        if (d < bestDist) { best = f; bestDist = d; }
      }
      if (!best || bestDist > tolerance) return;
      addressClickAt = performance.now();
      showAddress(best.properties);
    });
    layer.addTo(map);
    layersControl.addOverlay(layer, T.houseNumbers);
    return layer;
  }
  addAddressTiles();

  const api = config.api;
  const county = config.countyCode;
  Promise.all([
    addLayer(`${api}?level=county`, T.counties, { color: "#475467", weight: 2, fillOpacity: 0.04, dashArray: "6 4" }, { labels: true, permanentLabels: false, key: "counties" }),
    addLayer(`${api}?level=township&parent=${county}`, T.townships, { color: "#17427a", weight: 1.2, fillColor: "#84adea", fillOpacity: 0.25 }, { labels: true, permanentLabels: true, key: "townships" }),
    addLayer(`${api}?level=village&within=${county}`, T.villages, { color: "#b54708", weight: 1, fillColor: "#fdb022", fillOpacity: 0.9 }, { labels: true, permanentLabels: false, key: "villages" }),
  ]).then((layers) => loadPlacenameLayers().then(() => layers)).then((layers) => {
    const townships = layers[1];
    if (townships.getLayers().length) map.fitBounds(townships.getBounds(), { padding: [10, 10] });
    mapEl.dataset.ready = "true";
  }).catch((err) => {
    document.getElementById("details").innerHTML = `<p class="error">${T.loadError}: ${esc(err.message)}</p>`;
    mapEl.dataset.ready = "error";
  });
})();
