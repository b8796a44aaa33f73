import pytest


@pytest.fixture(autouse=True)
def _seal_dir(settings, tmp_path_factory):
    """Each test worker keeps its CA and seal keys in a directory of its own."""
    settings.GOVHALL_SEAL_DIR = tmp_path_factory.getbasetemp() / "seals"
    settings.GOVHALL_SEAL_AUTO_CREATE = True
