import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("tls", Path(__file__).parents[2] / "plugins" / "filter" / "tls.py")
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)


def test_names_and_addresses():
    names = ["demo.example.test", "10.77.0.4", "2001:db8::1", "*.example.test", "beef:cafe.example.test"]
    assert mod.subject_alt_names(names) == [
        "DNS:demo.example.test",
        "IP:10.77.0.4",
        "IP:2001:db8::1",
        "DNS:*.example.test",
        "DNS:beef:cafe.example.test",
    ]


def test_empty():
    assert mod.subject_alt_names([]) == []


def test_intermediate_ciphers_are_ecdhe_with_aead_only():
    ciphers = mod.tls_ciphers("intermediate").split(":")
    assert len(ciphers) == 6
    assert all(c.startswith("ECDHE-") and ("GCM" in c or "CHACHA20" in c) for c in ciphers)
    with pytest.raises(ValueError):
        mod.tls_ciphers("old")
