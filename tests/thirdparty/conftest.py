import pytest
from django.test import Client

from tests.conftest import signed_in
from tests.thirdparty import world
from tests.webhook_receiver import receiver  # noqa: F401 (a fixture for the webhook tests)


@pytest.fixture
def people(alice, bob, ivan, olga, trent):
    return {"alice": alice, "bob": bob, "ivan": ivan, "olga": olga, "trent": trent}


@pytest.fixture
def application(trent):
    return world.register(trent)


@pytest.fixture
def api():
    """The third party's HTTP client: no session, no CSRF."""
    return Client()


@pytest.fixture
def tokens(alice, application, api):
    return world.obtain_tokens(signed_in(alice), api, application, alice)


@pytest.fixture(autouse=True)
def _agreement_in_force(db):
    world.current_agreement()


@pytest.fixture(autouse=True)
def _fresh_throttles():
    from django.core.cache import cache

    cache.clear()
