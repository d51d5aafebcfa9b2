"""systemd's name for the mount unit of a path (as ``systemd-escape --path --suffix=mount``)."""

from __future__ import annotations

import string

_PLAIN = set(string.ascii_letters + string.digits + ":_.")


def mount_unit(path):
    parts = [p for p in str(path).split("/") if p]
    if not parts:
        return "-.mount"
    out = []
    for n, part in enumerate(parts):
        chars = []
        for i, ch in enumerate(part):
            if ch in _PLAIN and not (n == 0 and i == 0 and ch == "."):
                chars.append(ch)
            else:
                chars.extend(f"\\x{b:02x}" for b in ch.encode())
        out.append("".join(chars))
    return "-".join(out) + ".mount"


class FilterModule:
    def filters(self):
        return {"mount_unit": mount_unit}
