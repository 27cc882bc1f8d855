"""A receipt for every record: created, corrected or voided, the volunteer hears what was written,
with a link to confirm or dispute it; in the outbox, in the same transaction, sealed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from myrecords_helpers import World, messages, volunteer_account
from support import bearer, days_ago, make_resident_id

from verifier.auth.models import User
from verifier.crypto.encryption import get_cipher
from verifier.notifications.models import Channel, OutboxMessage
from verifier.notifications.services import recipient_place

RECEIPT = "record_receipt"


@pytest.fixture
def world(make):
    return World(make)


def test_a_new_record_sends_a_receipt_with_what_was_written(app, make, world):
    record = make.record(
        world.org,
        world.volunteer,
        actor=world.admin,
        started_at=days_ago(5, hour=14),
        activity="重阳节敬老活动",
        place="东城街道敬老院",
        minutes=150,
    )
    message, body = messages(make, world.volunteer.id, RECEIPT)[-1]
    assert message.channel == Channel.EMAIL and message.user_id == world.account.id
    assert message.locale == "zh"
    assert message.subject == "志愿服务记录回执：南川区青年志愿者协会"
    assert "重阳节敬老活动" in body and "东城街道敬老院" in body
    assert "14:00" in body and "2.50" in body and "150" in body
    assert "有效" in body  # its status
    assert f"{app.config['BASE_URL']}/me/records/{record.id}" in body
    assert make_resident_id(901) not in body


def test_a_correction_and_a_void_send_receipts_with_their_reason(make, world):
    before = len(messages(make, world.volunteer.id, RECEIPT))
    world.correct(world.record, minutes=150, reason="核对签到表后更正")
    world.void(world.record, reason="活动取消，重复录入")
    corrected, voided = messages(make, world.volunteer.id, RECEIPT)[before:]
    assert "已更正" in corrected[0].subject
    assert "核对签到表后更正" in corrected[1] and "2.50" in corrected[1]
    assert "已更正" in corrected[1]
    assert "已作废" in voided[0].subject
    assert "活动取消，重复录入" in voided[1] and "已作废" in voided[1]
    assert f"/me/records/{world.record.id}" in voided[1]


def test_records_entered_before_the_account_went_nowhere(make, world):
    # the world's records were entered before the account existed, and there is no phone
    assert messages(make, world.volunteer.id, RECEIPT) == []
    make.record(world.org, world.volunteer, actor=world.admin, started_at=days_ago(3))
    assert len(messages(make, world.volunteer.id, RECEIPT)) == 1


def test_no_account_and_no_phone_means_no_receipt(make, world):
    nobody = make.volunteer(world.org, name="赵无联系")
    make.record(world.org, nobody, actor=world.admin, started_at=days_ago(3))
    assert messages(make, nobody.id) == []


def test_without_an_account_the_receipt_goes_to_the_phone_on_file(make, world):
    reachable = make.volunteer(world.org, name="钱有电话", phone="13800138000")
    make.record(world.org, reachable, actor=world.admin, started_at=days_ago(3))
    ((message, body),) = messages(make, reachable.id, RECEIPT)
    assert message.channel == Channel.SMS and message.user_id is None
    assert message.recipient_masked == "138****8000"
    recipient = make.run(
        lambda s: get_cipher().open_text(
            s.get(OutboxMessage, message.id).recipient_enc, recipient_place(message.id)
        )
    )
    assert recipient == "13800138000"
    assert "南川区青年志愿者协会" in body


def test_the_receipt_is_in_the_volunteers_language(make, world):
    make.run(lambda s: setattr(s.get(User, world.account.id), "locale", "en"))
    make.record(world.org, world.volunteer, actor=world.admin, started_at=days_ago(3))
    message, body = messages(make, world.volunteer.id, RECEIPT)[-1]
    assert message.locale == "en"
    assert message.subject == "Service record receipt: 南川区青年志愿者协会"
    assert "Confirm it, or dispute it if it is wrong" in body


def test_an_id_number_typed_into_a_record_is_masked_in_the_receipt(make, world):
    number = make_resident_id(950)
    make.record(
        world.org,
        world.volunteer,
        actor=world.admin,
        started_at=days_ago(3),
        activity=f"陪同 {number} 就医",
    )
    _message, body = messages(make, world.volunteer.id, RECEIPT)[-1]
    assert number not in body
    assert number[:3] in body and number[-4:] in body


def test_an_account_that_is_not_active_falls_back_to_the_phone(make, world):
    person = make.volunteer(world.org, name="孙停用", phone="13900139000")
    account = volunteer_account(make, person)
    make.run(lambda s: setattr(s.get(User, account.id), "active", False))
    make.record(world.org, person, actor=world.admin, started_at=days_ago(3))
    ((message, _body),) = messages(make, person.id, RECEIPT)
    assert message.channel == Channel.SMS


def test_a_record_entered_over_the_api_sends_its_receipt(client, make, world):
    start = days_ago(2)
    body = {
        "volunteer_id": world.volunteer.id,
        "activity": "社区卫生清扫",
        "place": "南川区西城街道",
        "content": "清扫街道",
        "started_at": start.isoformat(),
        "ended_at": (start + timedelta(hours=2)).isoformat(),
        "minutes": 120,
    }
    created = client.post("/api/v1/records", json=body, headers=bearer(make.token(world.admin)))
    assert created.status_code == 201
    _message, text = messages(make, world.volunteer.id, RECEIPT)[-1]
    assert "社区卫生清扫" in text and f"/me/records/{created.get_json()['id']}" in text
