"""Services-level guarantees the UI relies on."""


def test_there_is_always_a_profile_to_open(services):
    first = services.profiles()
    assert [p.name for p in first] == ["Personal"]  # created on first start
    services.store.delete_profile(first[0].id)  # e.g. through the REST API
    again = services.profiles()
    assert len(again) == 1 and again[0].id != first[0].id
