from lookups.cache import LookupCache


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_hit_then_expiry():
    clock = Clock()
    cache = LookupCache(60, clock=clock)
    cache.put("k", "v", found=True)
    clock.now += 59.9
    assert cache.get("k") == "v"
    clock.now += 0.2
    assert cache.get("k") is None
    assert len(cache) == 0


def test_not_found_answers_expire_sooner():
    clock = Clock()
    cache = LookupCache(60, clock=clock)
    cache.put("k", "nf", found=False)
    clock.now += cache.not_found_ttl_seconds - 0.1
    assert cache.get("k") == "nf"
    clock.now += 0.2
    assert cache.get("k") is None
    assert cache.not_found_ttl_seconds < cache.ttl_seconds


def test_size_is_bounded_least_recently_used_first():
    cache = LookupCache(60, max_entries=2)
    cache.put("a", 1, found=True)
    cache.put("b", 2, found=True)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3, found=True)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_ttl_zero_turns_it_off():
    cache = LookupCache(0)
    cache.put("k", "v", found=True)
    assert cache.get("k") is None
    assert not cache.enabled
