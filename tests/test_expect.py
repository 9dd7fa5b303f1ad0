"""`expect` and `expect_each`: a lesson's claims checked by torch, recorded in the trace, and a failure that says
why."""

from __future__ import annotations

import pytest
import torch

from render.errors import ClaimFailed
from render.lesson import claims_recorded, expect, expect_each
from scenes.typed_code import typed_code


def test_expect_each_checks_a_general_claim_on_every_case_and_records_how_many() -> None:
    with claims_recorded() as claims:
        expect_each([(1, 28, 28), (1, 1, 3), (2, 1, 1, 5)], lambda s: 1 not in torch.ones(s).squeeze().shape,
                    "squeeze drops every size-one axis")
    assert claims == ["squeeze drops every size-one axis (checked on 3 cases)"]


def test_expect_each_names_the_case_a_claim_fails_for() -> None:
    with pytest.raises(ClaimFailed, match=r"claim failed: squeeze returns the shape it was given \(it does not "
                                          r"hold for case \(1, 28, 28\)\)"):
        expect_each([(28, 28), (1, 28, 28)], lambda s: torch.ones(s).unsqueeze(0).squeeze().shape == s,
                    "squeeze returns the shape it was given")
    with pytest.raises(ClaimFailed, match="no cases"):
        expect_each([], bool, "an empty claim")


def test_a_failed_comparison_says_what_each_side_held() -> None:
    rows = torch.zeros(2, 3)
    with pytest.raises(ClaimFailed, match=r"\(rows.shape\[0\] is 2\)"):
        expect(rows.shape[0] == 3, "three rows")
    with pytest.raises(ClaimFailed, match=r"^claim failed: any row is non-zero$"):
        expect(bool(rows.any()), "any row is non-zero")  # a call: nothing evaluated again


def test_checks_are_hidden_from_the_learner_code() -> None:
    source = ("def f(device):\n    x = torch.ones(2)\n    expect_each([1, 2], lambda n: n > 0, 'positive')\n"
              "    return {'x': x}")
    assert typed_code(source) == "x = torch.ones(2)"


def test_expect_each_leaves_the_random_state_as_it_was() -> None:
    """The learner's code shows no checks, so a check that draws random numbers must not move the generator:
    the numbers after it are the ones the notebook draws."""
    torch.manual_seed(0)
    expect_each([1, 2], lambda n: torch.rand(n).max() < 1, "rand stays below one")
    after = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after, torch.rand(3))
