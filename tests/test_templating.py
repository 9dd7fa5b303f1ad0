"""Narration templates over a beat's traced values: what `{{ }}` says and what `{% if %}` decides."""

from __future__ import annotations

import pytest

from render.templating import render_narration
from scenes.trace import BeatTrace

BEAT = {"name": "b", "source": "", "tensors": {}, "modules": {}, "state_dicts": {}, "graph": None, "claims": [],
        "values": {"gpu": False, "fast": True, "ms": 0.0, "n": 3, "none": None, "empty": [], "xs": [1, 2.5, 3]}}


@pytest.mark.parametrize(("template", "said"), [
    ("{% if gpu %}a GPU{% else %}no GPU here{% endif %}", "no GPU here"),
    ("{% if fast %}fast{% else %}slow{% endif %}", "fast"),
    ("{% if ms %}timed{% else %}not timed{% endif %}", "not timed"),
    ("{% if none %}set{% else %}unset{% endif %}", "unset"),
    ("{% if empty %}some{% else %}none{% endif %}", "none"),
    ("{% if n %}{{ n }} of them{% endif %}", "3 of them"),
    ("{{ xs }}", "1, 2.5 and 3"),
    ("{% if n == 3 and n > 2 and n < 4 and n >= 3 and n <= 3 %}three{% endif %}", "three"),
    ("{% if ms < n %}less{% else %}more{% endif %}", "less"),
])
def test_a_traced_value_decides_a_branch_by_its_own_truth(template: str, said: str) -> None:
    assert render_narration(template, BeatTrace.from_json(BEAT)) == said
