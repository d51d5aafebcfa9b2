import ast
import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location(
    "python_literal", Path(__file__).parents[2] / "plugins" / "filter" / "python_literal.py"
)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        3.5,
        "plain",
        "quote ' and \" and \\ and newline\n",
        ["a", 1, None, False],
        {"k": {"nested": [1, "x"]}, "t": True},
    ],
)
def test_round_trip(value):
    assert ast.literal_eval(mod.python_literal(value)) == value


def test_no_json_keywords():
    out = mod.python_literal({"a": True, "b": None})
    assert "true" not in out and "null" not in out


def test_rejects_code():
    with pytest.raises(TypeError):
        mod._render(object())
