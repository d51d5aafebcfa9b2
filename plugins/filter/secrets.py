"""The projects' secrets through a SECRET_KEY rotation (playbooks/rotate-secret-key.yml).

Secrets are {project: {secret_key, secret_key_fallbacks, db_password}}. A rotation runs in
two passes so that no node ever meets a signature it cannot check: first every node
accepts the new key (``secrets_accepting``), then every node signs with it and still
accepts the old one (``secrets_promoted``).
"""

from __future__ import annotations


def secrets_accepting(secrets, new_keys):
    """Pass 1: each project's new key first among the accepted fallbacks; it still signs
    with its current key."""
    out = {}
    for name, s in secrets.items():
        s = dict(s)
        if name in new_keys:
            s["secret_key_fallbacks"] = [new_keys[name]] + [k for k in s.get("secret_key_fallbacks", []) if k != new_keys[name]]
        out[name] = s
    return out


def secrets_promoted(secrets, new_keys, kept=1):
    """Pass 2: each project signs with its new key; the key it signed with before is the
    first fallback, and only the ``kept`` newest old keys stay accepted."""
    kept = int(kept)
    if kept < 1:
        raise ValueError("secrets_promoted: at least the key signing until now must stay accepted (kept >= 1)")
    out = {}
    for name, s in secrets.items():
        s = dict(s)
        if name in new_keys:
            old = [s["secret_key"]] + [k for k in s.get("secret_key_fallbacks", [])
                                       if k not in (new_keys[name], s["secret_key"])]
            s["secret_key"] = new_keys[name]
            s["secret_key_fallbacks"] = old[:kept]
        out[name] = s
    return out


class FilterModule:
    def filters(self):
        return {"secrets_accepting": secrets_accepting, "secrets_promoted": secrets_promoted}
