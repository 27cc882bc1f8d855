"""JSON API for a regulator's revocation of all of an organisation's certificates."""

from __future__ import annotations

from typing import Any

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import answer, read_json
from verifier.auth.access import require_actor, roles
from verifier.auth.models import REGULATOR_SUPERVISOR
from verifier.certificates.services import number_display
from verifier.db import get_session
from verifier.orgs.services import visible_organisation
from verifier.supervision.revocations import revoke_all_certificates
from verifier.supervision.schemas import OrganisationRevocation, OrganisationRevocationOut

ID = "<int(min=1, max=2147483647):org_id>"


@bp.post(f"/organisations/{ID}/revoke-certificates")
@roles(REGULATOR_SUPERVISOR)
@operation(
    summary="Revoke every certificate of an organisation (the supervisor)",
    tag="supervision",
    description="For confirmed fraud: every certificate the organisation issued that is not "
    "revoked yet is revoked with the reason, in one audited action; each then verifies as "
    "`revoked` with the reason, and the status lists change. Certificates issued before an "
    "organisation's suspension otherwise stay valid.",
    body=OrganisationRevocation,
    response=OrganisationRevocationOut,
)
def revoke_organisation_certificates_api(org_id: int) -> Any:
    session, actor = get_session(), require_actor()
    org = visible_organisation(session, actor, org_id)
    body = read_json(OrganisationRevocation)
    numbers = revoke_all_certificates(session, org, body.reason, actor)
    return answer(
        OrganisationRevocationOut(
            organisation_id=org.id,
            reason=body.reason.strip(),
            revoked_count=len(numbers),
            revoked=[number_display(n) for n in numbers],
        )
    )
