"""The Redis cache backend that keeps its client (govhall/redis_cache.py), against a real Redis."""

import os
import threading
import uuid

import pytest
import redis

from govhall.redis_cache import KeptClientRedisCache

REDIS_URL = os.environ.get("GOVHALL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_reachable(), reason=f"no Redis at {REDIS_URL}")


@pytest.fixture
def backend():
    cache = KeptClientRedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    yield cache
    cache.clear()


def test_it_answers_as_django_redis_cache_does(backend):
    backend.set("guide", {"body": "食品经营许可"}, timeout=30)
    backend.set("version", 1, timeout=None)

    assert backend.get("guide") == {"body": "食品经营许可"}
    assert backend.incr("version") == 2
    assert backend.get_many(["guide", "missing"]) == {"guide": {"body": "食品经营许可"}}
    assert backend.add("version", 10) is False
    backend.delete("guide")
    assert backend.get("guide") is None


def test_one_client_serves_every_operation_and_every_thread(backend):
    client = backend._cache.get_client()
    seen = []

    def other_thread():
        backend.set("from-thread", "yes")
        seen.append(backend._cache.get_client(write=True))

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()

    assert backend._cache.get_client(write=True) is client
    assert seen == [client]
    assert backend.get("from-thread") == "yes"
