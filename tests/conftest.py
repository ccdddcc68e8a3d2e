"""Shared pytest plugins. Each fixture module starts one real process."""

pytest_plugins = [
    "tests.fixtures.moto",
    "tests.fixtures.idp",
    "tests.fixtures.browser",
    "tests.fixtures.worker",
    "tests.fixtures.providers",
]


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_api_token_carried_over():
    """Activity rows name the API token of the request being served (a context
    variable); a test that authenticates by hand must not hand it to the next."""
    from sites.context import token_set

    token_set(None)
    yield
    token_set(None)
