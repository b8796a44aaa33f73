"""Django's ``i18n`` template library, with each ``{% translate "…" %}`` of a constant message
translated once per language and process rather than at every rendering.

Settings map the library name ``i18n`` to this module, so every template's ``{% load i18n %}``
gets it. A guide's body holds 79 such tags: they took a third of its rendering, which went from
3.4–3.7 to 2.5–2.8 ms with them kept (200 guides in one process, the same output in both
languages; docs/performance.md, ADR 12).

The translation of a constant message depends only on the active language: the message is a
literal (safe, as every template literal), no filter applies to it, and its context, if any,
is a literal too. Any other ``translate`` (a variable, a filter, a variable context, ``noop``)
renders as Django renders it. The catalogues are read once per process anyway (a new
translation needs a restart).
"""

from typing import Any

from django.template import Context, Node
from django.template.base import FilterExpression, Parser, Token
from django.templatetags import i18n as django_i18n
from django.utils.translation import get_language

register = django_i18n.register.__class__()
register.tags.update(django_i18n.register.tags)
register.filters.update(django_i18n.register.filters)


def _constant(expression: FilterExpression | None) -> bool:
    if expression is None:
        return True
    variable = expression.var
    if expression.filters:
        return False
    # A message is a Variable of a literal (TranslateNode makes it one), a context a string.
    return isinstance(variable, str) or (getattr(variable, "literal", None) is not None and variable.lookups is None)


class KeptTranslateNode(Node):
    """A constant message's ``TranslateNode``, its output kept by language."""

    child_nodelists = ()

    def __init__(self, node: django_i18n.TranslateNode) -> None:
        self.node = node
        self.asvar = node.asvar
        self.kept: dict[str | None, str] = {}

    def render(self, context: Context) -> str:
        language = get_language()
        value = self.kept.get(language)
        if value is None:
            # Rendered once by Django's node, without the variable it may set.
            self.node.asvar = None
            value = self.kept[language] = self.node.render(context)
        if self.asvar:
            context[self.asvar] = value
            return ""
        return value


@register.tag("translate")
@register.tag("trans")
def do_translate(parser: Parser, token: Token) -> Any:
    node = django_i18n.do_translate(parser, token)
    if not node.noop and _constant(node.filter_expression) and _constant(node.message_context):
        return KeptTranslateNode(node)
    return node
