"""OGC API – Features routes (/ogc/…). Each collection gets its own /items route, so the OpenAPI
document (/api/schema/) lists that collection's property filters; the generic routes answer the rest."""

from django.urls import path

from geo_mz.api import ogc

urlpatterns = [
    path("", ogc.LandingView.as_view(), name="ogc-landing"),
    path("conformance", ogc.ConformanceView.as_view(), name="ogc-conformance"),
    path("collections", ogc.CollectionsView.as_view(), name="ogc-collections"),
    *(
        path(
            f"collections/{c.id}/items",
            ogc.items_view_for(c).as_view(),
            {"collection_id": c.id},
            name=f"ogc-items-{c.id}",
        )
        for c in ogc.COLLECTIONS.values()
    ),
    path("collections/<str:collection_id>", ogc.CollectionView.as_view(), name="ogc-collection"),
    path("collections/<str:collection_id>/schema", ogc.SchemaView.as_view(), name="ogc-schema"),
    path("collections/<str:collection_id>/queryables", ogc.QueryablesView.as_view(), name="ogc-queryables"),
    path("collections/<str:collection_id>/items", ogc.ItemsView.as_view(), name="ogc-items"),
    path("collections/<str:collection_id>/items/<str:feature_id>", ogc.ItemView.as_view(), name="ogc-item"),
]
