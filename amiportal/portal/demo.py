"""The demo utility that ``make run`` shows: people, premises, meters, occupancy.

Idempotent: every row is found by its natural key before it is created, so
running it again changes nothing. Later features add their demo data through
``DEMO_EXTENSIONS``, each an idempotent function called after the core data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from amiportal.accounts.models import SealedTOTPDevice
from amiportal.accounts.roles import Role, role_assign
from amiportal.premises.grid_services import GridPath, grid_location_set
from amiportal.premises.models import CustomerAccount, CustomerClass, Meter, MeterKind, MeterStatus, Premise, ServiceAgreement
from amiportal.premises.services import agreement_move_in, agreement_move_out

DEMO_PASSWORD = "ami-demo-2026!"
# Demo-only authenticator secret, published in the README so a newcomer can sign in.
DEMO_TOTP_SECRET = b"ami-portal-demo-totp"
DEMO_TOTP_BASE32 = "MFWWSLLQN5ZHIYLMFVSGK3LPFV2G65DQ"

DEMO_EXTENSIONS: list[Callable[[], None]] = []

STAFF = [
    ("ada@demo.ami", "Ada Admin", Role.ADMIN),
    ("olga@demo.ami", "Olga Operator", Role.OPERATOR),
    ("ivan@demo.ami", "Ivan Installer", Role.INSTALLER),
    ("ines@demo.ami", "Ines Installer", Role.INSTALLER),
    ("trent@demo.ami", "Trent Thirdparty", Role.THIRD_PARTY_DEVELOPER),
]


@dataclass(frozen=True)
class DemoPremise:
    service_point_id: str
    address: str
    customer_class: str
    email: str
    name: str
    has_der: bool = False
    gas: bool = False
    water: bool = False
    status: str = MeterStatus.ACTIVE


R, C, IND, M = CustomerClass.RESIDENTIAL, CustomerClass.COMMERCIAL, CustomerClass.INDUSTRIAL, CustomerClass.MUNICIPAL
PREMISES = [
    DemoPremise("SP-100001", "12 Maple Street", R, "alice@demo.ami", "Alice Anders", has_der=True, gas=True, water=True),
    DemoPremise("SP-100002", "14 Maple Street", R, "bob@demo.ami", "Bob Brennan", gas=True),
    DemoPremise("SP-100003", "3 Birch Lane", R, "chen@demo.ami", "Chen Wei", has_der=True),
    DemoPremise("SP-100004", "7 Birch Lane", R, "dana@demo.ami", "Dana Diaz", gas=True),
    DemoPremise("SP-100005", "21 Cedar Court", R, "eli@demo.ami", "Eli Evans"),
    DemoPremise("SP-100006", "25 Cedar Court", R, "fatima@demo.ami", "Fatima Farouk", has_der=True, gas=True),
    DemoPremise("SP-100007", "40 Elm Road", R, "gus@demo.ami", "Gus Gallo", status=MeterStatus.LIMITED),
    DemoPremise("SP-100008", "42 Elm Road", R, "hana@demo.ami", "Hana Hoshino", gas=True),
    DemoPremise("SP-100009", "5 Willow Way", R, "igor@demo.ami", "Igor Ilic"),
    DemoPremise("SP-100010", "9 Willow Way", R, "jade@demo.ami", "Jade Jensen", has_der=True),
    DemoPremise("SP-100011", "88 Oak Avenue, Apt 4", R, "kofi@demo.ami", "Kofi Kumah", status=MeterStatus.DISCONNECTED),
    DemoPremise("SP-100012", "90 Oak Avenue", R, "lena@demo.ami", "Lena Lund", gas=True),
    DemoPremise("SP-200001", "100 Main Street", C, "corner-bakery@demo.ami", "Corner Bakery LLC", gas=True),
    DemoPremise("SP-200002", "150 Main Street", C, "brightmart@demo.ami", "BrightMart Grocery", has_der=True),
    DemoPremise("SP-200003", "2 Market Square", C, "harbor-offices@demo.ami", "Harbor Offices Inc."),
    DemoPremise("SP-300001", "1 Foundry Road", IND, "riverside-steel@demo.ami", "Riverside Steel Works", gas=True),
    DemoPremise("SP-300002", "9 Foundry Road", IND, "coldchain@demo.ami", "ColdChain Logistics", has_der=True),
    DemoPremise("SP-400001", "1 City Hall Plaza", M, "cityhall@demo.ami", "City of Riverton", water=True),
    DemoPremise("SP-400002", "60 Reservoir Drive", M, "waterworks@demo.ami", "Riverton Water Works", water=True),
    DemoPremise("SP-400003", "14 Library Place", M, "library@demo.ami", "Riverton Public Library", has_der=True),
]
CITY, POSTCODE, TIMEZONE = "Riverton", "60601", "America/Chicago"
# Where each street sits on Riverton's grid: (substation, feeder, transformer) by service point prefix and street.
GRID = {
    "Maple Street": ("RIV-NORTH", "N1", "T-MAPLE"),
    "Birch Lane": ("RIV-NORTH", "N1", "T-BIRCH"),
    "Cedar Court": ("RIV-NORTH", "N2", "T-CEDAR"),
    "Elm Road": ("RIV-NORTH", "N2", "T-ELM"),
    "Willow Way": ("RIV-NORTH", "N2", "T-WILLOW"),
    "Oak Avenue": ("RIV-NORTH", "N2", "T-OAK"),
    "Main Street": ("RIV-SOUTH", "S1", "T-MAIN"),
    "Market Square": ("RIV-SOUTH", "S1", "T-MARKET"),
    "Foundry Road": ("RIV-SOUTH", "S2", "T-FOUNDRY"),
    "City Hall Plaza": ("RIV-SOUTH", "S3", "T-CIVIC"),
    "Reservoir Drive": ("RIV-SOUTH", "S3", "T-RESERVOIR"),
    "Library Place": ("RIV-SOUTH", "S3", "T-CIVIC"),
}
SERVICE_START = date(2024, 1, 1)
# Alice's house had an earlier occupant: his data is never Alice's to see.
PREVIOUS_OCCUPANT = ("peter@demo.ami", "Peter Previous", "SP-100001", date(2022, 3, 1), date(2023, 12, 31))


def _user(email: str, name: str, *, staff: bool = False, superuser: bool = False):
    users = get_user_model().objects
    user = users.filter(email=email).first()
    if user is None:
        user = users.create_user(email, DEMO_PASSWORD, full_name=name, is_staff=staff, is_superuser=superuser)
    return user


def _demo_totp(user) -> None:
    if not SealedTOTPDevice.objects.filter(user=user, confirmed=True).exists():
        device = SealedTOTPDevice(user=user, name="Demo authenticator", confirmed=True)
        device.set_key(DEMO_TOTP_SECRET)
        device.save()


def _account(email: str, name: str, account_class: str, number: str) -> CustomerAccount:
    user = _user(email, name)
    role_assign(user=user, role=Role.CUSTOMER)
    account, _ = CustomerAccount.objects.get_or_create(
        account_number=number, defaults={"name": name, "account_class": account_class, "user": user}
    )
    return account


def _meter(premise: Premise, kind: str, serial: str, status: str = MeterStatus.ACTIVE) -> None:
    Meter.objects.get_or_create(
        serial_number=serial, defaults={"premise": premise, "kind": kind, "status": status, "installed_on": date(2021, 6, 1)}
    )


def _grid_location(premise: Premise, address: str) -> None:
    street = next((name for name in GRID if name in address), None)
    if street is not None and premise.transformer_id is None:
        grid_location_set(premise=premise, path=GridPath(*GRID[street]), actor=None)


@transaction.atomic
def demo_seed() -> None:
    if settings.IS_PRODUCTION:
        raise ImproperlyConfigured("Demo data is never loaded in the production profile.")
    for email, name, role in STAFF:
        # Operators use the Django admin (view permissions from their role); admins have all.
        user = _user(email, name, staff=role in (Role.ADMIN, Role.OPERATOR), superuser=role == Role.ADMIN)
        role_assign(user=user, role=role)
        if role in (Role.ADMIN, Role.OPERATOR, Role.INSTALLER):
            _demo_totp(user)

    for spec in PREMISES:
        premise, _ = Premise.objects.get_or_create(
            service_point_id=spec.service_point_id,
            defaults={
                "address_line": spec.address,
                "city": CITY,
                "postal_code": POSTCODE,
                "customer_class": spec.customer_class,
                "timezone": TIMEZONE,
                "has_der": spec.has_der,
            },
        )
        number = spec.service_point_id.replace("SP-", "AC-")
        _meter(premise, MeterKind.ELECTRIC, f"E{spec.service_point_id[3:]}", spec.status)
        if spec.gas:
            _meter(premise, MeterKind.GAS, f"G{spec.service_point_id[3:]}")
        if spec.water:
            _meter(premise, MeterKind.WATER, f"W{spec.service_point_id[3:]}")
        if premise.service_point_id == PREVIOUS_OCCUPANT[2] and not ServiceAgreement.objects.filter(premise=premise).exists():
            email, name, _, start, end = PREVIOUS_OCCUPANT
            previous = _account(email, name, CustomerClass.RESIDENTIAL, "AC-099999")
            agreement = agreement_move_in(account=previous, premise=premise, move_in=start)
            agreement_move_out(agreement=agreement, move_out=end)
        _grid_location(premise, spec.address)
        account = _account(spec.email, spec.name, spec.customer_class, number)
        if not ServiceAgreement.objects.filter(premise=premise, account=account).exists():
            agreement_move_in(account=account, premise=premise, move_in=SERVICE_START)

    for extend in DEMO_EXTENSIONS:
        extend()


def demo_logins() -> list[tuple[str, str, str]]:
    rows = [(email, role.value, "TOTP" if role in (Role.ADMIN, Role.OPERATOR, Role.INSTALLER) else "") for email, _, role in STAFF]
    rows += [(spec.email, f"customer ({spec.customer_class})", "") for spec in PREMISES[:3]]
    return rows
