"""Filter ``ntier.django.python_literal``: render data as a Python literal.

Settings modules are Python, not JSON: ``true``/``null`` would be wrong and a quote in a
value could break out of a string. This filter turns plain data (str, int, float, bool,
None, lists, dicts) into source text that ``ast.literal_eval`` reads back unchanged.
"""

from __future__ import annotations

import json


def _render(value) -> str:
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, dict):
        items = ", ".join(f"{_render(str(k))}: {_render(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    raise TypeError(f"python_literal cannot render a {type(value).__name__}")


def python_literal(value) -> str:
    # A JSON round trip turns Ansible's own str/dict/list subclasses into plain ones.
    return _render(json.loads(json.dumps(value)))


class FilterModule:
    def filters(self):
        return {"python_literal": python_literal}
