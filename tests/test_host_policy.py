"""Which Host headers name this machine (the rules alone; tests/test_security.py tries them on the app)."""

import pytest

from workspace.security import HostPolicy


@pytest.mark.parametrize("host, served", [
    ("127.0.0.1:8100", True), ("localhost", True), ("LOCALHOST:1", True), ("127.0.0.2", True), ("[::1]:8100", True),
    ("192.0.2.7:8100", True), ("my-box.lan", True), ("my-box.lan.", True),
    ("evil.example", False), ("192.0.2.8", False), ("127.0.0.1.evil.example", False), ("localhost:x", False),
    ("[::1]x", False), ("", False), ("10.0.0.1@127.0.0.1", False),
])
def test_host_names(host, served):
    policy = HostPolicy(extra_names=["my-box.lan"], addresses=["192.0.2.7"])
    assert policy.allows(host) is served
