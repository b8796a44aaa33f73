"""Choices' labels in answers: each translated once per language and process.

A list answer asks for many labels (a to-do list of 50 tasks 150, a catalogue page of 20
implementations about 140), and each was a lazy string translated again on every call."""

import functools
from typing import Any

from django.db import models
from django.utils import translation


def choice_answer(choices: type[models.Choices], value: Any, language: str | None = None) -> dict[str, str]:
    """A choice's code and label, in ``language`` when given (a list reads it once), else in the
    active one. A value an older version used and no longer known keeps its code as its label."""
    if language is None:
        language = translation.get_language()
    return {"code": str(value), "label": choice_label(choices, value, language)}


@functools.lru_cache(maxsize=4096)
def choice_label(choices: type[models.Choices], value: Any, language: str | None) -> str:
    """A choice's label in ``language``: the active one, passed so that it keys the cache."""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)
