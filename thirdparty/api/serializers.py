"""Output shapes of the third-party API, for the OpenAPI schema (drf-spectacular) and its readers.

The views build plain dicts (``billing.formats.espi_write``); these serializers only describe
them. An entry's ``content`` holds ESPI element names in schema order; each resource type has
its own content shape, and a Batch mixes them (its entries are described generically).
"""

from __future__ import annotations

from rest_framework import serializers

LINK_RELS = ["self", "up", "related", "first", "previous", "next", "last"]


class LinkSerializer(serializers.Serializer):
    rel = serializers.ChoiceField(choices=LINK_RELS)
    href = serializers.CharField(help_text="A path on this server (absolute URL in Atom XML).")
    type = serializers.CharField(required=False, help_text="GBA link type: espi-entry/<Resource> or espi-feed/<Resource>.")


class PeriodSerializer(serializers.Serializer):
    duration = serializers.IntegerField(help_text="Seconds.")
    start = serializers.IntegerField(help_text="Unix time (seconds).")


class _Content(serializers.Serializer):
    pass


class ServiceStatusContent(_Content):
    currentStatus = serializers.IntegerField(help_text="1: available.")


class AuthorizationContent(_Content):
    authorizedPeriod = PeriodSerializer()
    publishedPeriod = PeriodSerializer()
    status = serializers.IntegerField(help_text="1: active, 0: ended.")
    expires_at = serializers.IntegerField()
    scope = serializers.CharField()
    token_type = serializers.CharField()
    resourceURI = serializers.CharField()
    authorizationURI = serializers.CharField()


class ServiceCategorySerializer(serializers.Serializer):
    kind = serializers.IntegerField(help_text="0 electricity, 1 gas, 2 water.")


class UsagePointContent(_Content):
    ServiceCategory = ServiceCategorySerializer()


class MeterReadingContent(_Content):
    pass


class ReadingTypeContent(_Content):
    accumulationBehaviour = serializers.IntegerField()
    commodity = serializers.IntegerField()
    dataQualifier = serializers.IntegerField()
    flowDirection = serializers.IntegerField(help_text="1 delivered, 19 received.")
    intervalLength = serializers.IntegerField(help_text="Seconds.")
    kind = serializers.IntegerField()
    powerOfTenMultiplier = serializers.IntegerField()
    timeAttribute = serializers.IntegerField()
    uom = serializers.IntegerField(help_text="72 Wh, 169 therm, 42 m³.")


class ReadingQualitySerializer(serializers.Serializer):
    quality = serializers.IntegerField(help_text="14 actual, 8 estimated, 0 validated.")


class IntervalReadingSerializer(serializers.Serializer):
    ReadingQuality = ReadingQualitySerializer()
    timePeriod = PeriodSerializer()
    value = serializers.IntegerField()


class IntervalBlockContent(_Content):
    interval = PeriodSerializer()
    IntervalReading = IntervalReadingSerializer(many=True)


class SummaryMeasurementSerializer(serializers.Serializer):
    powerOfTenMultiplier = serializers.IntegerField()
    uom = serializers.IntegerField()
    value = serializers.IntegerField()


class UsageSummaryContent(_Content):
    billingPeriod = PeriodSerializer()
    billLastPeriod = serializers.IntegerField(required=False, help_text="Cost in 1/100000 of the currency; absent without a tariff.")
    currency = serializers.IntegerField(help_text="ISO 4217 number (840 USD).")
    overallConsumptionLastPeriod = SummaryMeasurementSerializer(required=False)
    statusTimeStamp = serializers.IntegerField()
    commodity = serializers.IntegerField()


class LocalTimeParametersContent(_Content):
    dstEndRule = serializers.CharField()
    dstOffset = serializers.IntegerField()
    dstStartRule = serializers.CharField()
    tzOffset = serializers.IntegerField()


class ApplicationInformationContent(_Content):
    dataCustodianId = serializers.CharField()
    dataCustodianApplicationStatus = serializers.IntegerField()
    thirdPartyApplicationDescription = serializers.CharField()
    thirdPartyApplicationStatus = serializers.IntegerField()
    thirdPartyApplicationType = serializers.IntegerField()
    thirdPartyApplicationUse = serializers.IntegerField()
    authorizationServerUri = serializers.CharField()
    thirdPartyNotifyUri = serializers.CharField()
    authorizationServerAuthorizationEndpoint = serializers.CharField()
    authorizationServerTokenEndpoint = serializers.CharField()
    dataCustodianBulkRequestURI = serializers.CharField()
    dataCustodianResourceEndpoint = serializers.CharField()
    client_secret = serializers.CharField(help_text="Never the secret: always the placeholder 'not-served-see-docs-thirdparty'.")
    client_name = serializers.CharField()
    redirect_uri = serializers.ListField(child=serializers.CharField())
    client_id = serializers.CharField()
    software_id = serializers.CharField()
    software_version = serializers.CharField()
    client_id_issued_at = serializers.IntegerField()
    client_secret_expires_at = serializers.IntegerField()
    token_endpoint_auth_method = serializers.CharField()
    scope = serializers.CharField()
    grant_types = serializers.ListField(child=serializers.CharField())
    response_types = serializers.CharField()
    registration_client_uri = serializers.CharField()
    registration_access_token = serializers.CharField(help_text="Never a token: the same placeholder as client_secret.")


CONTENT = {
    "ServiceStatus": ServiceStatusContent,
    "Authorization": AuthorizationContent,
    "UsagePoint": UsagePointContent,
    "MeterReading": MeterReadingContent,
    "ReadingType": ReadingTypeContent,
    "IntervalBlock": IntervalBlockContent,
    "UsageSummary": UsageSummaryContent,
    "LocalTimeParameters": LocalTimeParametersContent,
    "ApplicationInformation": ApplicationInformationContent,
}


def _entry_fields(content) -> dict:
    return {
        "id": serializers.CharField(help_text="urn:uuid, the same for the resource in Download My Data."),
        "type": serializers.CharField(help_text="The ESPI element."),
        "title": serializers.CharField(),
        "published": serializers.CharField(),
        "updated": serializers.CharField(),
        "links": LinkSerializer(many=True),
        "content": content,
    }


def _feed_fields(entry) -> dict:
    return {
        "id": serializers.CharField(),
        "title": serializers.CharField(),
        "updated": serializers.CharField(),
        "links": LinkSerializer(many=True, help_text="self (typed), and first/previous/next/last on a paged feed."),
        "total_results": serializers.IntegerField(help_text="Entries in the whole feed, every page."),
        "start_index": serializers.IntegerField(),
        "max_results": serializers.IntegerField(),
        "entries": entry,
    }


ENTRY = {kind: type(f"{kind}Entry", (serializers.Serializer,), _entry_fields(content())) for kind, content in CONTENT.items()}
FEED = {kind: type(f"{kind}Feed", (serializers.Serializer,), _feed_fields(ENTRY[kind](many=True))) for kind in CONTENT}
AnyEntry = type(
    "AnyEntry",
    (serializers.Serializer,),
    _entry_fields(serializers.DictField(help_text="The content of the entry's ESPI element (see the entry type of each resource).")),
)
BatchFeed = type("BatchFeed", (serializers.Serializer,), _feed_fields(AnyEntry(many=True)))


# --- Devices (JSON only) --------------------------------------------------------------------------


class DeviceLinkSerializer(serializers.Serializer):
    rel = serializers.ChoiceField(choices=["self", "up", "related"])
    href = serializers.CharField()
    method = serializers.CharField(required=False, help_text="POST for actions; GET when absent.")


class DeviceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.CharField()
    type_label = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    manufacturer = serializers.CharField(allow_blank=True)
    model = serializers.CharField(allow_blank=True)
    last_seen_at = serializers.DateTimeField(allow_null=True)
    takes_load_control = serializers.BooleanField()
    links = DeviceLinkSerializer(many=True)


class DeviceListSerializer(serializers.Serializer):
    devices = DeviceSerializer(many=True)


class CommandSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    state = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)
    requested_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    event = serializers.DictField(allow_null=True, help_text="The load control event as sent (null for a status read).")
    result = serializers.DictField(allow_null=True, help_text="What the device answered, once it has.")
    links = DeviceLinkSerializer(many=True)
