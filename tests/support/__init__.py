"""Everything a test module imports: apps and their database, the data factory, web helpers.

`from support import Factory, bearer, days_ago, login` (tests/ is on sys.path: pytest puts the
directory of the root conftest.py there). Fixtures (`app`, `client`, `make`, ...) stay in
conftest.py; world builders shared by several test folders are in `support.worlds`.
"""

from support.app import (
    PG_URL_ENV,
    TEST_DATA_KEY,
    committing_sqlite_app,
    main_database_url,
    migrate,
    migrated_sqlite_file,
    new_app,
    postgres_test_url,
    reset_database,
    restored,
    rolled_back,
    sibling_app,
    test_config,
    truncate_all,
)
from support.browser import CHROMIUM_ARGS, browser_missing, chromium_path, served
from support.factory import (
    ORG_ROLES,
    PASSWORD,
    REGULATOR_ROLES,
    ROLES,
    Factory,
    days_ago,
    make_resident_id,
    make_uscc,
    raw_record,
)
from support.web import bearer, csrf_token_from, login

__all__ = [
    "CHROMIUM_ARGS",
    "ORG_ROLES",
    "PASSWORD",
    "PG_URL_ENV",
    "REGULATOR_ROLES",
    "ROLES",
    "TEST_DATA_KEY",
    "Factory",
    "bearer",
    "browser_missing",
    "chromium_path",
    "committing_sqlite_app",
    "csrf_token_from",
    "days_ago",
    "login",
    "main_database_url",
    "make_resident_id",
    "make_uscc",
    "migrate",
    "migrated_sqlite_file",
    "new_app",
    "postgres_test_url",
    "raw_record",
    "reset_database",
    "restored",
    "rolled_back",
    "served",
    "sibling_app",
    "test_config",
    "truncate_all",
]
