"""What the outbox holds: sealed addresses and bodies, never an ID number, kept for good."""

from __future__ import annotations

import pytest
from outbox_helpers import outbox, queue, row
from sqlalchemy import text
from support import make_resident_id

from verifier.crypto.encryption import get_cipher
from verifier.db import get_session
from verifier.notifications.models import OutboxStatus
from verifier.notifications.sender import send_pending
from verifier.notifications.services import body_place, enqueue


def test_enqueue_refuses_a_text_with_an_id_number(app):
    number = make_resident_id(31)
    with app.app_context():
        session = get_session()
        for subject, body in ((f"证件 {number}", "正文"), ("主题", f"您的证件号 {number} 已登记")):
            with pytest.raises(ValueError, match="must not contain an ID number"):
                enqueue(session, recipient="a@example.cn", kind="test", subject=subject, body=body)
        session.rollback()
    assert outbox(app) == []


def test_the_address_and_the_body_are_sealed(app):
    [message_id] = queue(app, "person@example.cn", body="邀请码 QX7-229")
    with app.app_context():
        session = get_session()
        raw = session.execute(
            text("SELECT recipient_enc, body_enc, recipient_masked FROM outbox_messages")
        ).one()
        session.rollback()
    assert b"person" not in bytes(raw.recipient_enc)
    assert b"QX7-229" not in bytes(raw.body_enc)
    assert "邀请码".encode() not in bytes(raw.body_enc)
    assert raw.recipient_masked == "p***@example.cn"
    with app.app_context():
        assert "QX7-229" in get_cipher().open_text(bytes(raw.body_enc), body_place(message_id))


def test_a_stored_body_with_an_id_number_is_never_sent(app, caplog):
    """Written past enqueue (by hand, or an old bug): the sender refuses it for good."""
    [message_id] = queue(app, "a@example.cn")
    with app.app_context():
        session = get_session()
        sealed = get_cipher().seal_text(f"号码 {make_resident_id(32)}", body_place(message_id))
        session.execute(
            text("UPDATE outbox_messages SET body_enc = :b WHERE id = :i"),
            {"b": sealed, "i": message_id},
        )
        session.commit()
    report = send_pending(app)
    assert report.failed == 1 and report.sent == 0
    message = row(app, message_id)
    assert message.status == OutboxStatus.FAILED
    assert message.last_error == "refused: the message contains an ID number"
    assert make_resident_id(32) not in caplog.text


def test_a_body_the_data_key_cannot_open_is_tried_again_not_lost(app):
    [message_id] = queue(app, "a@example.cn")
    with app.app_context():
        session = get_session()
        session.execute(
            text("UPDATE outbox_messages SET body_enc = :b WHERE id = :i"),
            {"b": b"\x02garbage", "i": message_id},
        )
        session.commit()
    assert send_pending(app).retrying == 1
    message = row(app, message_id)
    assert message.status == OutboxStatus.PENDING
    assert message.last_error.startswith("DecryptionError")
