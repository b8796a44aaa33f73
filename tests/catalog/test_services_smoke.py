import pytest

from tests.factories import make_implementation

pytestmark = pytest.mark.django_db


def test_published_implementation_has_first_version_snapshot():
    implementation = make_implementation()
    version = implementation.versions.get()
    assert version.number == 1
    assert version.snapshot["name"] == "食品经营许可"
    assert [m["name"] for m in version.snapshot["materials"]] == ["食品经营许可申请书", "营业执照", "授权委托书"]
