"""The Green Button Connect My Data API (ESPI 1.1 resource layout), for third parties with a live consent.

Every view reads through the consent on ``request.auth``: ids outside it are 404, data
kinds outside it are 403. Every request made under a consent is written to the
customer's access log, refused ones included.
"""

from __future__ import annotations

from django.http import StreamingHttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.views.decorators.gzip import gzip_page
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed, NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from thirdparty.api import resources
from thirdparty.api.auth import (
    ClientCredentials,
    ClientRateThrottle,
    ConsentAllowsKind,
    ConsentCredentials,
    ConsentRateThrottle,
    ConsentTokenAuthentication,
)
from thirdparty.api.filters import LIMIT_MAX_RESULTS, PAGING_PARAMETERS, espi_query
from thirdparty.api.renderers import AtomRenderer, EspiXmlRenderer, feed_json_chunks, feed_xml_chunks
from thirdparty.api.serializers import ENTRY, FEED, BatchFeed
from thirdparty.models import DataKind
from thirdparty.selectors import authorization_get_for_client, authorizations_list, consent_meters, meter_get_for_consent
from thirdparty.services.consent import access_log_items_set, access_log_record

FILTERS = [
    OpenApiParameter("published-min", OpenApiTypes.DATETIME, description="Earliest interval start served."),
    OpenApiParameter("published-max", OpenApiTypes.DATETIME, description="Latest interval start served (exclusive)."),
    OpenApiParameter("updated-min", OpenApiTypes.DATETIME, description="Only readings the utility received at or after this time."),
    OpenApiParameter("updated-max", OpenApiTypes.DATETIME, description="Only readings the utility received at or before this time."),
    OpenApiParameter(
        "max-results", {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX_RESULTS}, description="Entries per page (1000)."
    ),
    OpenApiParameter("start-index", {"type": "integer", "minimum": 1, "maximum": 10**9}, description="1-based index of the first entry."),
]
PAGING = [parameter for parameter in FILTERS if parameter.name in {"max-results", "start-index"}]
ERRORS = {
    400: OpenApiResponse(description="Malformed query parameter."),
    401: OpenApiResponse(description="Missing, invalid or expired token, or the authorization has ended (WWW-Authenticate: Bearer)."),
    403: OpenApiResponse(description="The authorization does not include this kind of data."),
    404: OpenApiResponse(description="Not found, or not part of this authorization."),
    429: OpenApiResponse(description="Rate limit reached (Retry-After)."),
}


def _feed(path: str, title: str, entries: list[dict], kind: str, total: int, query=None) -> dict:
    if query is None:
        return resources.feed(path, title, entries, kind=kind, total=total)
    return resources.feed(
        path, title, entries, kind=kind, total=total, start_index=query.start_index, max_results=query.max_results, carried=query.carried
    )


def _doc(operation_id: str, shape, summary: str, *, filters: bool = False, paging: bool = False, many: bool = False):
    """The operation's documentation; ``shape`` is its output serializer (``thirdparty.api.serializers``)."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        parameters=FILTERS if filters else PAGING if paging else [],
        responses={
            200: OpenApiResponse(response=shape, description="An Atom feed of entries" if many else "One Atom entry"),
            **ERRORS,
        },
    )


# A year's Batch is megabytes of XML, so the API answers gzip when asked (Accept-Encoding). Only the
# API: its responses carry no secret beside attacker-controlled text (the token travels in a request
# header), so BREACH has nothing to recover; HTML pages with CSRF tokens are never compressed.
@method_decorator(gzip_page, name="dispatch")
class EspiView(APIView):
    authentication_classes = [ConsentTokenAuthentication]
    # Checks the consent (or client access) and the data kind; no token at all is a 401 (DRF: no successful authenticator).
    permission_classes = [ConsentAllowsKind]
    throttle_classes = [ClientRateThrottle, ConsentRateThrottle]
    renderer_classes = [JSONRenderer, AtomRenderer, EspiXmlRenderer]
    required_kind: str | None = None
    # Whether a client-access token (client_credentials, no consent) may call this route.
    client_access = False

    def initial(self, request, *args, **kwargs):
        # ?format= overrides content negotiation; an empty or unknown one is a client error, not JSON by default.
        if "access_token" in request.query_params:
            # RFC 6750 2.3, not supported here: a token in a URL ends up in logs and histories.
            # Refused as an unsupported authentication method (401), even beside a good header.
            description = "Send the access token in the Authorization header (Bearer), never in the URL."
            request.oauth2_error = {"error": "invalid_request", "error_description": description}
            raise AuthenticationFailed(description)
        chosen = request.query_params.get("format")
        if chosen is not None and chosen not in {renderer.format for renderer in self.renderer_classes}:
            raise ValidationError({"format": "format must be json or xml (or leave it out and send Accept)."})
        super().initial(request, *args, **kwargs)

    @property
    def consent(self):
        return self.request.auth.consent

    @property
    def registration(self):
        """The calling third party's registration, with a customer's token or a client access token."""
        return self.request.auth.registration if isinstance(self.request.auth, ClientCredentials) else self.consent.application

    def subscription(self, subscription_id: int):
        if subscription_id != self.consent.pk:
            raise NotFound("No such subscription.")
        return self.consent

    def meter(self, subscription_id: int, usage_point_id: int):
        consent = self.subscription(subscription_id)
        meter = meter_get_for_consent(consent=consent, meter_id=usage_point_id)
        self.log_premise = meter.premise
        return meter

    def served(self, data, items: int) -> Response:
        self.items_served = items
        return Response(data)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Customer data: never kept by a proxy or the client's cache.
        add_never_cache_headers(response)
        if isinstance(getattr(request, "auth", None), ConsentCredentials):
            self.log_entry_id = access_log_record(
                consent=request.auth.consent,
                resource=request.get_full_path(),
                premise=getattr(self, "log_premise", None),
                items=getattr(self, "items_served", 0) if response.status_code < 400 else 0,
                status_code=response.status_code,
            )
        return response


class ReadServiceStatusApi(EspiView):
    client_access = True

    @_doc("read_service_status", ENTRY["ServiceStatus"], "Whether the data custodian is available")
    def get(self, request):
        return self.served(resources.service_status_entry(), 1)


class AuthorizationListApi(EspiView):
    client_access = True

    @_doc(
        "authorization_list",
        FEED["Authorization"],
        "With a customer's token: the authorization it was issued under. With a client access token "
        "(client_credentials): every authorization customers have given this third party, live or ended.",
        paging=True,
        many=True,
    )
    def get(self, request):
        path = f"{resources.ROOT}/Authorization"
        query = espi_query(request.query_params, allowed=PAGING_PARAMETERS)
        client = isinstance(request.auth, ClientCredentials)
        registration = request.auth.registration if client else self.consent.application
        consents, total = authorizations_list(registration=registration, consent=None if client else self.consent, query=query)
        entries = [resources.authorization_entry(consent) for consent in consents]
        return self.served(_feed(path, "Authorizations", entries, "Authorization", total, query), len(entries))


class AuthorizationApi(EspiView):
    client_access = True

    @_doc("authorization_retrieve", ENTRY["Authorization"], "One authorization: status, scope, authorized and published periods")
    def get(self, request, authorization_id: int):
        if isinstance(request.auth, ClientCredentials):
            return self.served(
                resources.authorization_entry(
                    authorization_get_for_client(registration=request.auth.registration, authorization_id=authorization_id)
                ),
                1,
            )
        return self.served(resources.authorization_entry(self.subscription(authorization_id)), 1)


class UsagePointListApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc("usage_point_list", FEED["UsagePoint"], "The usage points (meters) at the consented premises", filters=True, many=True)
    def get(self, request, subscription_id: int):
        consent = self.subscription(subscription_id)
        query = espi_query(request.query_params)
        meters = list(consent_meters(consent=consent))
        summaries = DataKind.USAGE_SUMMARY in request.auth.kinds
        entries = [resources.usage_point_entry(resources.paths_for(consent), m, with_summary=summaries) for m in query.page(meters)]
        path = f"{resources.ROOT}/Subscription/{consent.pk}/UsagePoint"
        return self.served(_feed(path, "Usage points", entries, "UsagePoint", len(meters), query), len(entries))


class UsagePointApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc("usage_point_retrieve", ENTRY["UsagePoint"], "One usage point")
    def get(self, request, subscription_id: int, usage_point_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        return self.served(
            resources.usage_point_entry(
                resources.paths_for(self.consent), meter, with_summary=DataKind.USAGE_SUMMARY in request.auth.kinds
            ),
            1,
        )


class MeterReadingListApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc("meter_reading_list", FEED["MeterReading"], "The meter readings (delivered, received) of a usage point", many=True)
    def get(self, request, subscription_id: int, usage_point_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        entries = [resources.meter_reading_entry(resources.paths_for(self.consent), meter, c) for c in resources.channels_for(meter)]
        path = f"{resources.ROOT}/Subscription/{self.consent.pk}/UsagePoint/{meter.pk}/MeterReading"
        return self.served(_feed(path, "Meter readings", entries, "MeterReading", len(entries)), len(entries))


class MeterReadingApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc("meter_reading_retrieve", ENTRY["MeterReading"], "One meter reading")
    def get(self, request, subscription_id: int, usage_point_id: int, meter_reading_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        channel = resources.channel_get(meter, meter_reading_id)
        return self.served(resources.meter_reading_entry(resources.paths_for(self.consent), meter, channel), 1)


class ReadingTypeApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc("reading_type_retrieve", ENTRY["ReadingType"], "The reading type of a meter reading (units, direction, interval)")
    def get(self, request, reading_type_id: str):
        meter_id, _, channel = reading_type_id.partition("-")
        if not meter_id.isdigit() or not channel.isdigit():
            raise NotFound("No such reading type.")
        meter = meter_get_for_consent(consent=self.consent, meter_id=int(meter_id))
        self.log_premise = meter.premise
        return self.served(resources.consent_reading_type_entry(self.consent, meter, resources.channel_get(meter, int(channel))), 1)


class IntervalBlockListApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc(
        "interval_block_list",
        FEED["IntervalBlock"],
        "Interval blocks (one per premise-local day) of a meter reading",
        filters=True,
        many=True,
    )
    def get(self, request, subscription_id: int, usage_point_id: int, meter_reading_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        channel = resources.channel_get(meter, meter_reading_id)
        query = espi_query(request.query_params)
        entries, total, readings = resources.interval_blocks(self.consent, meter, channel, query)
        path = f"{resources.ROOT}/Subscription/{self.consent.pk}/UsagePoint/{meter.pk}/MeterReading/{channel}/IntervalBlock"
        return self.served(_feed(path, "Interval blocks", entries, "IntervalBlock", total, query), readings)


class IntervalBlockApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc("interval_block_retrieve", ENTRY["IntervalBlock"], "One interval block: a premise-local day of readings (id YYYYMMDD)")
    def get(self, request, subscription_id: int, usage_point_id: int, meter_reading_id: int, interval_block_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        channel = resources.channel_get(meter, meter_reading_id)
        block, readings = resources.interval_block_get(self.consent, meter, channel, interval_block_id)
        return self.served(block, readings)


class UsageSummaryListApi(EspiView):
    required_kind = DataKind.USAGE_SUMMARY

    @_doc("usage_summary_list", FEED["UsageSummary"], "Monthly usage summaries with cost (cost in 1/100000 USD)", filters=True, many=True)
    def get(self, request, subscription_id: int, usage_point_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        query = espi_query(request.query_params)
        entries, total = resources.usage_summaries(self.consent, meter, query)
        path = f"{resources.ROOT}/Subscription/{self.consent.pk}/UsagePoint/{meter.pk}/UsageSummary"
        return self.served(_feed(path, "Usage summaries", entries, "UsageSummary", total, query), len(entries))


class UsageSummaryApi(EspiView):
    required_kind = DataKind.USAGE_SUMMARY

    @_doc("usage_summary_retrieve", ENTRY["UsageSummary"], "One month's usage summary with cost (id YYYYMM)")
    def get(self, request, subscription_id: int, usage_point_id: int, usage_summary_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        return self.served(resources.usage_summary_get(self.consent, meter, usage_summary_id), 1)


class ReadingTypeListApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc(
        "reading_type_list", FEED["ReadingType"], "The reading types of every meter reading under the authorization", paging=True, many=True
    )
    def get(self, request):
        query = espi_query(request.query_params, allowed=PAGING_PARAMETERS)
        found = resources.reading_types(self.consent)
        entries = query.page(found)
        return self.served(_feed(f"{resources.ROOT}/ReadingType", "Reading types", entries, "ReadingType", len(found), query), len(entries))


class LocalTimeParametersListApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc(
        "local_time_parameters_list",
        FEED["LocalTimeParameters"],
        "The time zone rules of each premise under the authorization",
        paging=True,
        many=True,
    )
    def get(self, request):
        query = espi_query(request.query_params, allowed=PAGING_PARAMETERS)
        found = resources.local_time_parameters(self.consent)
        entries = query.page(found)
        path = f"{resources.ROOT}/LocalTimeParameters"
        return self.served(_feed(path, "Local time parameters", entries, "LocalTimeParameters", len(found), query), len(entries))


class LocalTimeParametersApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE

    @_doc(
        "local_time_parameters_retrieve",
        ENTRY["LocalTimeParameters"],
        "A premise's time zone: standard offset and US daylight-saving rules",
    )
    def get(self, request, local_time_parameters_id: int):
        found, self.log_premise = resources.local_time_parameters_get(self.consent, local_time_parameters_id)
        return self.served(found, 1)


class ApplicationInformationListApi(EspiView):
    client_access = True

    @_doc(
        "application_information_list",
        FEED["ApplicationInformation"],
        "The calling third party's own registration (never its client secret)",
        many=True,
    )
    def get(self, request):
        entries = [resources.application_information_entry(self.registration, base=_base(request))]
        path = f"{resources.ROOT}/ApplicationInformation"
        return self.served(_feed(path, "Application information", entries, "ApplicationInformation", 1), 1)


class ApplicationInformationApi(EspiView):
    client_access = True

    @_doc(
        "application_information_retrieve",
        ENTRY["ApplicationInformation"],
        "The calling third party's registration (never its client secret: a placeholder)",
    )
    def get(self, request, application_information_id: int):
        if application_information_id != self.registration.pk:
            raise NotFound("No such application information.")
        return self.served(resources.application_information_entry(self.registration, base=_base(request)), 1)


def _base(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


class BatchSubscriptionApi(EspiView):
    required_kind = DataKind.INTERVAL_USAGE
    feed_root = "Batch/Subscription"

    @_doc("batch_subscription", BatchFeed, "Everything in the subscription as one feed, paged and streamed", filters=True, many=True)
    def get(self, request, subscription_id: int):
        consent = self.subscription(subscription_id)
        query = espi_query(request.query_params)
        meters = list(consent_meters(consent=consent))
        summaries = DataKind.USAGE_SUMMARY in request.auth.kinds
        path = f"{resources.ROOT}/{self.feed_root}/{consent.pk}"
        total = resources.batch_total(consent, meters, query, summaries)
        head = _feed(path, "Batch subscription", [], "Subscription", total, query)
        counter = [0]
        entries = resources.batch_entries(consent, meters, query, counter, summaries=summaries)
        if isinstance(request.accepted_renderer, AtomRenderer):
            chunks, content_type = feed_xml_chunks(head, entries, _base(request)), request.accepted_renderer.media_type
        else:
            chunks, content_type = feed_json_chunks(head, entries), "application/json"
        return StreamingHttpResponse(self._count_when_done(chunks, counter), content_type=f"{content_type}; charset=utf-8")

    def _count_when_done(self, chunks, counter):
        """The access log gets the number of readings once the stream has been sent."""
        yield from chunks
        entry_id = getattr(self, "log_entry_id", None)
        if entry_id is not None:
            access_log_items_set(entry_id=entry_id, items=counter[0])


class SubscriptionApi(BatchSubscriptionApi):
    """ESPI's Subscription resource: the same feed as Batch/Subscription, at the URI the Authorization names."""

    feed_root = "Subscription"

    @_doc(
        "subscription_retrieve",
        BatchFeed,
        "The subscription: everything it covers as one feed, paged and streamed",
        filters=True,
        many=True,
    )
    def get(self, request, subscription_id: int):
        return super().get(request, subscription_id)
