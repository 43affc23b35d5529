"""HAN devices under a consent: list, load control, status read, command outcome (SO-C13, SO-C15, SO-U4).

ESPI has no home-area-network resources, so these are JSON extensions under a usage
point. Listing and reading an outcome need a live consent with device status or
control; the two commands that reach equipment also need an RFC 9421 signature made
with the application's registered Ed25519 key (``thirdparty.api.signatures``). A
refused signature is answered 401 with ``Accept-Signature`` and recorded in the audit
trail; a verified one is recorded too, with its signature base, before anything is sent.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from han import drlc
from han.models import CoordinatorCommand, Device, JobKind
from han.services.device_control import device_takes_load_control
from thirdparty.api.resources import ROOT
from thirdparty.api.serializers import CommandSerializer, DeviceListSerializer, DeviceSerializer
from thirdparty.api.signatures import COMPONENTS, SignatureRefused
from thirdparty.api.views import ERRORS, EspiView
from thirdparty.models import DataKind
from thirdparty.selectors import consent_device_command_get, consent_device_get, consent_devices
from thirdparty.services.criticality import CriticalityNotGranted, load_control_criticality_check
from thirdparty.services.device_control import device_command_request, signed_request_verify

DEVICE_KINDS = (DataKind.HAN_STATUS, DataKind.HAN_CONTROL)
# RFC 9421 section 5.1: what a signature on these routes must cover.
ACCEPT_SIGNATURE = "sig1=(" + " ".join(f'"{c}"' for c in COMPONENTS) + ');keyid;created;nonce;alg="ed25519"'


class SignatureInvalid(APIException):
    status_code = 401
    default_code = "invalid_signature"
    default_detail = "The request signature is missing or invalid."


class LoadControlInput(serializers.Serializer):
    device_classes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(drlc.DEVICE_CLASSES)), min_length=1, help_text="Loads the event applies to."
    )
    duration_minutes = serializers.IntegerField(min_value=1, max_value=drlc.MAX_DURATION_MINUTES)
    criticality = serializers.IntegerField(
        min_value=1,
        max_value=9,
        help_text=(
            "1 green ... 6. 7 emergency, 8 planned outage and 9 service disconnect are utility-only:"
            " refused with 403 unless an admin granted them to the application."
        ),
    )
    start_at = serializers.DateTimeField(required=False, help_text="When the event starts; leave out to start now. At most 24 h ahead.")
    cooling_offset_celsius = serializers.DecimalField(
        max_digits=3, decimal_places=1, min_value=Decimal("0"), max_value=Decimal("25.4"), required=False
    )
    heating_offset_celsius = serializers.DecimalField(
        max_digits=3, decimal_places=1, min_value=Decimal("0"), max_value=Decimal("25.4"), required=False
    )
    duty_cycle_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    randomize_start = serializers.BooleanField(default=False)
    randomize_end = serializers.BooleanField(default=False)

    def validate_start_at(self, value):
        now = timezone.now()
        if not now - timedelta(minutes=1) <= value <= now + timedelta(hours=24):
            raise serializers.ValidationError("start_at must be between now and 24 hours ahead.")
        return value

    def to_event(self) -> dict:
        data = self.validated_data
        event = {
            "device_class": drlc.device_class_bits(data["device_classes"]),
            "duration_minutes": data["duration_minutes"],
            "criticality": data["criticality"],
            "event_control": int(data["randomize_start"]) | (int(data["randomize_end"]) << 1),
        }
        if "start_at" in data:
            event["start_time"] = drlc.utc_time(data["start_at"])
        if "cooling_offset_celsius" in data:
            event["cooling_offset"] = int(data["cooling_offset_celsius"] * 10)
        if "heating_offset_celsius" in data:
            event["heating_offset"] = int(data["heating_offset_celsius"] * 10)
        if "duty_cycle_percent" in data:
            event["duty_cycle"] = data["duty_cycle_percent"]
        return event


def criticality_problem(refused: CriticalityNotGranted) -> dict:
    """An RFC 9457-shaped body: what was refused, and which levels the application may use."""
    return {
        "type": "about:blank",
        "title": "Criticality not granted",
        "status": 403,
        "detail": str(refused),
        "code": "criticality_not_granted",
        "criticality": refused.criticality,
        "allowed_criticalities": sorted(refused.allowed),
    }


def _device_path(consent, meter, device: Device) -> str:
    return f"{ROOT}/Subscription/{consent.pk}/UsagePoint/{meter.pk}/Device/{device.uid}"


def device_resource(consent, meter, device: Device) -> dict:
    path = _device_path(consent, meter, device)
    return {
        "id": str(device.uid),
        "type": device.device_type,
        "type_label": device.get_device_type_display(),
        "label": device.label,
        "manufacturer": device.manufacturer,
        "model": device.model,
        "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
        "takes_load_control": device_takes_load_control(device),
        "links": [
            {"rel": "self", "href": path},
            {"rel": "related", "href": f"{path}/LoadControl", "method": "POST"},
            {"rel": "related", "href": f"{path}/StatusRead", "method": "POST"},
        ],
    }


def command_resource(consent, meter, device: Device, job: CoordinatorCommand) -> dict:
    return {
        "id": str(job.command_id),
        "kind": job.kind,
        "state": job.state,
        "detail": job.detail,
        "requested_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "event": job.parameters.get("event"),
        "result": job.result or None,
        "links": [
            {"rel": "self", "href": f"{_device_path(consent, meter, device)}/Command/{job.command_id}"},
            {"rel": "up", "href": _device_path(consent, meter, device)},
        ],
    }


def _doc(operation_id: str, shape, summary: str, *, request=None, status: int = 200):
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        request=request,
        responses={status: OpenApiResponse(response=shape), **ERRORS},
    )


class DeviceView(EspiView):
    renderer_classes = [JSONRenderer]
    required_kind = DEVICE_KINDS

    def device(self, subscription_id: int, usage_point_id: int, device_id) -> tuple:
        meter = self.meter(subscription_id, usage_point_id)
        return meter, consent_device_get(consent=self.consent, meter=meter, device_uid=device_id)

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, SignatureInvalid):
            response["Accept-Signature"] = ACCEPT_SIGNATURE
        return response


class SignedDeviceCommandView(DeviceView):
    """POST with a signed body: verify, record, queue the command, answer 202 with where to follow it."""

    kind: JobKind

    def post(self, request, subscription_id: int, usage_point_id: int, device_id):
        body = request.body  # the exact bytes that were signed, read before anything parses them
        meter, device = self.device(subscription_id, usage_point_id, device_id)
        try:
            _, audit_seq = signed_request_verify(
                consent=self.consent,
                method=request.method,
                target_uri=request.build_absolute_uri(),
                headers=request.headers,
                body=body,
                target=f"device:{device.uid}",
            )
        except SignatureRefused as refused:
            raise SignatureInvalid(f"Request signature refused: {refused.reason}.") from None
        event = self.event_from(body)
        if event is not None:
            try:
                load_control_criticality_check(consent=self.consent, criticality=event["criticality"], target=f"device:{device.uid}")
            except CriticalityNotGranted as refused:
                return Response(criticality_problem(refused), status=403)
        try:
            job = device_command_request(consent=self.consent, device=device, kind=self.kind, audit_seq=audit_seq, event=event)
        except DjangoValidationError as exc:
            raise ValidationError({"device": exc.messages}) from None
        self.items_served = 1
        return Response(command_resource(self.consent, meter, device, job), status=202)

    def event_from(self, body: bytes) -> dict | None:
        return None


class LoadControlApi(SignedDeviceCommandView):
    required_kind = DataKind.HAN_CONTROL
    kind = JobKind.LOAD_CONTROL

    @_doc(
        "device_load_control",
        CommandSerializer,
        "Send a Smart Energy load control event to a device (signed, RFC 9421)",
        request=LoadControlInput,
        status=202,
    )
    def post(self, request, subscription_id: int, usage_point_id: int, device_id):
        return super().post(request, subscription_id, usage_point_id, device_id)

    def event_from(self, body: bytes) -> dict:
        try:
            data = json.loads(body or b"null")
        except ValueError:
            raise ValidationError({"body": "The body must be JSON."}) from None
        serializer = LoadControlInput(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.to_event()


class StatusReadApi(SignedDeviceCommandView):
    required_kind = DataKind.HAN_STATUS
    kind = JobKind.STATUS_READ

    @_doc("device_status_read", CommandSerializer, "Read a device's status over the air (signed, RFC 9421)", request=None, status=202)
    def post(self, request, subscription_id: int, usage_point_id: int, device_id):
        return super().post(request, subscription_id, usage_point_id, device_id)


class DeviceListApi(DeviceView):
    @_doc("device_list", DeviceListSerializer, "The HAN devices verified at a usage point's premise")
    def get(self, request, subscription_id: int, usage_point_id: int):
        meter = self.meter(subscription_id, usage_point_id)
        devices = [device_resource(self.consent, meter, d) for d in consent_devices(consent=self.consent, meter=meter)]
        return self.served({"devices": devices}, len(devices))


class DeviceApi(DeviceView):
    @_doc("device_retrieve", DeviceSerializer, "One HAN device verified at a usage point's premise")
    def get(self, request, subscription_id: int, usage_point_id: int, device_id):
        meter, device = self.device(subscription_id, usage_point_id, device_id)
        return self.served(device_resource(self.consent, meter, device), 1)


class DeviceCommandApi(DeviceView):
    @_doc("device_command", CommandSerializer, "The state and outcome of a command this authorization sent")
    def get(self, request, subscription_id: int, usage_point_id: int, device_id, command_id):
        meter, device = self.device(subscription_id, usage_point_id, device_id)
        job = consent_device_command_get(consent=self.consent, device=device, command_id=command_id)
        return self.served(command_resource(self.consent, meter, device, job), 1)
