"""The accounts tests' claim bodies carry a login code, derived under the running app's key."""

from __future__ import annotations

from collections.abc import Iterator

import account_helpers
import pytest
from flask import Flask


@pytest.fixture(autouse=True)
def _claims_know_the_app(app: Flask) -> Iterator[None]:
    account_helpers.APP = app
    yield
    account_helpers.APP = None
