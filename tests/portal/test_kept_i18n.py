"""The i18n template library: constant messages translated once per language
(govhall/portal/templatetags/kept_i18n.py), any other translation as Django makes it."""

from django.template import Context, engines
from django.utils import translation

from govhall.portal.templatetags.kept_i18n import KeptTranslateNode

SOURCE = (
    '{% load i18n %}{% translate "办事指南" %}|{% translate "、" context "list separator" as separator %}'
    '[{{ separator }}]|{% translate message %}|{% translate "办事指南"|upper %}|{% translate word context kind %}'
)


def _template():
    return engines["django"].from_string(SOURCE)


def _render(template, language, **values):
    with translation.override(language):
        return template.render({"message": "免费", "word": "、", "kind": "list separator", **values})


def test_constant_messages_are_kept_per_language_and_the_rest_rendered_each_time():
    template = _template()
    nodes = [node for node in template.template.nodelist if isinstance(node, KeptTranslateNode)]
    assert len(nodes) == 2  # the two constant messages; a variable, a filter, a variable context are not
    assert _render(template, "zh-hans") == "办事指南|[、]|免费|办事指南|、"
    assert _render(template, "en") == "Service guide|[, ]|Free|SERVICE GUIDE|, "
    assert _render(template, "zh-hans", message="收费") == "办事指南|[、]|收费|办事指南|、"
    assert _render(template, "en", message="办事指南") == "Service guide|[, ]|Service guide|SERVICE GUIDE|, "
    assert set(nodes[0].kept) == {"zh-hans", "en"}


def test_a_kept_message_sets_its_variable_at_every_rendering():
    template = engines["django"].from_string('{% load i18n %}{% translate "免费" as free %}{{ free }}/{{ free }}')
    for language, expected in (("en", "Free/Free"), ("zh-hans", "免费/免费"), ("en", "Free/Free")):
        with translation.override(language):
            assert template.render({}) == expected
            context = Context({})
            template.template.render(context)
            assert context["free"] == expected.split("/")[0]


def test_i18n_is_the_only_template_library_name_given_to_two_modules():
    # Settings silence Django's warning (templates.W003) for the one name they map on purpose.
    warnings = engines["django"]._check_for_template_tags_with_the_same_name()
    assert [warning.id for warning in warnings] == ["templates.W003"]
    assert warnings[0].msg.startswith("'i18n' is used for multiple template tag modules")


def test_badges_are_made_once_per_set_and_language():
    template = engines["django"].from_string("{% load portal_tags %}{{ badges|badges_html }}")
    badges = ["fully_online", "zero_visit", "at_most_one_visit"]
    expected = {
        "zh-hans": ("全程网办", "零跑动", "最多跑一次"),
        "en": ("Fully online", "No visit needed", "At most one visit"),
    }
    for language in ("zh-hans", "en", "zh-hans"):
        with translation.override(language):
            rendered = template.render({"badges": badges})
            assert template.render({"badges": badges[1:]}) != rendered
            assert template.render({"badges": []}) == ""
        labels = "".join(
            f'<li class="badge badge-{badge}">{label}</li>'
            for badge, label in zip(badges, expected[language], strict=True)
        )
        assert rendered == f'<ul class="badges">{labels}</ul>'
