"""TLS: Subject Alternative Names of a certificate from a site's server names, and the
TLS 1.2 cipher list of a Mozilla server-side TLS profile."""

from __future__ import annotations

import ipaddress


def subject_alt_names(names):
    out = []
    for name in names:
        name = str(name)
        try:
            out.append(f"IP:{ipaddress.ip_address(name)}")
        except ValueError:
            out.append(f"DNS:{name}")
    return out


# Mozilla's server-side TLS recommendations (https://wiki.mozilla.org/Security/Server_Side_TLS),
# "intermediate": AEAD ciphers with forward secrecy for TLS 1.2 (TLS 1.3's own suites are
# all fine). The DHE suites of the profile are left out: they need a DH group of 2048 bits
# or more that not every server here is given, and every client of the profile has ECDHE.
PROFILES = {
    "intermediate": [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ],
}


def tls_ciphers(profile="intermediate"):
    if profile not in PROFILES:
        raise ValueError(f"tls_ciphers: profile must be one of {', '.join(PROFILES)}, not {profile!r}")
    return ":".join(PROFILES[profile])


class FilterModule:
    def filters(self):
        return {"subject_alt_names": subject_alt_names, "tls_ciphers": tls_ciphers}
