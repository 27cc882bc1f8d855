"""The public results page of a published campaign (一公开); no sign-in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from verifier.auth.access import public
from verifier.db import get_session
from verifier.labels import label
from verifier.orgs.labels import ORG_TYPE
from verifier.supervision.labels import DISCREPANCY_TYPE, FINDING_RESULT, SANCTION
from verifier.supervision.models import DiscrepancyType, FindingResult
from verifier.supervision.results import public_results

bp = Blueprint("public_spotchecks", __name__)


@bp.get("/spotchecks/<int(max=2147483647):campaign_id>")
@public
def results_page(campaign_id: int) -> Any:
    """Scope, population hash, seed, sample size, organisations checked and what was found."""
    found = public_results(get_session(), campaign_id)
    parameters = found.campaign.parameters or {}
    scope = parameters.get("scope") or {}
    return render_template(
        "supervision/public_results.html",
        found=found,
        campaign=found.campaign,
        parameters=parameters,
        scope_types=[label(ORG_TYPE, t) for t in scope.get("org_types") or []],
        region_prefix=scope.get("region_prefix") or "",
        period=parameters.get("period") or {},
        results_order=tuple(FindingResult),
        types_order=tuple(DiscrepancyType),
        result_labels=FINDING_RESULT,
        type_labels=DISCREPANCY_TYPE,
        sanction_labels=SANCTION,
    )
