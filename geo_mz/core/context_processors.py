from django.conf import settings


def geo_mz(request):
    return {
        "GEO_MZ_BASEMAP": settings.GEO_MZ_BASEMAP,
        "GEO_MZ_COUNTY_CODE": settings.GEO_MZ_COUNTY_CODE,
    }
