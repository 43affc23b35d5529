"""OpenAPI for the third-party API only (the operator ingest API is not for third parties)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from thirdparty.scopes import CLIENT_ACCESS, offered_choices


def only_espi_paths(endpoints):
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/espi/")]


class ConsentTokenScheme(OpenApiAuthenticationExtension):
    target_class = "thirdparty.api.auth.ConsentTokenAuthentication"
    name = "consentBearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": (
                "Authorization code with PKCE (S256). Every request is checked against the customer's live authorization. "
                "Client credentials give client access only: the third party's own Authorization collection and "
                "ReadServiceStatus, never customer data."
            ),
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize/",
                    "tokenUrl": "/oauth/token/",
                    "refreshUrl": "/oauth/token/",
                    "scopes": dict(offered_choices()),
                },
                "clientCredentials": {
                    "tokenUrl": "/oauth/token/",
                    "scopes": {
                        CLIENT_ACCESS: "Client access: read this third party's own authorizations",
                        "FB=34_35": "The same, as an ESPI scope (data custodian admin / client access)",
                    },
                },
            },
        }


# --- Words for the reference page and the schema -------------------------------------------------
# The views carry a one-line summary each (extend_schema); what a third party needs beyond it,
# the meaning of every path id, what a 2xx body is, and a worked request body, is filled in
# here once for the whole API, so the views stay small and the schema and the page say the same.

PATH_PARAMETERS = {
    "authorization_id": "The authorization's id. For a customer's token it is the same number as its subscription id.",
    "subscription_id": "The subscription id: the id of the customer's authorization (from the token response or the Authorization feed).",
    "usage_point_id": "A usage point (meter) in the subscription, from the UsagePoint feed.",
    "meter_reading_id": "1: energy delivered to the premise (import); 2: energy received from it (export). From the MeterReading feed.",
    "interval_block_id": "The premise-local day the block covers, as YYYYMMDD (for example 20250131).",
    "reading_type_id": "<usage point id>-<meter reading id>, as linked from a MeterReading (for example 12-1).",
    "device_id": "A device's UUID, from the Device list.",
    "command_id": "A command's UUID, from the Location of the 202 answer that queued it.",
    "application_information_id": "Your own application's id, as linked from an Authorization (only your own is served).",
    "local_time_parameters_id": "A premise's id, as linked from its UsagePoint's LocalTimeParameters link.",
    "usage_summary_id": "The billing month as YYYYMM (for example 202503), as linked from the UsageSummary list.",
}
# What a path id's type alone cannot say: the shape drf-spectacular cannot see in the `<id:...>` and str converters.
# An id of the right shape that is not in the consent still answers the documented 404.
PATH_PARAMETER_SCHEMAS = {
    "interval_block_id": {"minimum": 10000101, "maximum": 99991231},  # YYYYMMDD
    "usage_summary_id": {"minimum": 100001, "maximum": 999912},  # YYYYMM
    "reading_type_id": {"pattern": "^[0-9]+-[0-9]+$"},  # <usage point id>-<meter reading id>
}
QUERY_PARAMETERS = {"format": "json or xml; overrides the Accept header. Leave it out to negotiate."}

DESCRIPTIONS = {
    "read_service_status": "Answers whether the service is up. Works with a customer's token and with a client access token.",
    "authorization_list": "Paged with max-results and start-index. Entries carry status, scope and the authorized and published periods.",
    "authorization_retrieve": "A client access token may read any authorization of its own application; a customer's token only its own.",
    "usage_point_list": "One entry per meter at the premises the customer chose. Links lead to each meter's readings and summaries.",
    "usage_point_retrieve": "Its service kind, the premise-local time zone, and links to its meter readings (and summaries if granted).",
    "meter_reading_list": "Delivered (1) always; received (2) where the premise exports energy.",
    "meter_reading_retrieve": "Links to its interval blocks and its reading type.",
    "reading_type_retrieve": "Unit, power of ten, direction, interval length and accumulation behaviour of the readings.",
    "interval_block_list": (
        "Only readings inside the customer's occupancy and the authorization's history are served."
        " Filter by time with published-min and published-max."
    ),
    "interval_block_retrieve": "Readings of one premise-local day, each with start, duration, value and quality.",
    "usage_summary_list": "Needs the usage summary data kind. Cost is in 1/100000 of the currency unit.",
    "batch_subscription": "Streams every usage point, meter reading, reading type and interval block of the subscription.",
    "device_list": "Needs device status or control. Only devices the gateway verified are listed.",
    "device_load_control": (
        "Needs device control. Sign the request (RFC 9421): Content-Digest of the exact body, then Signature-Input and Signature "
        "covering @method, @target-uri and content-digest with the application's Ed25519 key. Answers 202 with the queued command."
    ),
    "device_status_read": "Needs device status. Send an empty body, signed as for LoadControl. Answers 202 with the queued command.",
    "device_command": "Poll this until its state is succeeded or failed.",
    "application_information_list": (
        "Your own application's registration as ESPI ApplicationInformation. The client secret is never served:"
        " client_secret and registration_access_token carry the placeholder not-served-see-docs-thirdparty."
    ),
    "application_information_retrieve": "One ApplicationInformation entry: your own application only; another's id answers 404.",
    "local_time_parameters_list": "The time zone and daylight-saving rules of each premise the customer chose (LocalTimeParameters).",
    "local_time_parameters_retrieve": "One premise's time zone and daylight-saving rules; its UsagePoint links here.",
    "reading_type_list": "The reading types of every meter reading the authorization covers (unit, power of ten, direction, interval).",
    "device_retrieve": "One verified device at the usage point's premise: its type, state and commands. Needs device status or control.",
    "usage_summary_retrieve": "One billing month's summary (consumption and cost). Needs the usage summary data kind.",
}
SUCCESS = {
    "200": "OK: the resource, as Atom XML (Accept: application/atom+xml) or JSON.",
    "202": "Accepted: the command is queued for the gateway; the body is the command resource, with a self link to poll.",
}
REQUEST_EXAMPLES = {
    "device_load_control": {
        "Cool less for 30 minutes": {
            "value": {"device_classes": ["hvac"], "duration_minutes": 30, "criticality": 3, "cooling_offset_celsius": "2.0"},
            "summary": "Raise the cooling set point by 2 °C for half an hour, starting now.",
        },
        "Water heater off tonight": {
            "value": {
                "device_classes": ["water_heater"],
                "duration_minutes": 120,
                "criticality": 4,
                "start_at": "2025-07-01T17:00:00Z",
                "duty_cycle_percent": 0,
                "randomize_start": True,
            },
            "summary": "Water heater off for two hours from 17:00 UTC (start_at: within the next 24 hours), starts spread at random.",
        },
    }
}
# A decimal string from 0 to 25.4 with at most one decimal, as DecimalField(max_digits=3, decimal_places=1,
# min_value=0, max_value=25.4) takes it (drf-spectacular's own pattern allows a sign and 99.9).
_SET_POINT_OFFSET = {"pattern": r"^(?:(?:1?[0-9]|2[0-4])(?:\.[0-9])?|25(?:\.[0-4])?)$"}
FIELD_SCHEMAS = {"LoadControlInput": {"cooling_offset_celsius": _SET_POINT_OFFSET, "heating_offset_celsius": _SET_POINT_OFFSET}}
FIELD_DESCRIPTIONS = {
    "LoadControlInput": {
        "duration_minutes": "How long the event lasts, in minutes (1 to 1440).",
        "cooling_offset_celsius": "Raise the cooling set point by this many °C (0 to 25.4, one decimal), as a string.",
        "heating_offset_celsius": "Lower the heating set point by this many °C (0 to 25.4, one decimal), as a string.",
        "duty_cycle_percent": "Let the load run at most this share of the time (0 to 100).",
        "randomize_start": "Start each device at a random moment shortly after start_at, so loads do not all switch at once.",
        "randomize_end": "End each device at a random moment shortly after the end, for the same reason.",
    }
}


def describe_operations(result, generator, request, public):
    """drf-spectacular postprocessing hook: descriptions, success wording and request examples (see the tables above)."""
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            operation_id = operation.get("operationId", "")
            if operation_id in DESCRIPTIONS:
                # Replaces a class docstring drf-spectacular would show: those are notes for maintainers, not for clients.
                operation["description"] = DESCRIPTIONS[operation_id]
            for parameter in operation.get("parameters", []):
                words = (PATH_PARAMETERS if parameter.get("in") == "path" else QUERY_PARAMETERS).get(parameter["name"])
                if words and not parameter.get("description"):
                    parameter["description"] = words
                if parameter.get("in") == "path":
                    parameter["schema"].update(PATH_PARAMETER_SCHEMAS.get(parameter["name"], {}))
            for status, response in operation.get("responses", {}).items():
                if status in SUCCESS and not response.get("description"):
                    response["description"] = SUCCESS[status]
            body = operation.get("requestBody")
            if body:
                # The signed routes read the exact JSON bytes that were signed: JSON is the only body they take.
                if "application/json" in body["content"]:
                    body["content"] = {"application/json": body["content"]["application/json"]}
                if operation_id in REQUEST_EXAMPLES:
                    body["content"]["application/json"]["examples"] = REQUEST_EXAMPLES[operation_id]
    for name, fields in FIELD_DESCRIPTIONS.items():
        properties = result.get("components", {}).get("schemas", {}).get(name, {}).get("properties", {})
        for field, words in fields.items():
            if field in properties and not properties[field].get("description"):
                properties[field]["description"] = words
    for name, fields in FIELD_SCHEMAS.items():
        properties = result.get("components", {}).get("schemas", {}).get(name, {}).get("properties", {})
        for field, constraints in fields.items():
            if field in properties:
                properties[field].update(constraints)
    return result
