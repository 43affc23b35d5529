"""The Redis cache backend, reusing its client objects.

Django's ``RedisCache`` makes a new ``redis.Redis`` object for every cache call (the
connection itself comes from a pool); redis-py fills about 170 response callbacks into each
new one, which was a fifth of a millisecond on every signed-in request (the session is read
from the cache). A client object is safe to share between threads (its connections come
from the pool per command), so one per pool is kept.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusingClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class PortalRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache``, with one client object per connection pool."""

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient
