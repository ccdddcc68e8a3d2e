"""Shared pytest plugins. Each fixture module starts one real process."""

pytest_plugins = [
    "tests.fixtures.moto",
    "tests.fixtures.idp",
    "tests.fixtures.browser",
    "tests.fixtures.worker",
    "tests.fixtures.providers",
]
