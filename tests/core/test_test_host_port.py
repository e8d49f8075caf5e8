"""REALCAM_TEST_PORT chooses the test server's port; a bad or busy value is refused by name."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from comfy_host import free_port, server_port  # noqa: E402


def test_port_from_environment(monkeypatch):
    monkeypatch.delenv("REALCAM_TEST_PORT", raising=False)
    assert 0 < server_port() < 65536
    port = free_port()
    monkeypatch.setenv("REALCAM_TEST_PORT", str(port))
    assert server_port() == port


@pytest.mark.parametrize("raw", ["abc", "0", "70000", "-5"])
def test_bad_port_is_named(monkeypatch, raw):
    monkeypatch.setenv("REALCAM_TEST_PORT", raw)
    with pytest.raises(ValueError, match="REALCAM_TEST_PORT"):
        server_port()


def test_busy_port_is_named(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        monkeypatch.setenv("REALCAM_TEST_PORT", str(s.getsockname()[1]))
        with pytest.raises(RuntimeError, match="in use"):
            server_port()
