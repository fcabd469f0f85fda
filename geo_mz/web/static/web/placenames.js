/* geo-mz place-name pages: naming-case form with live rule findings and a drawing map; road page map.
   Leaflet from our own static files; basemap optional (offline by default). */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const T = JSON.parse(document.getElementById("i18n-labels").textContent);
  const mapEl = document.getElementById("map");
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";

  const map = L.map(mapEl, { doubleClickZoom: false }).setView([29.72, 113.9], 12);
  L.control.scale({ imperial: false }).addTo(map);
  const bm = config.basemap || { kind: "none" };
  if (bm.kind !== "none" && !bm.missing_key) {
    const opts = { attribution: bm.attribution, maxZoom: 18 };
    if (bm.subdomains) opts.subdomains = bm.subdomains;
    L.tileLayer(bm.url, opts).addTo(map);
  }
  const getJSON = (url) => fetch(url, { headers: { Accept: "application/json" } }).then((r) => r.json());

  // Context: township outlines and existing roads, so an officer can see where the new road goes.
  const context = Promise.all([
    getJSON(`/api/divisions/?level=township&parent=${config.countyCode}`).then((fc) =>
      L.geoJSON(fc, { style: { color: "#17427a", weight: 1, fillOpacity: 0.05 } }).addTo(map)),
    getJSON("/api/placenames/features/?roads=1&status=active").then((fc) =>
      L.geoJSON(fc, {
        style: { color: "#667085", weight: 2 },
        onEachFeature: (f, l) => l.bindTooltip(esc(f.properties.name)),
      }).addTo(map)),
  ]);

  if (config.featureCode) {
    // Road page: highlight the road and its signs.
    context.then(() => getJSON(`/api/placenames/features/${config.featureCode}/`)).then((f) => {
      const layer = L.geoJSON(f, { style: { color: "#d92d20", weight: 5 } }).addTo(map);
      (f.properties.signs || []).forEach((s) => {
        if (s.lonlat) L.circleMarker([s.lonlat[1], s.lonlat[0]], { radius: 5, color: s.matches_name ? "#039855" : "#d92d20" })
          .bindTooltip(`${esc(s.code)} ${esc(s.text)}`).addTo(map);
      });
      if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 16 });
      mapEl.dataset.ready = "true";
    }).catch(() => { mapEl.dataset.ready = "error"; });
    return;
  }

  // Case form: draw a centre-line by clicking; double-click finishes.
  const form = document.getElementById("case-form");
  const vertices = [];
  const line = L.polyline([], { color: "#d92d20", weight: 4 }).addTo(map);
  const conflicts = L.layerGroup().addTo(map);
  map.on("click", (e) => {
    vertices.push([e.latlng.lng, e.latlng.lat]);
    line.setLatLngs(vertices.map(([x, y]) => [y, x]));
    mapEl.dataset.vertices = String(vertices.length);
    scheduleCheck();
  });
  context.then(() => { mapEl.dataset.ready = "true"; }).catch(() => { mapEl.dataset.ready = "error"; });

  function geometry() {
    if (vertices.length >= 2) return { type: "LineString", coordinates: vertices };
    if (vertices.length === 1) return { type: "Point", coordinates: vertices[0] };
    return null;
  }

  function payload() {
    const fd = new FormData(form);
    const width = fd.get("width_m");
    return {
      name: fd.get("name") || "",
      division_code: fd.get("division_code"),
      kind: fd.get("feature_kind"),
      reading: fd.get("reading") || "",
      road_class: fd.get("road_class") || "",
      width_m: width ? Number(width) : null,
      geometry: geometry(),
      replaces: fd.get("kind") === "rename" ? fd.get("feature_code") || "" : "",
    };
  }

  function renderFindings(result) {
    document.getElementById("romanization").textContent = result.romanization || "—";
    conflicts.clearLayers();
    const box = document.getElementById("findings");
    if (!result.findings.length) {
      box.innerHTML = `<ul class="findings"><li class="finding ok">${esc(T.noFindings)}</li></ul>`;
    } else {
      box.innerHTML = `<ul class="findings">${result.findings.map((f) =>
        `<li class="finding ${esc(f.severity)}" data-rule="${esc(f.rule_id)}"><span class="badge ${esc(f.severity)}">${esc(f.severity)}</span> <code>${esc(f.rule_id)}</code> ${esc(f.message)}</li>`).join("")}</ul>`;
      result.findings.forEach((f) => (f.conflicts || []).forEach((c) => {
        if (c.lon != null && c.lat != null) {
          L.circleMarker([c.lat, c.lon], { radius: 8, color: f.severity === "error" ? "#d92d20" : "#f79009", fillOpacity: 0.6 })
            .bindTooltip(`${esc(T.conflict)}：${esc(c.name)}`, { permanent: true }).addTo(conflicts);
        }
      }));
    }
    box.dataset.count = String(result.findings.length);
    box.dataset.rules = result.findings.map((f) => f.rule_id).join(" ");
  }

  let timer = null;
  let seq = 0;
  function scheduleCheck() {
    clearTimeout(timer);
    timer = setTimeout(runCheck, 250);
  }
  function runCheck() {
    const body = payload();
    if (!body.name.trim()) return;
    const mine = ++seq;
    document.getElementById("findings").dataset.state = "checking";
    fetch("/api/placenames/check/", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json().then((j) => ({ ok: r.ok, j }))).then(({ ok, j }) => {
      if (mine !== seq) return;
      document.getElementById("findings").dataset.state = "done";
      if (ok) renderFindings(j);
      else document.getElementById("findings").innerHTML = `<p class="error">${esc(j.detail)}</p>`;
    });
  }
  form.addEventListener("input", scheduleCheck);

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const fd = new FormData(form);
    const body = payload();
    const item = { name: body.name, kind: body.kind, reading: body.reading, road_class: body.road_class, width_m: body.width_m, meaning: fd.get("meaning") || "" };
    if (fd.get("feature_code")) item.feature_code = fd.get("feature_code");
    if (body.geometry) item.geometry = body.geometry;
    const errorEl = document.getElementById("form-error");
    errorEl.textContent = "";
    fetch("/api/naming-cases/", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: JSON.stringify({
        kind: fd.get("kind"), division_code: fd.get("division_code"), title: fd.get("title"),
        applicant: fd.get("applicant"), reason: fd.get("reason") || "", items: [item],
      }),
    }).then((r) => r.json().then((j) => ({ ok: r.ok, j }))).then(({ ok, j }) => {
      if (ok) { window.location.href = `/placenames/cases/${j.id}/`; return; }
      const details = Object.entries(j.errors || {}).map(([k, v]) => `${k}: ${[].concat(v).join("；")}`).join("\n");
      errorEl.textContent = details || j.detail;
    });
  });
})();
