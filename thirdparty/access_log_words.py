"""How the customer's access log names what a company asked for and what came of it.

Logged paths are raw API routes (``/espi/1_1/resource/Subscription/4/UsagePoint/2/...``);
the customer reads the kind of data instead, looked up by the route's name.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.urls import Resolver404, resolve

RESOURCE_WORDS = {
    "read_service_status": "service availability check",
    "authorization_list": "the permission you gave",
    "authorization": "the permission you gave",
    "usage_point_list": "list of your meters",
    "usage_point": "meter details",
    "meter_reading_list": "usage readings",
    "meter_reading": "usage readings",
    "interval_block_list": "usage readings",
    "interval_block": "usage readings",
    "usage_summary_list": "usage summaries",
    "usage_summary": "usage summaries",
    "reading_type_list": "units of measurement",
    "reading_type": "units of measurement",
    "local_time_parameters_list": "your home's time zone",
    "local_time_parameters": "your home's time zone",
    "application_information_list": "the company's own registration",
    "application_information": "the company's own registration",
    "subscription": "all shared usage data at once",
    "batch_subscription": "all shared usage data at once",
    "device_list": "list of home network devices",
    "device": "home network device details",
    "device_status_read": "device status",
    "device_load_control": "device load control (use less energy)",
    "device_command": "result of a device request",
}
OTHER_RESOURCE = "another kind of request"

# What a refusal means for the customer, by HTTP status; any other 4xx is a plain refusal.
REFUSAL_WORDS = {
    400: "the request was not valid",
    401: "the company had no valid access (for example, after you ended it)",
    403: "not covered by the permission you gave",
    404: "not part of what you shared",
    405: "not a request the company may make",
    409: "it conflicted with an earlier request",
    422: "the request was not valid",
    429: "too many requests",
}


def resource_words(path: str) -> str:
    """The kind of data a logged API path asked for, in words; never the path itself."""
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return OTHER_RESOURCE
    if "espi" not in match.namespaces:
        return OTHER_RESOURCE
    return RESOURCE_WORDS.get(match.url_name, OTHER_RESOURCE)


def result_words(status_code: int) -> str:
    if status_code < 400:
        return "Served"
    if status_code < 500:
        return f"Refused: {REFUSAL_WORDS.get(status_code, 'not allowed')}"
    return "Not served: an error on our side"
