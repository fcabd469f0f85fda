"""Content-Security-Policy directives for django-csp 4 (``CONTENT_SECURITY_POLICY["DIRECTIVES"]``).

Pure module (standard library only, no Django): settings.py builds the policy from the basemap
configuration, and views that serve generated pages (the folium analysis maps) give their inline
tags the request's nonce with :func:`nonce_tags`.

Policy, in short:

* everything from our own origin only (``default-src 'self'``); no ``'unsafe-inline'`` and no
  ``'unsafe-eval'`` for scripts or styles. Page data reaches scripts through ``json_script`` /
  ``type="application/json"`` blocks (not executed, so not subject to ``script-src``) and
  ``data-`` attributes; handlers are attached from static files. Leaflet and OpenLayers position
  their elements through the CSSOM (``element.style.x = …``), which CSP does not restrict.
* ``NONCE`` in ``script-src`` / ``style-src``: a page that asks for ``request.csp_nonce`` gets a
  per-response nonce for the few generated inline blocks it cannot avoid; pages that never ask send
  no nonce at all (django-csp strips the placeholder).
* images also from ``data:``/``blob:`` (Leaflet's blank tile, canvas exports) and from the configured
  basemap tile host(s) -- nothing else leaves the origin.
* no plugins, no foreign ``<base>``, forms post only to us, and no page may be framed.
"""

from __future__ import annotations

import re
from typing import Any, Final
from urllib.parse import urlsplit

SELF: Final = "'self'"
NONE: Final = "'none'"

#: Tianditu serves tiles from t0 … t7.tianditu.gov.cn (core/basemap.py uses the {s} subdomain).
TIANDITU_TILE_SOURCE: Final = "https://*.tianditu.gov.cn"

_TEMPLATE_PART: Final = re.compile(r"\{[^}]*\}")


def tile_sources(basemap: str, osm_tile_url: str) -> list[str]:
    """CSP host sources for the basemap tiles: ``[]`` for ``none`` (the offline default).

    The OSM URL is a Leaflet template such as ``https://{s}.tile.example.org/{z}/{x}/{y}.png``:
    a placeholder in the host becomes a ``*.`` wildcard for the rest of the host name; the path is
    dropped (a CSP source matches a host, optionally a port). A relative URL (tiles served by this
    same site) needs nothing beyond ``'self'``.
    """
    if basemap == "tianditu":
        return [TIANDITU_TILE_SOURCE]
    if basemap != "osm":
        return []
    parts = urlsplit(osm_tile_url.strip())
    if not parts.scheme or not parts.netloc:
        return []
    host = parts.netloc.rsplit("@", 1)[-1]  # never carry credentials into a header
    if _TEMPLATE_PART.search(host):
        labels = host.split(".")
        # keep the labels after the last templated one: "{s}.tile.osm.org" -> "*.tile.osm.org"
        last = max(i for i, label in enumerate(labels) if _TEMPLATE_PART.search(label))
        host = ".".join(["*", *labels[last + 1 :]])
    return [f"{parts.scheme}://{host}"]


def content_security_policy(basemap: str, osm_tile_url: str, nonce: Any) -> dict[str, Any]:
    """The ``DIRECTIVES`` dict for django-csp 4.

    ``nonce`` is django-csp's ``csp.constants.NONCE`` placeholder (passed in so this module needs no
    Django import). Returns a new dict each call.
    """
    return {
        "default-src": [SELF],
        "script-src": [SELF, nonce],
        "style-src": [SELF, nonce],
        "img-src": [SELF, "data:", "blob:", *tile_sources(basemap, osm_tile_url)],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }


_OPEN_TAG: Final = re.compile(r"<(script|style)\b(?![^>]*\bnonce=)", re.IGNORECASE)


def nonce_tags(page: str, nonce: str) -> str:
    """Give every ``<script>`` and ``<style>`` opening tag in ``page`` the attribute ``nonce``.

    Only for pages this application generates itself whose data is JSON-encoded with ``<`` escaped
    (folium writes ``\\u003c``), so text from users cannot open a tag of its own; never run it over
    HTML that embeds user text raw. Tags that already carry a nonce are left alone.
    """
    if not nonce or not re.fullmatch(r"[A-Za-z0-9+/=_-]+", nonce):
        raise ValueError("nonce must be a base64 token")
    return _OPEN_TAG.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', page)
