import pytest

from govhall.org.models import Region


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Regions are reference data every test needs: load them once into the (reused) test database."""
    from govhall.org.services import regions_load

    with django_db_blocker.unblock():
        if not Region.objects.exists():
            regions_load()
