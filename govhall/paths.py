"""Addresses made many times in one answer without reverse() for each (list pages, to-do lists)."""

from urllib.parse import quote

from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS


def path_argument(value: object) -> str:
    """``value`` as reverse() puts it into a path: quoted, keeping RFC 3986's sub-delimiters and
    "/~:@". Codes and case numbers are ASCII letters and digits, which quote() leaves as they are,
    so they skip it (quote() of a to-do list's 50 case numbers took a twentieth of the list)."""
    text = str(value)
    if text.isascii() and text.isalnum():
        return text
    return quote(text, safe=RFC3986_SUBDELIMS + "/~:@")


class Addresses:
    """One view's address for many values of its one path argument: reversed once, with
    ``mark`` in the argument's place (of the argument's type: a number for an ``int``
    converter), then each value put where the mark was, as reverse() would put it. Made once per
    answer: reverse() follows the request's script prefix."""

    def __init__(self, viewname: str, argument: str, mark: str | int = "PathArgumentMark") -> None:
        self.prefix, self.suffix = reverse(viewname, kwargs={argument: mark}).split(str(mark), 1)

    def __call__(self, value: object) -> str:
        return f"{self.prefix}{path_argument(value)}{self.suffix}"
