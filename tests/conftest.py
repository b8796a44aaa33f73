import pytest
from django.utils import translation

from govhall.org.models import Region


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Regions are reference data every test needs: load them once into the (reused) test database."""
    from govhall.org.services import regions_load

    with django_db_blocker.unblock():
        if not Region.objects.exists():
            regions_load()


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """LocaleMiddleware leaves the request's language active in the thread after a test client
    request; without this reset a test that asks for English would turn later tests' labels English."""
    yield
    translation.deactivate()
