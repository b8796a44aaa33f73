"""The form renderer (ADR 24): fields rendered by Python are the characters Django's own
templates render, on fields drawn at random and on the workbench's pages; a template found
anywhere but in Django's directory is rendered as the template it is."""

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.test import Client, override_settings
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy, override
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govhall.form_rendering import FORM_TEMPLATES, FormRenderer
from tests.cases.factories import case_world, make_case, task_open
from tests.factories import force_login_verified

TEMPLATES_RENDERER = DjangoTemplates()
PYTHON_RENDERER = FormRenderer()

# Text as people type it and as markup would break on it.
texts = st.one_of(
    st.sampled_from(["", " ", "材料", "a < b & c > \"d\" 'e'", "结束?", "<b>粗</b>", "  空格  ", "0"]),
    st.text(alphabet=st.sampled_from("ab材<>&\"' \n.:?!"), max_size=12),
)
labels = st.one_of(
    st.none(),
    texts,
    texts.map(mark_safe),
    st.sampled_from([gettext_lazy("申请人"), gettext_lazy("Name")]),
)
attr_values = st.one_of(st.booleans(), st.none(), st.integers(-5, 12345), texts, texts.map(mark_safe))
attrs = st.dictionaries(
    st.sampled_from(["class", "placeholder", "data-x", "required", "disabled", "aria-label", "maxlength"]),
    attr_values,
    max_size=4,
)
choice_values = st.one_of(st.integers(0, 2000), texts, st.sampled_from(["", "1", "2"]))
flat_choices = st.lists(st.tuples(choice_values, labels.filter(lambda label: label is not None)), max_size=6)
choices = st.one_of(
    flat_choices,
    st.lists(st.tuples(texts.filter(bool), flat_choices), max_size=3),  # option groups
)


@st.composite
def fields(draw: Any) -> forms.Field:
    kind = draw(
        st.sampled_from(
            "text password hidden textarea email number date check select multiple radio boxes file".split()
        )
    )
    common = {
        "label": draw(labels),
        "help_text": draw(st.one_of(st.just(""), texts, st.just("<em>见说明</em>"))),
        "required": draw(st.booleans()),
        "label_suffix": draw(st.one_of(st.none(), st.sampled_from(["", "：", ":"]))),
    }
    widget_attrs = draw(attrs)
    if kind == "text":
        return forms.CharField(widget=forms.TextInput(attrs=widget_attrs), initial=draw(texts), **common)
    if kind == "password":
        widget = forms.PasswordInput(attrs=widget_attrs, render_value=draw(st.booleans()))
        return forms.CharField(widget=widget, **common)
    if kind == "hidden":
        return forms.CharField(widget=forms.HiddenInput(attrs=widget_attrs), initial=draw(texts), **common)
    if kind == "textarea":
        return forms.CharField(widget=forms.Textarea(attrs=widget_attrs), initial=draw(texts), **common)
    if kind == "email":
        return forms.EmailField(widget=forms.EmailInput(attrs=widget_attrs), **common)
    if kind == "number":
        return forms.IntegerField(widget=forms.NumberInput(attrs=widget_attrs), initial=draw(st.integers()), **common)
    if kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs=widget_attrs), initial=date(2026, 12, 6), **common)
    if kind == "check":
        return forms.BooleanField(widget=forms.CheckboxInput(attrs=widget_attrs), initial=draw(st.booleans()), **common)
    drawn_choices = draw(choices)
    if kind == "select":
        return forms.ChoiceField(choices=drawn_choices, widget=forms.Select(attrs=widget_attrs), **common)
    if kind == "multiple":
        widget = forms.SelectMultiple(attrs=widget_attrs)
        return forms.MultipleChoiceField(choices=drawn_choices, widget=widget, **common)
    if kind == "radio":
        return forms.ChoiceField(choices=drawn_choices, widget=forms.RadioSelect(attrs=widget_attrs), **common)
    if kind == "boxes":
        widget = forms.CheckboxSelectMultiple(attrs=widget_attrs)
        return forms.MultipleChoiceField(choices=drawn_choices, widget=widget, **common)
    return forms.FileField(**common)


@st.composite
def drawn_forms(draw: Any) -> tuple[type[forms.Form], dict[str, Any]]:
    drawn = draw(st.lists(fields(), min_size=1, max_size=4))
    namespace: dict[str, Any] = {f"field{place}": field for place, field in enumerate(drawn)}
    if draw(st.booleans()):
        namespace["required_css_class"] = "required"
    form_class = type("DrawnForm", (forms.Form,), namespace)
    options: dict[str, Any] = {
        "auto_id": draw(st.sampled_from(["id_%s", False, "f-%s"])),
        "prefix": draw(st.sampled_from([None, "task12-correct"])),
        "label_suffix": draw(st.sampled_from([None, "", "："])),
    }
    if draw(st.booleans()):
        # Bound: what a person sent, most of it wrong.
        options["data"] = {
            f"{options['prefix'] + '-' if options['prefix'] else ''}{name}": draw(
                st.one_of(texts, st.sampled_from(["1", "2", "abc", "2026-13-40", "on"]))
            )
            for name in namespace
            if name.startswith("field")
        }
    return form_class, options


def both(form_class: type[forms.Form], options: dict[str, Any]) -> tuple[str, str]:
    """The form, each field as a group, then the whole form and its errors, by each renderer."""

    def rendered(renderer: Any) -> str:
        form = form_class(renderer=renderer, **options)
        parts = [field.as_field_group() for field in form]
        parts += [str(field.label_tag()) + str(field.legend_tag()) + str(field) for field in form]
        parts += [form.as_div(), str(form.errors), str(form.non_field_errors())]
        return "\n----\n".join(parts)

    return rendered(TEMPLATES_RENDERER), rendered(PYTHON_RENDERER)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawn_forms(), st.sampled_from(["zh-hans", "en"]))
def test_fields_drawn_at_random_render_the_same_characters(drawn, language):
    form_class, options = drawn
    with override(language):
        by_templates, by_python = both(form_class, options)
    assert by_python == by_templates


def test_a_select_with_option_groups_and_a_chosen_value_renders_the_same_characters():
    class Form(forms.Form):
        kind = forms.ChoiceField(
            choices=[("", "—"), ("材料", [("1", "身份证 <复印件>"), (2, "营业执照")]), ("其他", [("x&y", "其他")])],
            help_text=mark_safe("<a href='#'>说明</a>"),
        )
        note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="备注")

    options = {"data": {"kind": "2", "note": "第一行\n<第二行>"}}
    by_templates, by_python = both(Form, options)
    assert by_python == by_templates
    assert '<option value="2" selected>营业执照</option>' in by_python


def test_a_template_found_outside_django_is_rendered_as_that_template(tmp_path: Path):
    """An app overriding a ported template keeps its markup: the port is not used for it."""
    own = tmp_path / "django" / "forms" / "widgets"
    own.mkdir(parents=True)
    (own / "input.html").write_text('<input data-own name="{{ widget.name }}">')

    class Overridden(FormRenderer):
        @property
        def engine(self) -> Any:
            return self.backend(
                {"APP_DIRS": False, "DIRS": [tmp_path, FORM_TEMPLATES], "NAME": "overridden", "OPTIONS": {}}
            )

    class Form(forms.Form):
        name = forms.CharField()
        note = forms.CharField(widget=forms.Textarea)

    form = Form(renderer=Overridden())
    assert str(form["name"]) == '<input data-own name="name">'
    # The textarea's template is still Django's own: it stays ported.
    assert str(form["note"]) == str(Form(renderer=TEMPLATES_RENDERER)["note"])


CSRF = re.compile(rb'value="[A-Za-z0-9]{64}"')


def page_by_each_renderer(client: Client, path: str) -> tuple[bytes, bytes]:
    pages = []
    for renderer in ("django.forms.renderers.DjangoTemplates", "govhall.form_rendering.FormRenderer"):
        with override_settings(FORM_RENDERER=renderer):
            response = client.get(path)
            assert response.status_code == 200
            pages.append(CSRF.sub(b'value="csrf"', response.content))
    return pages[0], pages[1]


@pytest.mark.django_db
def test_the_workbench_case_page_and_to_do_list_are_the_same_by_either_renderer():
    world = case_world()
    case = make_case(world=world, until="submitted")
    task_open(case, kind="prereview")
    client = Client()
    force_login_verified(client, world.clerk)
    for path in (
        f"/workbench/cases/{case.number}/",
        "/workbench/cases/?kind=prereview&mine=on",
        "/workbench/cases/?level=purple&department=x",
    ):
        by_templates, by_python = page_by_each_renderer(client, path)
        assert by_python == by_templates
        assert b"<select" in by_python or b"<textarea" in by_python
