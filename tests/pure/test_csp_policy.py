"""The Content-Security-Policy builder (geo_mz/core/csp_policy.py): no database, no Django."""

from __future__ import annotations

import pytest

from geo_mz.core.csp_policy import content_security_policy, nonce_tags, tile_sources

NONCE = object()  # stands in for csp.constants.NONCE


def test_offline_basemap_adds_no_host() -> None:
    assert tile_sources("none", "https://tile.openstreetmap.org/{z}/{x}/{y}.png") == []
    img = content_security_policy("none", "", NONCE)["img-src"]
    assert img == ["'self'", "data:", "blob:"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", ["https://tile.openstreetmap.org"]),
        ("https://{s}.tile.example.org/osm/{z}/{x}/{y}.png", ["https://*.tile.example.org"]),
        ("http://tiles.county.lan:8080/{z}/{x}/{y}.png", ["http://tiles.county.lan:8080"]),
        ("https://user:secret@tiles.example.org/{z}/{x}/{y}.png", ["https://tiles.example.org"]),
        ("/tiles/base/{z}/{x}/{y}.png", []),  # same origin: 'self' covers it
    ],
)
def test_osm_tile_host_is_derived_from_the_url_template(url: str, expected: list[str]) -> None:
    assert tile_sources("osm", url) == expected


def test_tianditu_subdomains() -> None:
    assert tile_sources("tianditu", "") == ["https://*.tianditu.gov.cn"]


def test_policy_is_strict() -> None:
    policy = content_security_policy("osm", "https://tile.openstreetmap.org/{z}/{x}/{y}.png", NONCE)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", NONCE]
    assert policy["style-src"] == ["'self'", NONCE]
    joined = " ".join(str(v) for values in policy.values() for v in values)
    assert "unsafe-inline" not in joined and "unsafe-eval" not in joined
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert "https://tile.openstreetmap.org" in policy["img-src"]


def test_nonce_tags_marks_every_script_and_style_once() -> None:
    page = (
        '<style>a{}</style><script src="/s.js"></script><SCRIPT>x()</SCRIPT><script nonce="old">y()</script>'
    )
    out = nonce_tags(page, "abc123==")
    assert out.count('nonce="abc123=="') == 3
    assert '<script nonce="old">' in out
    assert nonce_tags("<scripts><styles>", "abc") == "<scripts><styles>"  # only whole tag names


def test_nonce_must_be_a_token() -> None:
    with pytest.raises(ValueError):
        nonce_tags("<script>", 'x" onload="alert(1)')
