/* geo-mz admin map widget (core/widgets.py LocalMapWidget): starts GeoDjango's OpenLayers MapWidget
   from the options the template writes as JSON, instead of Django's inline <script>, which the
   Content-Security-Policy would block. Basemap as in core/basemap.py: none (offline), osm or tianditu. */
(function () {
  "use strict";
  function baseLayer(bm) {
    if (bm.kind === "osm") {
      return new ol.layer.Tile({ source: new ol.source.XYZ({ url: bm.url, attributions: bm.attribution }) });
    }
    if (bm.kind === "tianditu" && !bm.missing_key) {
      // Leaflet's {s} subdomain placeholder becomes OpenLayers' {0-7} range
      const url = bm.url.replace("t{s}", "t{0-7}");
      return new ol.layer.Tile({ source: new ol.source.XYZ({ url: url, attributions: bm.attribution }) });
    }
    return new ol.layer.Vector({ source: new ol.source.Vector() });
  }
  function start() {
    document.querySelectorAll('script[type="application/json"][id$="_map_widget_options"]').forEach((el) => {
      if (el.dataset.started) return;
      el.dataset.started = "true";
      const options = JSON.parse(el.textContent);
      const basemap = options.basemap || { kind: "none" };
      delete options.basemap;
      options.base_layer = baseLayer(basemap);
      window[options.module] = new MapWidget(options);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
