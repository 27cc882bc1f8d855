"""The API blueprint with every route on it: each module imported here attaches its routes.

`create_app` takes the blueprint from here, the one place that imports the modules with routes.
"""

from verifier.accounts import api as _accounts_api  # noqa: F401
from verifier.api import bp
from verifier.api import openapi as _openapi  # noqa: F401
from verifier.certificates import api as _certificates_api  # noqa: F401
from verifier.certificates import sdjwt_api as _certificates_sdjwt_api  # noqa: F401
from verifier.credentials import api as _credentials_api  # noqa: F401
from verifier.imports import api as _imports_api  # noqa: F401
from verifier.integrity import api as _integrity_api  # noqa: F401
from verifier.jobs import api as _jobs_api  # noqa: F401
from verifier.orgs import api as _orgs_api  # noqa: F401
from verifier.portal import certreqs_api as _certreqs_api  # noqa: F401
from verifier.portal import mydata_api as _portal_mydata_api  # noqa: F401
from verifier.portal import presentations_api as _portal_presentations_api  # noqa: F401
from verifier.portal import records_api as _portal_records_api  # noqa: F401
from verifier.records import api as _records_api  # noqa: F401
from verifier.spotchecks import api as _spotchecks_api  # noqa: F401
from verifier.succession import api as _succession_api  # noqa: F401
from verifier.supervision import api as _supervision_api  # noqa: F401
from verifier.supervision import case_api as _supervision_case_api  # noqa: F401
from verifier.supervision import revocation_api as _supervision_revocation_api  # noqa: F401
from verifier.verification import api as _verification_api  # noqa: F401
from verifier.volunteers import api as _volunteers_api  # noqa: F401

__all__ = ["bp"]
