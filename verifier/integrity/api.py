"""The public checkpoint list of the audit chain: GET /api/v1/audit/checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, url_for
from pydantic import Field

from verifier.api import bp
from verifier.api.openapi import operation
from verifier.api.schemas import INT32_MAX, InputModel, OutputModel, answer, local, read_query
from verifier.auth.access import public
from verifier.db import get_session
from verifier.integrity.checkpoints import CHECKPOINT_TYPE, list_checkpoints

MAX_LIMIT = 1000


class CheckpointQuery(InputModel):
    after: int = Field(
        0, ge=0, le=INT32_MAX, description="Only checkpoints with a greater seq (for copying on)."
    )
    limit: int = Field(100, ge=1, le=MAX_LIMIT, description="At most this many (1 to 1,000).")


class CheckpointOut(OutputModel):
    seq: int = Field(description="The checkpoint's number, from 1; one more than the previous.")
    count: int = Field(description="Entries in the chain when it was signed (entries 1..count).")
    head: str = Field(description="SHA-256 (hex) of entry number `count`: its `entry_hash`.")
    prev: str = Field(description="SHA-256 (hex) of the previous checkpoint's `jws`; #1: zeros.")
    created_at: datetime = Field(description="When it was signed (the JWS's `iat`).")
    kid: str = Field(description="The signing key: its RFC 7638 thumbprint, in the JWKS.")
    jws: str = Field(
        description=f"Compact JWS (EdDSA, typ `{CHECKPOINT_TYPE}`) whose payload is "
        "`{iss, seq, count, head, prev, iat}`: the only part that counts."
    )


class CheckpointList(OutputModel):
    checkpoints: list[CheckpointOut]
    next: str | None = Field(
        description="The next page's path, or null when this page reaches the end."
    )
    jwks_uri: str = Field(description="The service's public keys, retired ones included.")


@bp.get("/audit/checkpoints")
@public
@operation(
    summary="The signed checkpoints of the audit log (append-only, public)",
    tag="audit",
    description=(
        "Every checkpoint of the audit hash chain, oldest first: the entry count and the hash "
        "of the chain's head, signed with the platform's key. No personal data. Keep a copy "
        "and add to it with `?after=<last seq>`: a copy made before anyone cut or rewrote the "
        "log shows it, with `verifier audit verify --checkpoints FILE_OR_URL` or any JOSE "
        "library (docs/audit.md)."
    ),
    query=CheckpointQuery,
    response=CheckpointList,
)
def audit_checkpoints_api() -> Any:
    query = read_query(CheckpointQuery)
    rows = list_checkpoints(get_session(), query.after, query.limit + 1)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_link = (
        url_for("api.audit_checkpoints_api", after=rows[-1].seq, limit=query.limit)
        if more
        else None
    )
    response = answer(
        CheckpointList(
            checkpoints=[
                CheckpointOut(
                    seq=row.seq,
                    count=row.entry_count,
                    head=row.head_hash,
                    prev=row.prev_hash,
                    created_at=local(row.created_at),
                    kid=row.kid,
                    jws=row.jws,
                )
                for row in rows
            ],
            next=next_link,
            jwks_uri=current_app.config["BASE_URL"] + "/.well-known/jwks.json",
        )
    )
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
