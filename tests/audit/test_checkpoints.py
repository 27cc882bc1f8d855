"""Signed checkpoints show a cut or rewritten audit log, even one whose hashes were recomputed."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from sqlalchemy import delete, func, select, text

from verifier.audit.models import AuditCheckpoint, AuditEntry
from verifier.audit.services import entry_digest
from verifier.crypto import signing
from verifier.db import get_session
from verifier.integrity.checkpoints import make_checkpoint
from verifier.keys.services import active_key


def _history(make, users: int = 2):
    """An organisation, its admin, a volunteer, a record, then a few more users."""
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin)
    for _ in range(users):
        make.user("org_recorder", org)
    return org


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["audit", *args])


def _entry_count(app) -> int:
    with app.app_context():
        return get_session().scalar(select(func.count()).select_from(AuditEntry))


def _copy(client, tmp_path, name="checkpoints.json", **query):
    """Copy the public checkpoint list to a file, as an outsider would."""
    response = client.get("/api/v1/audit/checkpoints", query_string=query)
    assert response.status_code == 200
    path = tmp_path / name
    path.write_bytes(response.data)
    return path, response.get_json()


def _b64json(value) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _payload(token: str) -> dict:
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_a_checkpoint_signs_the_head_and_a_second_library_verifies_it(app, make, client):
    _history(make)
    result = _cli(app, "checkpoint")
    assert result.exit_code == 0, result.output
    assert "checkpoint #1:" in result.output
    with app.app_context():
        last = get_session().scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    listing = client.get("/api/v1/audit/checkpoints").get_json()
    (item,) = listing["checkpoints"]
    key_set = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    with pytest.warns(SecurityWarning, match="RFC 9864"):  # joserfc: "EdDSA" is deprecated
        verified = jws.deserialize_compact(item["jws"], key_set, algorithms=["EdDSA"])
    assert verified.protected["typ"] == "audit-checkpoint+jwt"
    assert verified.protected["kid"] == item["kid"]
    payload = json.loads(verified.payload)
    assert payload["count"] == item["count"] == _entry_count(app)
    assert payload["head"] == item["head"] == last.entry_hash
    assert payload["seq"] == 1 and payload["prev"] == "0" * 64
    assert payload["iss"] == "http://verifier.test"
    # nothing new: a second run signs nothing
    again = _cli(app, "checkpoint")
    assert again.exit_code == 0 and "nothing to sign" in again.output
    verify = _cli(app, "verify")
    assert verify.exit_code == 0, verify.output
    assert "the latest, #1," in verify.output


def test_truncating_the_last_entries_is_caught_with_a_copy_of_the_checkpoints(
    app, make, client, tmp_path
):
    _history(make)
    assert _cli(app, "checkpoint").exit_code == 0
    copy, listing = _copy(client, tmp_path)
    signed_count = listing["checkpoints"][0]["count"]
    with app.app_context():
        session = get_session()
        last_two = session.scalars(
            select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(2)
        ).all()
        # the forger deletes the last two entries and every checkpoint
        session.execute(delete(AuditEntry).where(AuditEntry.id.in_(last_two)))
        session.execute(delete(AuditCheckpoint))
        session.commit()
    # what is left is a consistent chain: alone, it cannot show the cut
    assert _cli(app, "verify").exit_code == 0
    result = _cli(app, "verify", "--checkpoints", str(copy))
    assert result.exit_code == 1, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("audit log BROKEN: the log has")
    assert f"{signed_count - 2} entries, but checkpoint #1 from {copy}" in first
    assert "entries were removed from its end" in first
    assert f"checkpoint #1 from {copy} is missing from the database's list" in result.output


def test_truncation_is_caught_by_the_database_checkpoints_by_default(app, make):
    _history(make)
    assert _cli(app, "checkpoint").exit_code == 0
    with app.app_context():
        session = get_session()
        last = session.scalar(select(func.max(AuditEntry.id)))
        session.execute(delete(AuditEntry).where(AuditEntry.id == last))
        session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert "checkpoint #1 in the database" in result.output
    assert "entries were removed from its end" in result.output


def _rewrite_from(session, position: int) -> int:
    """Change entry number `position` and recompute its hash and every later one's."""
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    victim = entries[position - 1]
    victim.actor = "someone-else@example.cn"
    prev = entries[position - 2].entry_hash if position > 1 else "0" * 64
    for entry in entries[position - 1 :]:
        entry.prev_hash = prev
        entry.entry_hash = prev = entry_digest(entry)
    session.commit()
    return victim.id


def test_rewriting_entries_and_recomputing_every_hash_is_caught(app, make, client, tmp_path):
    _history(make)
    assert _cli(app, "checkpoint").exit_code == 0
    copy, listing = _copy(client, tmp_path)
    count = listing["checkpoints"][0]["count"]
    with app.app_context():
        session = get_session()
        _rewrite_from(session, 2)
        head_id = session.scalar(select(func.max(AuditEntry.id)))
    # the chain itself is consistent again ...
    with app.app_context():
        from verifier.audit.services import verify_chain

        assert verify_chain(get_session()).ok
    # ... but the checkpoint signed the old head
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"audit log BROKEN: entry number {count} (id {head_id}) does not have the hash that "
        f"checkpoint #1 in the database signed on {_signed_on(listing)}: the log was rewritten "
        "at or before that entry"
    )
    # a forger who also deletes the database's checkpoints is caught by a copy
    with app.app_context():
        session = get_session()
        session.execute(delete(AuditCheckpoint))
        session.commit()
    result = _cli(app, "verify", "--checkpoints", str(copy))
    assert result.exit_code == 1
    assert f"that checkpoint #1 from {copy} signed" in result.output.splitlines()[0]


def _signed_on(listing) -> str:
    from datetime import datetime

    created = datetime.fromisoformat(listing["checkpoints"][0]["created_at"])
    return created.strftime("%Y-%m-%d %H:%M:%S %z")


def test_a_forged_checkpoint_signature_is_caught(app, make, client, tmp_path):
    _history(make)
    assert _cli(app, "checkpoint").exit_code == 0
    _path, listing = _copy(client, tmp_path)
    item = listing["checkpoints"][0]
    header, payload, signature = item["jws"].split(".")
    # 1. a claimed count changed, the service's signature kept
    altered = dict(_payload(item["jws"]), count=item["count"] - 1)
    forged = {**item, "jws": f"{header}.{_b64json(altered)}.{signature}"}
    (tmp_path / "altered.json").write_text(json.dumps({"checkpoints": [forged]}))
    result = _cli(app, "verify", "--checkpoints", str(tmp_path / "altered.json"))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"audit log BROKEN: checkpoint #1 (item 1) from {tmp_path / 'altered.json'}: its "
        "signature is invalid: it was altered or forged"
    )
    # 2. signed by a stranger's key under the service's kid
    stranger = signing.generate_private_key()
    token = signing.sign_compact_jws(
        _payload(item["jws"]), stranger, item["kid"], signing.CHECKPOINT_TYPE
    )
    (tmp_path / "stranger.json").write_text(json.dumps([{**item, "jws": token}]))
    result = _cli(app, "verify", "--checkpoints", str(tmp_path / "stranger.json"))
    assert result.exit_code == 1
    assert "its signature is invalid" in result.output
    # 3. the database's own checkpoint replaced by a forgery
    with app.app_context():
        session = get_session()
        session.execute(text("UPDATE audit_checkpoints SET jws = :j"), {"j": forged["jws"]})
        session.commit()
    result = _cli(app, "verify")
    assert result.exit_code == 1
    assert "checkpoint #1 in the database: its signature is invalid" in result.output


def test_a_key_retired_later_still_verifies_old_checkpoints(app, make, client, tmp_path):
    org = _history(make)
    assert _cli(app, "checkpoint").exit_code == 0
    rotated = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    make.user("org_recorder", org)
    assert _cli(app, "checkpoint").exit_code == 0
    copy, listing = _copy(client, tmp_path)
    first, second = listing["checkpoints"]
    assert first["kid"] != second["kid"]
    jwks = {k["kid"]: k["status"] for k in client.get("/.well-known/jwks.json").json["keys"]}
    assert jwks[first["kid"]] == "retired"
    result = _cli(app, "verify", "--checkpoints", str(copy))
    assert result.exit_code == 0, result.output
    assert "2 checked (2 from the database, 2 from" in result.output


def test_unusable_checkpoint_copies_exit_2_naming_the_problem(app, make, tmp_path):
    _history(make)
    missing = _cli(app, "verify", "--checkpoints", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2
    assert missing.output.startswith(f"error: cannot read {tmp_path / 'nope.json'}")
    (tmp_path / "bad.json").write_text("{not json")
    bad = _cli(app, "verify", "--checkpoints", str(tmp_path / "bad.json"))
    assert bad.exit_code == 2 and "is not a JSON document" in bad.output
    (tmp_path / "other.json").write_text('{"keys": []}')
    other = _cli(app, "verify", "--checkpoints", str(tmp_path / "other.json"))
    assert other.exit_code == 2 and "is not a checkpoint list" in other.output
    (tmp_path / "nojws.json").write_text('[{"seq": 1}]')
    nojws = _cli(app, "verify", "--checkpoints", str(tmp_path / "nojws.json"))
    assert nojws.exit_code == 2 and "item 1 is not a checkpoint" in nojws.output
    refused = _cli(app, "verify", "--checkpoints", "http://127.0.0.1:9/x", "--timeout", "2")
    assert refused.exit_code == 2 and "could not fetch http://127.0.0.1:9/x" in refused.output
    assert "Traceback" not in refused.output


class _Pages(BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.pages.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body or b"{}")

    def log_message(self, *args):
        pass


def test_a_copy_is_read_from_the_url_page_by_page(app, make, client):
    org = _history(make)
    for _ in range(3):
        assert _cli(app, "checkpoint").exit_code == 0
        make.user("org_recorder", org)
    pages = {}
    path = "/api/v1/audit/checkpoints?limit=1"
    while path:
        response = client.get(path)
        pages[path] = response.data
        path = response.get_json()["next"]
    assert len(pages) == 3
    _Pages.pages = pages
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/v1/audit/checkpoints?limit=1"
        result = _cli(app, "verify", "--checkpoints", url)
        assert result.exit_code == 0, result.output
        assert f"3 checked (3 from the database, 3 from {url})" in result.output
        with app.app_context():
            session = get_session()
            last_two = session.scalars(
                select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(2)
            ).all()
            session.execute(delete(AuditEntry).where(AuditEntry.id.in_(last_two)))
            session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq == 3))
            session.commit()
        result = _cli(app, "verify", "--checkpoints", url)
        assert result.exit_code == 1
        assert f"but checkpoint #3 from {url}" in result.output.splitlines()[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_checkpoint_is_made_every_n_entries(app, make):
    app.config["AUDIT_CHECKPOINT_EVERY"] = 3
    make.run(active_key)  # the automatic checkpoint never makes the first key itself
    org = _history(make, users=5)
    with app.app_context():
        rows = get_session().scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
        counts = [row.entry_count for row in rows]
    assert len(counts) >= 3
    assert all(later - earlier >= 3 for earlier, later in zip(counts, counts[1:]))
    assert _cli(app, "verify").exit_code == 0
    app.config["AUDIT_CHECKPOINT_EVERY"] = 0
    before = len(counts)
    make.user("org_recorder", org)
    make.user("org_recorder", org)
    make.user("org_recorder", org)
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(AuditCheckpoint)) == before


def test_the_hourly_job_signs_only_when_the_chain_grew(app, make, monkeypatch):
    from verifier.spotchecks import scheduler

    monkeypatch.setattr(scheduler, "_app", app)
    org = _history(make)

    def checkpoints():
        with app.app_context():
            return get_session().scalar(select(func.count()).select_from(AuditCheckpoint))

    scheduler.checkpoint_job()
    assert checkpoints() == 1
    scheduler.checkpoint_job()
    assert checkpoints() == 1
    make.user("org_recorder", org)
    scheduler.checkpoint_job()
    assert checkpoints() == 2


def test_the_checkpoint_list_is_public_paged_and_holds_no_personal_data(app, make, client):
    org = make.org()
    admin = make.user("org_admin", org, email="wang.admin@example.cn")
    volunteer = make.volunteer(org, name="张三丰", id_number="11010119900307002X")
    make.record(org, volunteer, actor=admin)
    assert _cli(app, "checkpoint").exit_code == 0
    make.user("org_recorder", org)
    assert _cli(app, "checkpoint").exit_code == 0
    response = client.get("/api/v1/audit/checkpoints")  # anonymous
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert set(body) == {"checkpoints", "next", "jwks_uri"}
    assert body["next"] is None
    assert body["jwks_uri"] == "http://verifier.test/.well-known/jwks.json"
    for item in body["checkpoints"]:
        assert set(item) == {"seq", "count", "head", "prev", "created_at", "kid", "jws"}
        assert set(_payload(item["jws"])) == {"iss", "seq", "count", "head", "prev", "iat"}
    raw = response.get_data(as_text=True)
    for personal in ("张三丰", "11010119900307002X", "wang.admin@example.cn"):
        assert personal not in raw
    first = client.get("/api/v1/audit/checkpoints?limit=1").get_json()
    assert [c["seq"] for c in first["checkpoints"]] == [1]
    assert first["next"] == "/api/v1/audit/checkpoints?after=1&limit=1"
    rest = client.get(first["next"]).get_json()
    assert [c["seq"] for c in rest["checkpoints"]] == [2] and rest["next"] is None
    assert client.get("/api/v1/audit/checkpoints?after=2").get_json()["checkpoints"] == []
    for bad, field in (("after=-1", "after"), ("limit=0", "limit"), ("limit=1001", "limit")):
        refused = client.get(f"/api/v1/audit/checkpoints?{bad}")
        assert refused.status_code == 422
        assert refused.content_type == "application/problem+json"
        assert refused.get_json()["errors"][0]["field"] == field
    unknown = client.get("/api/v1/audit/checkpoints?page=2")
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"][0]["rule"] == "extra_forbidden"
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/audit/checkpoints"]["get"]
    assert operation["security"] == []
    assert {p["name"] for p in operation["parameters"]} == {"after", "limit"}


def test_making_a_checkpoint_of_an_empty_log_signs_nothing(app):
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        assert make_checkpoint(session, create_key=False) is None


def test_a_negative_checkpoint_interval_is_refused_at_start(monkeypatch):
    from verifier import create_app
    from verifier.config import ConfigError

    monkeypatch.setenv("VERIFIER_DATABASE_URL", "sqlite:///:memory:")
    monkeypatch.setenv("VERIFIER_AUDIT_CHECKPOINT_EVERY", "-5")
    with pytest.raises(ConfigError, match="VERIFIER_AUDIT_CHECKPOINT_EVERY"):
        create_app()
