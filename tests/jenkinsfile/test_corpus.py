"""The corpus: Jenkinsfiles written for these tests, each beside the JSON Jenkins would give.

Every file goes through every direction: Jenkinsfile -> JSON equals the expected JSON;
JSON -> Jenkinsfile -> JSON gives the JSON back; printing the unchanged JSON with the
original gives the original byte for byte; and the model validates (except where the
file keeps sections the model cannot hold, which validation must report).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from libs.jenkinsfile import to_jenkinsfile, to_json, validate

CORPUS = Path(__file__).parent / "corpus"
NAMES = sorted(path.stem for path in CORPUS.glob("*.groovy"))
WITH_UNMODELLED_SECTIONS = {"unmodelled_sections"}


def load(name: str) -> tuple[str, dict[str, Any]]:
    text = (CORPUS / f"{name}.groovy").read_text()
    expected = json.loads((CORPUS / f"{name}.json").read_text())
    return text, expected


def test_corpus_is_large_enough() -> None:
    assert len(NAMES) >= 60
    assert all((CORPUS / f"{name}.json").exists() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_jenkinsfile_converts_to_expected_json(name: str) -> None:
    text, expected = load(name)
    assert to_json(text) == expected


@pytest.mark.parametrize("name", NAMES)
def test_json_survives_printing_and_reading(name: str) -> None:
    _, expected = load(name)
    assert to_json(to_jenkinsfile(expected)) == expected


@pytest.mark.parametrize("name", NAMES)
def test_unchanged_model_prints_the_original_exactly(name: str) -> None:
    text, expected = load(name)
    assert to_jenkinsfile(expected, original=text) == text


@pytest.mark.parametrize("name", NAMES)
def test_model_validates(name: str) -> None:
    _, expected = load(name)
    problems = validate(expected)
    if name in WITH_UNMODELLED_SECTIONS:
        assert problems and all("not part of the declarative model" in p.message for p in problems)
    else:
        assert problems == []
