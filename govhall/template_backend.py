"""Django's template engine, with each render's context let go of once the page is rendered.

Django's ``make_context`` pushes the view's values onto a new ``RequestContext`` and leaves them
there: each pushed ``ContextDict`` holds the context that holds it, a reference cycle with all
the page's values in it (rows, model instances, forms) that only the collector frees. Emptying
the context's list of values once the page is rendered breaks the cycle, so that those values
are freed at once; so does emptying the bound fields its forms keep, each of which holds its
form (``govhall/workers.py`` does the same for the request; the thirty-ninth session's section
of docs/performance.md). The test client's copy of a rendered context keeps a list of its own,
so tests still read ``response.context``."""

from typing import Any

from django.forms import BaseForm, BaseFormSet
from django.http import HttpRequest
from django.template import TemplateDoesNotExist
from django.template.backends import django as django_backend
from django.template.context import make_context
from django.utils.safestring import SafeString


class Template(django_backend.Template):
    def render(self, context: dict[str, Any] | None = None, request: HttpRequest | None = None) -> SafeString:
        made = make_context(context, request, autoescape=self.backend.engine.autoescape)
        try:
            return self.template.render(made)
        except TemplateDoesNotExist as exc:
            django_backend.reraise(exc, self.backend)
        finally:
            for values in made.dicts:
                _forms_let_go(values.values())
            made.dicts.clear()


def _forms_let_go(values: Any) -> None:
    """Empties the bound fields each form among ``values`` keeps (directly, in a formset, or in
    a list), as the page no longer reads them: each ``BoundField`` holds its form, which keeps it
    in ``_bound_fields_cache``, a cycle with the form's fields, widgets and values in it (about
    80 objects a page with a form). A form read again makes its bound fields again.

    Each value's kind is read by ``type``, never ``isinstance``: ``isinstance`` asks a lazy
    object's ``__class__``, which evaluates it (the context processors' ``user`` and
    ``csrf_token``: a query, and a CSRF cookie set on a page that did not ask for one)."""
    for value in values:
        kind = type(value)
        if issubclass(kind, BaseForm):
            value._bound_fields_cache.clear()
        elif issubclass(kind, BaseFormSet):
            # Only the forms the page made: "forms" is a cached property.
            _forms_let_go(value.__dict__.get("forms", ()))
        elif kind is list or kind is tuple:
            _forms_let_go(value)


class DjangoTemplates(django_backend.DjangoTemplates):
    def from_string(self, template_code: str) -> Template:
        return Template(self.engine.from_string(template_code), self)

    def get_template(self, template_name: str) -> Template:
        try:
            return Template(self.engine.get_template(template_name), self)
        except TemplateDoesNotExist as exc:
            django_backend.reraise(exc, self)
