"""An import tells each volunteer once, in one message, of the records it wrote about them."""

from __future__ import annotations

from myrecords_helpers import messages, volunteer_account
from support import bearer
from support.import_files import csv_bytes, person, row, upload

from verifier.db import get_session
from verifier.volunteers.services import find_by_identity

URL = "/api/v1/records/import"


def _post(client, token, data, **form):
    body = {"file": upload(data), **{k: str(v).lower() for k, v in form.items()}}
    return client.post(URL, data=body, headers=bearer(token), content_type="multipart/form-data")


def test_an_import_sends_one_digest_per_volunteer_not_one_message_per_row(app, client, make):
    org = make.org(name="南川区志愿者协会")
    token = make.token(make.user("org_admin", org))
    rows = [
        row(801, days_ago=30, activity="社区敬老服务"),
        row(801, days_ago=20, activity="垃圾分类宣传"),
        row(801, days_ago=10, activity="图书馆读者服务", hours=2),
        row(802, days_ago=12),
    ]
    done = _post(client, token, csv_bytes(rows))
    assert done.status_code == 200 and done.get_json()["imported"] == 4, done.get_json()
    with app.app_context():
        session = get_session()
        first = find_by_identity(session, "resident_id", person(801)["id_number"])
        second = find_by_identity(session, "resident_id", person(802)["id_number"])
    # neither has an account nor a phone: nothing to send yet
    assert messages(make, first.id) == [] and messages(make, second.id) == []
    volunteer_account(make, first)
    more = [row(801, days_ago=5, activity="河道环保清洁"), row(801, days_ago=4)]
    assert _post(client, token, csv_bytes(more)).get_json()["imported"] == 2
    sent = messages(make, first.id)
    assert [m.kind for m, _body in sent] == ["records_imported"], [b for _m, b in sent]
    (message, body) = sent[0]
    assert "南川区志愿者协会" in message.subject
    assert "2 条" in body and "河道环保清洁" in body and "/me" in body
    assert person(801)["id_number"] not in body


def test_a_dry_run_and_a_refused_file_send_nothing(app, client, make):
    org = make.org()
    token = make.token(make.user("org_admin", org))
    assert _post(client, token, csv_bytes([row(811)])).get_json()["imported"] == 1
    with app.app_context():
        volunteer = find_by_identity(get_session(), "resident_id", person(811)["id_number"])
    volunteer_account(make, volunteer)
    dry = _post(client, token, csv_bytes([row(811, days_ago=3)]), dry_run=True)
    assert dry.status_code == 200
    bad = _post(
        client,
        token,
        csv_bytes([row(811, days_ago=2), row(812, minutes="-5")]),
        all_or_nothing=True,
    )
    assert bad.get_json()["imported"] == 0
    assert messages(make, volunteer.id) == []
