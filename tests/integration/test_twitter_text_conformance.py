"""twitter-text's conformance suite, hashtag cases: our extractor against X's own.

The suite (../shared/fixtures/twitter-text, Apache-2.0) is read at test time, as
its README asks, so a newer copy tests us without code changes. Sections:

- extract.yml `hashtags`, `hashtags_from_astral`: the tags, in order.
- extract.yml `hashtags_with_indices`: tags with [start of sign, end of tag].
- validate.yml `hashtags`: twitter-text's isValidHashtag, i.e. the whole text is
  exactly one hashtag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hashcart.domain.hashtags import extract_hashtags, hashtags
from hashcart.domain.text_lengths import x_weighted_length

# Case descriptions we deliberately answer differently, with the reason. Keep it empty
# unless the difference is a choice; a case listed here must really differ (tested below).
DELIBERATE_DIFFERENCES: dict[str, str] = {}

EXTRACT_SECTIONS = ("hashtags", "hashtags_from_astral", "hashtags_with_indices")
VALIDATE_SECTIONS = ("hashtags",)


def _load(shared_fixtures: Path, name: str) -> dict[str, list[dict[str, Any]]]:
    with (shared_fixtures / "twitter-text" / name).open(encoding="utf-8") as f:
        tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(f)["tests"]
    return tests


@pytest.fixture(scope="module")
def extract_cases(shared_fixtures: Path) -> dict[str, list[dict[str, Any]]]:
    return _load(shared_fixtures, "extract.yml")


@pytest.fixture(scope="module")
def validate_cases(shared_fixtures: Path) -> dict[str, list[dict[str, Any]]]:
    return _load(shared_fixtures, "validate.yml")


def _extract_answer(section: str, text: str) -> object:
    if section == "hashtags_with_indices":
        return [
            {"hashtag": tag, "indices": [start, end]} for tag, start, end in extract_hashtags(text)
        ]
    return hashtags(text)


def _is_valid_hashtag(text: str) -> bool:
    # twitter-text Validator.isValidHashtag
    found = hashtags(text)
    return len(found) == 1 and found[0] == text[1:]


def _failures(cases: list[dict[str, Any]], answer: Any) -> list[str]:
    failures = []
    for case in cases:
        got = answer(case["text"])
        if got != case["expected"] and case["description"] not in DELIBERATE_DIFFERENCES:
            failures.append(f"{case['description']}: {case['text']!r} gave {got!r}, "
                            f"expected {case['expected']!r}")  # fmt: skip
    return failures


@pytest.mark.parametrize("section", EXTRACT_SECTIONS)
def test_extract_section_matches_twitter_text(
    extract_cases: dict[str, list[dict[str, Any]]], section: str
) -> None:
    cases = extract_cases[section]
    assert cases, f"extract.yml has no {section} cases"
    failures = _failures(cases, lambda text: _extract_answer(section, text))
    assert not failures, "\n".join(failures)


def test_validate_hashtags_section_matches_twitter_text(
    validate_cases: dict[str, list[dict[str, Any]]],
) -> None:
    cases = validate_cases["hashtags"]
    assert cases, "validate.yml has no hashtags cases"
    failures = _failures(cases, _is_valid_hashtag)
    assert not failures, "\n".join(failures)


def test_every_hashtag_section_of_the_suite_is_run(
    extract_cases: dict[str, list[dict[str, Any]]],
    validate_cases: dict[str, list[dict[str, Any]]],
) -> None:
    assert {s for s in extract_cases if "hashtag" in s} == set(EXTRACT_SECTIONS)
    assert {s for s in validate_cases if "hashtag" in s} == set(VALIDATE_SECTIONS)


def test_deliberate_differences_are_real_cases_that_differ(
    extract_cases: dict[str, list[dict[str, Any]]],
    validate_cases: dict[str, list[dict[str, Any]]],
) -> None:
    answers: dict[str, bool] = {}
    for section in EXTRACT_SECTIONS:
        for case in extract_cases[section]:
            answers[case["description"]] = (
                _extract_answer(section, case["text"]) == case["expected"]
            )
    for case in validate_cases["hashtags"]:
        answers[case["description"]] = _is_valid_hashtag(case["text"]) == case["expected"]
    for description in DELIBERATE_DIFFERENCES:
        assert description in answers, f"no such case: {description}"
        assert not answers[description], f"listed as a difference but passes: {description}"


# --- validate.yml's weighted-length cases: X's 280 (domain/text_lengths) ------------------

# twitter-text's current configuration (v3: emoji sequences weigh 2) is the one the
# "WithDiscountedEmoji" section checks; the directional-marker cases use it too. The older
# "WeightedTweetsCounterTest" section is twitter-text v2's configuration, not X's today.
WEIGHTED_SECTIONS = (
    "WeightedTweetsWithDiscountedEmojiCounterTest",
    "UnicodeDirectionalMarkerCounterTest",
)


@pytest.mark.parametrize("section", WEIGHTED_SECTIONS)
def test_weighted_length_matches_twitter_text(
    validate_cases: dict[str, list[dict[str, Any]]], section: str
) -> None:
    # docs.x.com/resources/fundamentals/counting-characters; twitter/twitter-text
    # conformance/validate.yml, Apache-2.0.
    cases = validate_cases[section]
    assert cases
    failures = [
        f"{case['description']}: {x_weighted_length(case['text'])} for "
        f"{case['expected']['weightedLength']}"
        for case in cases
        if x_weighted_length(case["text"]) != case["expected"]["weightedLength"]
    ]
    assert failures == []
