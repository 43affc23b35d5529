from datetime import date

import factory
from django.contrib.auth import get_user_model

from amiportal.premises.models import CustomerAccount, CustomerClass, Meter, MeterKind, Premise, ServiceAgreement

PASSWORD = "correct-horse-battery-42"
# Every persona's agreement starts here; the previous occupant's (Peter's) ends the day before.
ALICE_MOVE_IN = date(2024, 1, 1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class CustomerAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAccount

    account_number = factory.Sequence(lambda n: f"AC-T{n:05d}")
    name = factory.Faker("name")
    account_class = CustomerClass.RESIDENTIAL
    user = factory.SubFactory(UserFactory)


class PremiseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Premise

    service_point_id = factory.Sequence(lambda n: f"SP-T{n:05d}")
    address_line = factory.Sequence(lambda n: f"{n} Test Street")
    city = "Testville"
    postal_code = "00000"
    customer_class = CustomerClass.RESIDENTIAL
    timezone = "America/Chicago"


class MeterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meter

    premise = factory.SubFactory(PremiseFactory)
    serial_number = factory.Sequence(lambda n: f"MT{n:08d}")
    kind = MeterKind.ELECTRIC
    installed_on = date(2022, 1, 1)


class ServiceAgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceAgreement

    account = factory.SubFactory(CustomerAccountFactory)
    premise = factory.SubFactory(PremiseFactory)
    move_in = ALICE_MOVE_IN
