"""API benchmarks against the real PostGIS database (the demo county must be loaded: `make setup`)."""

from __future__ import annotations

import json

from bench.runner import Case


def cases() -> list[Case]:
    import django
    from django.test import Client

    django.setup()
    from django.core.serializers import serialize

    from geo_mz.divisions.models import Division

    client = Client(HTTP_HOST="127.0.0.1")

    def ours() -> None:
        response = client.get("/api/divisions/", {"within": "421281"})
        assert response.status_code == 200
        json.loads(response.content)

    def reference() -> None:
        qs = Division.objects.filter(code__startswith="421281")
        json.loads(serialize("geojson", qs, geometry_field="geom", srid=4326))

    return [
        Case(
            "GET /api/divisions/?within=421281 (210 features, GeoJSON 4326)",
            ours,
            reference,
            "Django's built-in GeoJSON serializer, same rows",
            repeat=5,
        )
    ]
