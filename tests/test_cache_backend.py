"""The Redis cache backend the production profile uses, against the real Redis."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from amiportal.cache import PortalRedisCache

pytestmark = pytest.mark.redis


@pytest.fixture
def cache():
    backend = PortalRedisCache(os.environ["AMI_TEST_REDIS_URL"], {"KEY_PREFIX": f"cache-test-{uuid.uuid4().hex}"})
    yield backend
    backend.clear()


def test_it_is_a_working_cache(cache):
    cache.set("session", {"user": 7}, timeout=30)
    assert cache.get("session") == {"user": 7}
    assert cache.add("session", "other") is False
    cache.set("n", 1)
    assert cache.incr("n") == 2
    cache.delete("session")
    assert cache.get("session") is None
    cache.set_many({"a": 1, "b": 2})
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}


def test_one_client_object_per_pool_is_reused(cache):
    cache.set("k", 1)
    first = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is first
    assert cache._cache.get_client(write=False) is first  # one server: reads and writes share its pool


def test_threads_share_the_client_safely(cache):
    errors = []

    def work(n):
        try:
            for i in range(50):
                cache.set(f"t{n}-{i}", i)
                assert cache.get(f"t{n}-{i}") == i
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
