"""The audit log is a hash chain; editing, deleting or reordering an entry is caught."""

from sqlalchemy import select, text

from verifier.audit.models import AuditEntry
from verifier.audit.services import verify_chain
from verifier.db import get_session


def _entries(app):
    with app.app_context():
        return get_session().scalars(select(AuditEntry).order_by(AuditEntry.id)).all()


def _make_history(make):
    org = make.org()
    admin = make.user("org_admin", org)
    volunteer = make.volunteer(org)
    make.record(org, volunteer, actor=admin)
    return org, admin


def test_every_change_is_chained(app, make):
    _make_history(make)
    entries = _entries(app)
    actions = [e.action for e in entries]
    assert actions[:4] == [
        "organisation.create",
        "user.create",
        "volunteer.create",
        "record.create",
    ]
    assert entries[0].prev_hash == "0" * 64
    for before, after in zip(entries, entries[1:]):
        assert after.prev_hash == before.entry_hash
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"{len(entries)} entries checked" in result.output


def test_edit_behind_the_applications_back_is_caught(app, make):
    _make_history(make)
    target = _entries(app)[2]
    with app.app_context():
        session = get_session()
        session.execute(
            text("UPDATE audit_entries SET details = :d WHERE id = :id"),
            {"d": '{"volunteer_number":"V00000000000"}', "id": target.id},
        )
        session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"BROKEN at entry {target.id}" in result.output
    assert "content does not match its hash" in result.output


def test_deleted_entry_breaks_the_link(app, make):
    _make_history(make)
    entries = _entries(app)
    with app.app_context():
        session = get_session()
        session.execute(text("DELETE FROM audit_entries WHERE id = :id"), {"id": entries[1].id})
        session.commit()
        report = verify_chain(get_session())
    assert not report.ok
    assert report.broken_id == entries[2].id
    assert "does not link" in report.problem


def test_rehashing_an_edited_entry_still_breaks_the_next_link(app, make):
    """A forger who recomputes the edited entry's hash must also rewrite every later entry."""
    from verifier.audit.services import entry_digest

    _make_history(make)
    entries = _entries(app)
    with app.app_context():
        session = get_session()
        victim = session.get(AuditEntry, entries[1].id)
        victim.actor = "someone-else@example.cn"
        victim.entry_hash = entry_digest(victim)
        session.commit()
        report = verify_chain(get_session())
    assert not report.ok
    assert report.broken_id == entries[2].id
