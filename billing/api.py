"""Operator API: head-end bulk ingest (CSV or ESPI XML). Operators and admins only, session + two-factor."""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from amiportal.accounts.roles import Role, user_roles
from amiportal.audit.services import audit_append
from billing.formats.csv_readings import CsvFormatError, parse_readings_csv, text_lines
from billing.formats.espi_read import MAX_FILE_BYTES, EspiFormatError, readings_from_espi
from billing.models import Source
from billing.services.ingest import readings_ingest

logger = logging.getLogger(__name__)


class IsOperator(BasePermission):
    message = "Only operators may ingest meter data."

    def has_permission(self, request, view) -> bool:
        return bool(user_roles(request.user) & {Role.OPERATOR, Role.ADMIN})


class IngestInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=["csv", "espi"], default="csv")
    meter = serializers.CharField(required=False, max_length=40, help_text="For ESPI files: the meter serial number.")
    accept_valid = serializers.BooleanField(default=False)

    def validate(self, data):
        if data["format"] == "espi" and not data.get("meter"):
            raise serializers.ValidationError({"meter": "ESPI files need the meter serial number."})
        if data["file"].size > MAX_FILE_BYTES:
            raise serializers.ValidationError({"file": f"The file is larger than {MAX_FILE_BYTES} bytes."})
        return data


class ReadingsIngestApi(APIView):
    permission_classes = [IsAuthenticated, IsOperator]
    parser_classes = [MultiPartParser]

    def post(self, request):
        serializer = IngestInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        try:
            if data["format"] == "espi":
                rows, rejected = readings_from_espi(upload.read(), data["meter"])
            else:
                rows, rejected = parse_readings_csv(text_lines(upload.read()))
        except (CsvFormatError, EspiFormatError, UnicodeDecodeError) as error:
            reason = "the file is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
            # A file refused whole (unsafe or unreadable) leaves a trace too, like a rejected batch.
            audit_append(
                action="billing.ingest_refused",
                actor=request.user,
                target="ingest",
                payload={"filename": upload.name[:255], "format": data["format"], "reason": reason},
            )
            return Response({"status": "rejected", "error": reason}, status=status.HTTP_400_BAD_REQUEST)
        try:
            report = readings_ingest(
                readings=rows,
                pre_rejected=rejected,
                source=Source.HEAD_END,
                accept_valid=data["accept_valid"],
                filename=upload.name,
                actor=request.user,
            )
        except (OperationalError, InterfaceError) as error:
            return _database_lost(error)
        code = status.HTTP_422_UNPROCESSABLE_ENTITY if report.status == "rejected" else status.HTTP_201_CREATED
        return Response(report.as_dict(), status=code)


def _database_lost(error: DatabaseError) -> Response:
    """The connection to the database broke mid-batch: the batch is one transaction, so it was not stored.

    (If the break came during the commit itself the outcome is unknown; sending the batch again
    is safe either way, because readings already stored come back as duplicates.)
    """
    logger.warning("ingest: database connection lost mid-batch (%s); the client is told to send it again", type(error).__name__)
    return Response(
        {
            "status": "not stored",
            "error": "The connection to the database was lost while the batch was being stored, so nothing from it was kept. "
            "Send the same file again: readings that are already stored are reported as duplicates, never stored twice.",
        },
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )
