"""/api/addresses/, /api/address-cases/ and /api/certificates/: house numbers (GeoJSON, lon/lat),
search and reverse geocoding, the numbering workbench (preview, impact, commit), compounds, village
batches, cases through 申请 → 编制 → 审核 → 发证, certificates (PDF, reissue, cancel, public
verification), address proofs, import and export. Thin: everything goes through services/selectors.
No endpoint returns an owner's personal data to anonymous users."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, parser_classes, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from geo_mz.addresses import import_jobs, importers, selectors, services, workflow
from geo_mz.addresses.models import Address, AddressCase, AddressKind, Certificate
from geo_mz.api import params
from geo_mz.api.exports import job_json
from geo_mz.api.personal import AddressesReadable, scoped
from geo_mz.api.placenames import _geom_from_request, _lonlat
from geo_mz.api.text_params import text_param
from geo_mz.core import crs, visibility
from geo_mz.core.limits import MAX_TEXT_CHARS
from geo_mz.core.models import Job
from geo_mz.divisions.models import Division, Level
from geo_mz.placenames.models import NamedFeature


def address_props(a: Address) -> dict:
    return {
        "code": a.code,
        "kind": a.kind,
        "kind_label": a.get_kind_display(),
        "status": a.status,
        "status_label": a.get_status_display(),
        "label": a.label,
        "full_text": a.full_text,
        "road": a.feature.code if a.feature_id and a.kind == AddressKind.ROAD else None,
        "compound": a.feature.code if a.feature_id and a.kind == AddressKind.COMPOUND else None,
        "number": a.number,
        "suffix": a.suffix,
        "building_no": a.building_no,
        "unit_no": a.unit_no,
        "room": a.room,
        "group": a.group,
        "division_code": a.division.code,
        "side": a.side,
        "chainage_m": a.chainage_m,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "lonlat": _lonlat(a.point),
    }


def _feature(a: Address) -> dict:
    return {
        "type": "Feature",
        "id": a.code,
        "geometry": {"type": "Point", "coordinates": _lonlat(a.point)},
        "properties": address_props(a),
    }


def _bbox(request) -> tuple[float, float, float, float] | None:
    raw = request.query_params.get("bbox")
    if not raw:
        return None
    try:
        bbox = tuple(float(v) for v in raw.split(","))
        if len(bbox) != 4:
            raise ValueError
        crs.check_lonlat(bbox[0], bbox[1])
        crs.check_lonlat(bbox[2], bbox[3])
    except (ValueError, crs.CoordinateError) as exc:
        raise serializers.ValidationError(
            {"bbox": [f"bbox 应为 minlon,minlat,maxlon,maxlat：{exc}"]}
        ) from exc
    return bbox  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------
# Addresses
# ---------------------------------------------------------------------------------------------------


class AddressViewSet(viewsets.ViewSet):
    """Entrance-level house numbers (rooms are listed under their building). Reading them needs a
    signed-in user unless settings.GEO_MZ_ADDRESSES_PUBLIC is on."""

    permission_classes = [IsAuthenticatedOrReadOnly, AddressesReadable]
    lookup_field = "code"

    @extend_schema(
        parameters=[
            OpenApiParameter("bbox", str, description="minlon,minlat,maxlon,maxlat (EPSG:4490)"),
            params.int_param("limit", minimum=1, maximum=20000, description="default 5000"),
        ]
    )
    def list(self, request):
        rows = selectors.addresses_geojson_rows(
            _bbox(request), limit=params.query_int(request, "limit", 5000, min_value=1, max_value=20000)
        )
        return Response(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "id": r["code"],
                        "geometry": {
                            "type": "Point",
                            "coordinates": [round(r["lon"], 7), round(r["lat"], 7)],
                        },
                        "properties": {
                            k: r[k] for k in ("code", "label", "status", "kind", "side", "number")
                        },
                    }
                    for r in rows
                ],
            }
        )

    def retrieve(self, request, code=None):
        address = get_object_or_404(Address.objects.select_related("division", "feature"), code=code)
        body = _feature(address)
        body["properties"]["history"] = [
            {
                "code": a.code,
                "full_text": a.full_text,
                "status": a.status,
                "valid_from": a.valid_from,
                "valid_to": a.valid_to,
            }
            for a in selectors.address_history(address)
        ]
        return Response(body)

    @extend_schema(
        parameters=[
            params.str_param("q", max_length=MAX_TEXT_CHARS, required=True),
            params.int_param("limit", minimum=1, maximum=50, description="default 10"),
        ]
    )
    @action(detail=False, methods=["get"])
    def search(self, request):
        q = text_param(request, "q", MAX_TEXT_CHARS).strip()
        if not q:
            raise serializers.ValidationError({"q": ["请输入地址 / the query is empty"]})
        try:
            parsed, matches = selectors.address_search(
                q, limit=params.query_int(request, "limit", 10, min_value=1, max_value=50)
            )
        except ValueError as exc:
            raise serializers.ValidationError({"q": [str(exc)]}) from exc
        return Response(
            {
                "query": q,
                "parsed": {
                    k: getattr(parsed, k)
                    for k in (
                        "county",
                        "township",
                        "village",
                        "group",
                        "road",
                        "compound",
                        "number",
                        "suffix",
                        "building",
                        "unit",
                        "room",
                        "kind",
                    )
                },
                "warnings": list(parsed.warnings),
                "results": [{**_feature(m.address), "score": m.score, "reasons": m.reasons} for m in matches],
            }
        )

    @extend_schema(
        parameters=[
            params.float_param("lon", minimum=-180, maximum=180, required=True),
            params.float_param("lat", minimum=-90, maximum=90, required=True),
            OpenApiParameter("coordinate_system", str, enum=["wgs84", "cgcs2000", "gcj02", "bd09"]),
            params.int_param("limit", minimum=1, maximum=20, description="default 1"),
        ]
    )
    @action(detail=False, methods=["get"])
    def reverse(self, request):
        lon = params.query_float(request, "lon", min_value=-180, max_value=180)
        lat = params.query_float(request, "lat", min_value=-90, max_value=90)
        if lon is None or lat is None:
            raise params.invalid("lon" if lon is None else "lat", _("请给出经度 lon 和纬度 lat"))
        limit = params.query_int(request, "limit", 1, min_value=1, max_value=20)
        try:
            system = request.query_params.get("coordinate_system", "wgs84")
            lon, lat = crs.to_wgs84(lon, lat, system)
            found = selectors.address_reverse(lon, lat, limit=limit)
            road = selectors.road_reverse(lon, lat)
        except (KeyError, ValueError) as exc:
            raise serializers.ValidationError({"lon/lat": [f"需要数字经纬度 lon、lat：{exc}"]}) from exc
        return Response(
            {
                "results": [{**_feature(a), "distance_m": round(d, 2)} for a, d in found],
                "road": {"feature_id": road[0], "name": road[1], "distance_m": round(road[2], 2)}
                if road
                else None,
            }
        )

    @action(detail=True, methods=["get"], url_path="proof.pdf", permission_classes=[IsAuthenticated])
    def proof(self, request, code=None):
        address = get_object_or_404(Address, code=code)
        services._guard(request.user, [address.division.code])
        pdf = services.address_proof_document(
            address,
            holder=request.query_params.get("holder", ""),
            purpose=request.query_params.get("purpose", ""),
        )
        return _pdf(pdf, f"address-proof-{address.code}.pdf")


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


class EntranceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AddressKind.choices, default=AddressKind.ROAD)
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    geometry = serializers.JSONField(required=False)
    coordinate_system = serializers.CharField(required=False, default="wgs84")
    feature = serializers.CharField(required=False, allow_blank=True, help_text="道路/小区编码")
    village = serializers.CharField(required=False, allow_blank=True, help_text="村级区划代码")
    group = serializers.CharField(required=False, allow_blank=True, max_length=30)
    use = serializers.CharField(required=False, allow_blank=True, max_length=20)


@extend_schema(request=EntranceSerializer)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def entrance_create(request):
    data = EntranceSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    point = _geom_from_request(request.data)
    if point is None or point.geom_type != "Point":
        raise serializers.ValidationError({"geometry": ["请给出门口位置（点）/ a point is required"]})
    v = data.validated_data
    feature = get_object_or_404(NamedFeature, code=v["feature"]) if v.get("feature") else None
    village = (
        get_object_or_404(Division, code=v["village"], level=Level.VILLAGE) if v.get("village") else None
    )
    address = services.entrance_add(
        kind=v["kind"],
        point=point,
        feature=feature,
        village=village,
        group=v.get("group", ""),
        use=v.get("use", ""),
        user=request.user,
    )
    return Response(_feature(address), status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------------
# Numbering workbench
# ---------------------------------------------------------------------------------------------------


def preview_payload(preview: services.RoadPreview) -> dict:
    result = preview.result
    features = []
    for address, a in preview.proposals():
        features.append(
            {
                "type": "Feature",
                "id": address.code,
                "geometry": {"type": "Point", "coordinates": _lonlat(address.point)},
                "properties": {
                    "id": address.pk,
                    "code": address.code,
                    "status": a.status,
                    "label": a.label,
                    "number": a.number,
                    "suffix": a.suffix,
                    "side": a.side,
                    "odd": a.number is not None and a.number % 2 == 1,
                    "chainage_m": round(a.chainage_m, 1),
                    "offset_m": round(a.offset_m, 1),
                    "reason": a.reason,
                    "current": address.label if address.status == "active" else "",
                },
            }
        )
    axis = result.axis if result else None
    return {
        "road": {"code": preview.feature.code, "name": services._feature_name(preview.feature)},
        "rules": preview.rules.to_dict(),
        "error": preview.error,
        "direction": axis.direction if axis else None,
        "odd_side": axis.odd_side if axis else None,
        "length_m": round(axis.length_m, 1) if axis else None,
        "findings": [
            {"code": f.code, "severity": f.severity, "message": f.message, "keys": list(f.keys)}
            for f in (result.findings if result else [])
        ],
        "pending": sum(1 for _, a in preview.proposals() if a.status in ("new", "infill")),
        "features": {"type": "FeatureCollection", "features": features},
    }


class CommitSerializer(serializers.Serializer):
    only = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="只编这些门口（id）"
    )
    adjustments = serializers.DictField(
        child=serializers.CharField(), required=False, help_text='门口 id → 门牌号，如 {"12": "15之一"}'
    )


def _road(code: str) -> NamedFeature:
    return get_object_or_404(
        NamedFeature.objects.select_related("division", "kind"), code=code, kind__is_road=True
    )


@extend_schema(parameters=[OpenApiParameter("renumber", bool)])
@api_view(["GET"])
@permission_classes([IsAuthenticatedOrReadOnly, AddressesReadable])
def road_numbering(request, code: str):
    """The engine's proposal for the road's pending entrances, or a full renumbering preview."""
    preview = services.road_numbering_preview(_road(code), renumber=params.query_bool(request, "renumber"))
    return Response(preview_payload(preview))


@api_view(["GET"])
@permission_classes([IsAuthenticatedOrReadOnly, AddressesReadable])
def road_impact(request, code: str):
    """Which active numbers and valid certificates a full renumbering would change."""
    changes = services.renumber_impact(_road(code))
    return Response(
        {
            "changes": changes,
            "addresses": len(changes),
            "certificates": sum(1 for c in changes if c["certificate"]),
        }
    )


@extend_schema(request=CommitSerializer)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def road_commit(request, code: str):
    data = CommitSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    road = _road(code)
    done = services.road_numbering_commit(
        road.pk,
        only=data.validated_data.get("only"),
        adjustments=data.validated_data.get("adjustments"),
        user=request.user,
    )
    return Response({"committed": [_feature(a) for a in done]}, status=status.HTTP_201_CREATED)


@api_view(["POST"])
@permission_classes([IsAuthenticated])
def compound_number(request, code: str):
    compound = get_object_or_404(NamedFeature, code=code, kind__code="compound")
    done = services.compound_number(
        compound.pk,
        with_rooms=request.data.get("with_rooms", True) not in (False, "false", "0"),
        user=request.user,
    )
    return Response({"created": len(done)}, status=status.HTTP_201_CREATED)


@api_view(["GET"])
@permission_classes([IsAuthenticatedOrReadOnly])
def villages(request):
    rows, totals = selectors.village_progress()
    return Response({"totals": totals, "villages": [{**r.__dict__, "complete": r.complete} for r in rows]})


@api_view(["POST"])
@permission_classes([IsAuthenticated])
def village_number(request, code: str):
    done = services.village_number(code, user=request.user)
    return Response({"numbered": len(done)}, status=status.HTTP_201_CREATED)


# ---------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------


class CaseCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("new", "新编门牌"), ("change", "门牌变更")], default="new")
    owner = serializers.CharField(max_length=100)
    owner_kind = serializers.ChoiceField(choices=[("person", "个人"), ("unit", "单位")], default="person")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
    lon = serializers.FloatField(required=False)
    lat = serializers.FloatField(required=False)
    coordinate_system = serializers.CharField(required=False, default="wgs84")
    road = serializers.CharField(required=False, allow_blank=True, help_text="道路编码（缺省为最近的道路）")
    address = serializers.CharField(required=False, allow_blank=True, help_text="已有门牌编码（只需发证）")
    replaces = serializers.CharField(required=False, allow_blank=True, help_text="变更：原门牌编码")
    village = serializers.CharField(required=False, allow_blank=True)
    group = serializers.CharField(required=False, allow_blank=True, max_length=30)
    previous_address = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT_CHARS)
    previous_source = serializers.CharField(required=False, allow_blank=True, max_length=20)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class CaseActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(workflow.TRANSITIONS))
    version = serializers.IntegerField(required=False)
    comment = serializers.CharField(required=False, allow_blank=True)


class AdjustSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="如 15、15之一、15-1、甲15")
    version = serializers.IntegerField(required=False)


def case_payload(case: AddressCase, *, with_owner: bool = True) -> dict:
    address = case.address
    body = {
        "id": case.pk,
        "number": case.number,
        "kind": case.kind,
        "state": case.state,
        "state_label": case.get_state_display(),
        "version": case.version,
        "applied_on": case.applied_on,
        "due_on": case.due_on,
        "issued_on": case.issued_on,
        "division_code": case.division.code,
        "address": _feature(address),
        "replaces": case.replaces.code if case.replaces_id else None,
        "findings": case.findings,
        "actions": [
            {"action": a, "label": workflow.ACTION_LABELS[a]} for a in workflow.allowed_actions(case.state)
        ],
        "certificates": [
            {"serial": c.serial, "status": c.status, "issued_on": c.issued_on}
            for c in case.certificates.all()
        ],
        "events": [
            {"action": e.action, "from": e.from_state, "to": e.to_state, "at": e.at, "comment": e.comment}
            for e in case.events.all()
        ],
    }
    if with_owner:
        body.update(
            owner=case.owner,
            owner_kind=case.owner_kind,
            phone=case.phone,
            previous_address=case.previous_address,
            previous_source=case.previous_source,
        )
    return body


def _scoped_case(request, case: AddressCase, body: dict) -> dict:
    """Owner, phone and previous address only for the house-number role in the case's jurisdiction."""
    return scoped(body, request.user, "addresses", [case.division.code])


class AddressCaseViewSet(viewsets.ViewSet):
    """House-number cases. Owners and phones are masked outside the user's role and jurisdiction."""

    lookup_value_regex = params.NUMERIC_ID

    permission_classes = [IsAuthenticated]

    def _case(self, pk) -> AddressCase:
        return get_object_or_404(
            AddressCase.objects.select_related(
                "address__division", "address__feature", "division", "replaces"
            ),
            pk=pk,
        )

    @extend_schema(parameters=[OpenApiParameter("state", str)])
    def list(self, request):
        rows = selectors.case_queue(state=request.query_params.get("state"))
        return Response(
            [
                _scoped_case(
                    request,
                    c,
                    {
                        "id": c.pk,
                        "number": c.number,
                        "kind": c.kind,
                        "state": c.state,
                        "state_label": c.get_state_display(),
                        "owner": c.owner,
                        "address": c.address.full_text,
                        "applied_on": c.applied_on,
                        "due_on": c.due_on,
                        "working_days_left": c.days_left,
                    },
                )
                for c in rows
            ]
        )

    def retrieve(self, request, pk=None):
        return Response(_scoped_case(request, case := self._case(pk), case_payload(case)))

    @extend_schema(request=CaseCreateSerializer)
    def create(self, request):
        data = CaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        point = _geom_from_request(request.data)
        case = services.address_case_create(
            kind=v["kind"],
            owner=v["owner"],
            owner_kind=v["owner_kind"],
            phone=v.get("phone", ""),
            point=point,
            feature=_road(v["road"]) if v.get("road") else None,
            address=get_object_or_404(Address, code=v["address"]) if v.get("address") else None,
            replaces=get_object_or_404(Address, code=v["replaces"]) if v.get("replaces") else None,
            village=get_object_or_404(Division, code=v["village"], level=Level.VILLAGE)
            if v.get("village")
            else None,
            group=v.get("group", ""),
            previous_address=v.get("previous_address", ""),
            previous_source=v.get("previous_source", ""),
            reason=v.get("reason", ""),
            user=request.user,
        )
        return Response(
            _scoped_case(request, case, case_payload(self._case(case.pk))), status=status.HTTP_201_CREATED
        )

    @extend_schema(request=CaseActionSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        data = CaseActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        case = services.address_case_transition(
            int(pk),
            v["action"],
            user=request.user,
            expected_version=v.get("version"),
            comment=v.get("comment", ""),
        )
        return Response(_scoped_case(request, case, case_payload(self._case(case.pk))))

    @extend_schema(request=AdjustSerializer)
    @action(detail=True, methods=["post"])
    def adjust(self, request, pk=None):
        data = AdjustSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.address_case_adjust(
            int(pk),
            number_text_value=data.validated_data["number"],
            expected_version=data.validated_data.get("version"),
            user=request.user,
        )
        return Response(_scoped_case(request, case, case_payload(self._case(case.pk))))


# ---------------------------------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------------------------------


class ReissueSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[("补发", "补发"), ("换发", "换发")], default="补发")
    reason = serializers.CharField()
    owner = serializers.CharField(required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField()
    version = serializers.IntegerField(required=False)


def certificate_visible(request, cert: Certificate) -> bool:
    """May this user read the certificate's owner (and its PDF)? See core/visibility.py."""
    return visibility.personal_visible(request.user, "addresses", [cert.address.division.code])


def certificate_payload(cert: Certificate, request=None) -> dict:
    """The certificate as `request.user` may see it (owner masked outside their role/jurisdiction)."""
    body = {
        "serial": cert.serial,
        "status": cert.status,
        "status_label": cert.get_status_display(),
        "version": cert.version,
        "owner": cert.owner,
        "owner_kind": cert.owner_kind,
        "address": cert.address.full_text,
        "address_code": cert.address.code,
        "issued_on": cert.issued_on,
        "issue_kind": cert.issue_kind,
        "issuing_office": cert.issuing_office,
        "ended_on": cert.ended_on,
        "end_reason": cert.end_reason,
        "replaces": cert.replaces.serial if cert.replaces_id else None,
        "verify_url": services.verify_url(cert),
        "pdf": f"/api/certificates/{cert.serial}/certificate.pdf/",
    }
    return visibility.redact(body, request is not None and certificate_visible(request, cert))


class CertificateViewSet(viewsets.ViewSet):
    permission_classes = [IsAuthenticated]
    lookup_field = "serial"
    lookup_value_regex = r"[0-9A-Za-z-]+"

    def _cert(self, serial) -> Certificate:
        return get_object_or_404(
            Certificate.objects.select_related("address__division", "replaces"), serial=serial
        )

    def list(self, request):
        qs = Certificate.objects.select_related("address__division", "replaces").order_by(
            "-issued_on", "-serial"
        )
        if request.query_params.get("status"):
            qs = qs.filter(status=request.query_params["status"])
        return Response([certificate_payload(c, request) for c in qs[:200]])

    def retrieve(self, request, serial=None):
        return Response(certificate_payload(self._cert(serial), request))

    @action(detail=True, methods=["get"], url_path="certificate.pdf")
    def pdf(self, request, serial=None):
        cert = self._cert(serial)
        if not certificate_visible(request, cert):
            # 404, not 403: whether a serial exists is not told to those who may not read it
            raise exceptions.NotFound("没有这个门牌证 / no such certificate")
        return _pdf(services.certificate_document(cert), f"certificate-{cert.serial}.pdf")

    @extend_schema(request=ReissueSerializer)
    @action(detail=True, methods=["post"])
    def reissue(self, request, serial=None):
        data = ReissueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        new = services.certificate_reissue(
            self._cert(serial).pk,
            reason=v["reason"],
            kind=v["kind"],
            owner=v.get("owner") or None,
            expected_version=v.get("version"),
            user=request.user,
        )
        return Response(certificate_payload(new, request), status=status.HTTP_201_CREATED)

    @extend_schema(request=CancelSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, serial=None):
        data = CancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cert = services.certificate_cancel(
            self._cert(serial).pk,
            reason=data.validated_data["reason"],
            expected_version=data.validated_data.get("version"),
            user=request.user,
        )
        return Response(certificate_payload(cert, request))


@extend_schema(responses={200: dict, 404: dict})  # 404 carries found/valid too, not the error shape
@api_view(["GET"])
@permission_classes([AllowAny])
def certificate_verify(request, token: str):
    """Public: valid or not, the address and the issue date. Never the owner."""
    v = selectors.certificate_verify(token)
    if not v.found:
        return Response(
            {"found": False, "valid": False, "detail": "未找到该门牌证 / not found"},
            status=status.HTTP_404_NOT_FOUND,
        )
    return Response(
        {
            "found": True,
            "valid": v.valid,
            "status": v.status,
            "serial": v.serial,
            "address": v.address,
            "issued_on": v.issued_on,
            "issuing_office": v.issuing_office,
        }
    )


# ---------------------------------------------------------------------------------------------------
# Import / export
# ---------------------------------------------------------------------------------------------------


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=True)
    coordinate_system = serializers.ChoiceField(choices=list(crs.COORDINATE_SYSTEMS), default="wgs84")
    background = serializers.BooleanField(
        default=False,
        help_text="后台任务导入（大于 GEO_MZ_IMPORT_BACKGROUND_MB 或多于 GEO_MZ_IMPORT_BACKGROUND_ROWS 行的文件总是"
        "后台导入）；202 + 任务，进度见 /api/address-imports/<id>/ / run as a background job (always for files "
        "over GEO_MZ_IMPORT_BACKGROUND_MB or GEO_MZ_IMPORT_BACKGROUND_ROWS rows): 202 with the job",
    )


@extend_schema(request={"multipart/form-data": ImportSerializer}, responses={200: dict, 202: dict})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@parser_classes([MultiPartParser, FormParser, JSONParser])
def addresses_import(request):
    """Import house numbers: dry run by default, all or nothing. Excel/CSV tables and large vector
    files are checked and written set-based (COPY); with `background`, or a file over
    GEO_MZ_IMPORT_BACKGROUND_MB or with more than GEO_MZ_IMPORT_BACKGROUND_ROWS rows (estimated from the
    file), the import is queued as a job: 202 with the job, whose result is the same report."""
    data = ImportSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    if import_jobs.import_runs_in_background(v["file"], v["background"], user=request.user):
        job = import_jobs.import_job_submit(
            v["file"], dry_run=v["dry_run"], coordinate_system=v["coordinate_system"], user=request.user
        )
        return Response(job_json(job, request), status=status.HTTP_202_ACCEPTED)
    report = importers.addresses_import_upload(
        v["file"], dry_run=v["dry_run"], coordinate_system=v["coordinate_system"], user=request.user
    )
    return Response(report.as_dict(), status=status.HTTP_200_OK if report.ok else status.HTTP_400_BAD_REQUEST)


@extend_schema(responses={200: dict})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def address_import_job(request, pk: int):
    """A background address import: status, progress (features read of the total, then the database
    steps) and, when done, the report in `result`. Only its submitter (or staff) sees it."""
    job = Job.objects.filter(pk=pk, kind=import_jobs.JOB_KIND).first()
    if job is None or (job.created_by_id != request.user.pk and not request.user.is_staff):
        raise exceptions.NotFound("没有这个导入任务 / no such import job")
    return Response(job_json(job, request))


@api_view(["GET"])
@permission_classes([AllowAny])
def addresses_import_template(request):
    response = HttpResponse(importers.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="addresses-template.csv"'
    return response


@api_view(["GET"])
@permission_classes([IsAuthenticatedOrReadOnly, AddressesReadable])
def addresses_export(request, fmt: str):
    county = settings.GEO_MZ_COUNTY_CODE
    if fmt == "xlsx":
        response = HttpResponse(
            importers.addresses_export_xlsx(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    elif fmt == "gpkg":
        response = HttpResponse(
            importers.addresses_export_gpkg(), content_type="application/geopackage+sqlite3"
        )
    else:
        raise serializers.ValidationError({"format": ["支持 xlsx 或 gpkg / use xlsx or gpkg"]})
    response["Content-Disposition"] = f'attachment; filename="addresses-{county}.{fmt}"'
    return response
