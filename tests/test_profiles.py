"""The test profiles (conftest): one switch sizes the property and the robustness tests."""

from __future__ import annotations

from hypothesis import settings


def test_the_stress_fixture_and_the_hypothesis_profile_agree(stress: bool) -> None:
    examples = settings().max_examples
    assert examples == (2000 if stress else 50)
    assert settings().deadline is None  # a busy 2-core machine must not fail a property
