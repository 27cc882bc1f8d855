"""Findings per item, with evidence files checked by content and size; a discrepancy suspends
exactly the certificates covering the affected records."""

import hashlib
import html
import io
import re

import pytest
from support.supervision_world import JPEG, PDF, PNG, build_world, certificate_status, finding

from verifier.certificates.services import number_display


@pytest.fixture
def world(app):
    return build_world(app)


def test_a_discrepancy_suspends_exactly_the_covering_certificates(client, world):
    assert {n: certificate_status(client, world, n) for n in world.certs} == dict.fromkeys(
        world.certs, "valid"
    )
    response = finding(
        client,
        world,
        "record0",
        result="discrepancy",
        discrepancy_type="hours_inflated",
        notes="签到记录只有1小时",
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["finding"]["record_ids"] == [world.records[0].id]
    case = body["case"]
    assert case["status"] == "open" and case["organisation"]["id"] == world.org.id
    assert [c["number"] for c in case["certificates"]] == [
        number_display(world.certs["first"].number)
    ]
    # record 0 is covered by "first" only; "second" (record 2) and the other organisation's stay
    assert certificate_status(client, world, "first") == "suspended"
    assert certificate_status(client, world, "second") == "valid"
    assert certificate_status(client, world, "other") == "valid"
    page = client.get(f"/v/{world.certs['first'].token}").get_data(as_text=True)
    # the reason names the finding and the case, and nothing personal
    assert f"spot check finding {body['finding']['id']} (Hours inflated)" in page
    assert f"supervision case {case['id']}" in page and "签到记录" not in page


def test_a_discrepancy_on_an_organisation_item_names_its_records(client, world):
    response = finding(
        client,
        world,
        "org",
        result="discrepancy",
        discrepancy_type="activity_not_held",
        notes="活动当天场地关闭",
        record_ids=[world.records[1].id, world.records[2].id],
    )
    assert response.status_code == 201, response.get_json()
    assert certificate_status(client, world, "first") == "suspended"
    assert certificate_status(client, world, "second") == "suspended"
    assert certificate_status(client, world, "other") == "valid"


def test_an_affected_record_must_be_the_inspected_organisations(client, world):
    response = finding(
        client,
        world,
        "org",
        result="discrepancy",
        discrepancy_type="duplicate",
        notes="重复",
        record_ids=[world.other_record.id],
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "record_ids"
    assert certificate_status(client, world, "other") == "valid"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"result": "discrepancy", "notes": "x"}, "discrepancy_type"),
        ({"result": "discrepancy", "discrepancy_type": "duplicate"}, "notes"),
        ({"result": "confirmed", "discrepancy_type": "duplicate"}, "discrepancy_type"),
        ({"result": "fine"}, "result"),
        (
            {"result": "discrepancy", "discrepancy_type": "made_up", "notes": "x"},
            "discrepancy_type",
        ),
    ],
)
def test_a_finding_breaking_a_rule_is_refused(client, world, body, field):
    response = finding(client, world, "record0", **body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][0]["field"] == field


def test_one_finding_per_item_by_an_assigned_inspector(client, world):
    assert finding(client, world, "record1", result="confirmed").status_code == 201
    again = finding(client, world, "record1", who="inspector2", result="unverifiable")
    assert again.status_code == 409
    # a supervisor may read any item but records findings only where drawn
    assert (
        finding(client, world, "record0", who="supervisor", result="confirmed").status_code == 403
    )
    listed = client.get("/api/v1/spotcheck/items?pending=1", headers=world.auth("inspector"))
    assert world.items["record1"].id not in [i["id"] for i in listed.get_json()["items"]]


def _upload(client, world, files, who="inspector", item="record0", **fields):
    data = {
        "result": "discrepancy",
        "discrepancy_type": "volunteer_unaware",
        "notes": "志愿者称未参加",
        **fields,
        "evidence": [(io.BytesIO(content), name) for name, content in files],
    }
    return client.post(
        f"/api/v1/spotcheck/items/{world.items[item].id}/finding",
        data=data,
        content_type="multipart/form-data",
        headers=world.auth(who),
    )


def test_evidence_is_stored_with_its_digest_and_downloadable_by_regulators_and_the_case_org(
    client, world
):
    response = _upload(
        client, world, [("询问笔录.pdf", PDF), ("现场照片.png", PNG), ("a.jpg", JPEG)]
    )
    assert response.status_code == 201, response.get_json()
    evidence = response.get_json()["finding"]["evidence"]
    assert [(e["filename"], e["content_type"]) for e in evidence] == [
        ("询问笔录.pdf", "application/pdf"),
        ("现场照片.png", "image/png"),
        ("a.jpg", "image/jpeg"),
    ]
    assert evidence[1]["sha256"] == hashlib.sha256(PNG).hexdigest() and evidence[1]["size"] == len(
        PNG
    )
    url = evidence[1]["url"]
    for who in ("supervisor", "inspector2", "org_recorder"):
        download = client.get(url, headers=world.auth(who))
        assert download.status_code == 200, who
        assert download.data == PNG and download.mimetype == "image/png"
        assert download.headers["Content-Disposition"].startswith("attachment")
    assert client.get(url, headers=world.auth("other_admin")).status_code == 404
    # an inspector who was not drawn for this organisation cannot read it either
    assert client.get(url, headers=world.auth("outsider")).status_code == 404
    # the same through the pages
    evidence_id = evidence[0]["id"]
    assert world.client("org_admin").get(f"/supervision/evidence/{evidence_id}").data == PDF
    assert (
        world.client("other_admin").get(f"/supervision/evidence/{evidence_id}").status_code == 404
    )


def test_evidence_is_recognised_by_content_not_by_name(client, world):
    response = _upload(client, world, [("合同.pdf", b"MZ\x90\x00 this is an executable")])
    assert response.status_code == 422
    error = response.get_json()["errors"][0]
    assert (error["field"], error["rule"]) == ("evidence", "file_type")
    # nothing was recorded: the item is still pending and no certificate was suspended
    assert certificate_status(client, world, "first") == "valid"
    # a real PNG under a misleading name is accepted, as what it is
    renamed = _upload(client, world, [("scan.pdf", PNG)])
    assert renamed.status_code == 201
    assert renamed.get_json()["finding"]["evidence"][0]["content_type"] == "image/png"


def test_evidence_is_stored_under_the_extension_of_its_checked_type(client, world):
    """A PNG sent as .html (or with a path, or a right-to-left override) is kept as a .png."""
    response = _upload(
        client,
        world,
        [("现场照片.html", PNG), ("../../etc/passwd.svg.pdf", PDF), ("ab\u202egpj.exe", JPEG)],
    )
    assert response.status_code == 201, response.get_json()
    evidence = response.get_json()["finding"]["evidence"]
    assert [e["filename"] for e in evidence] == ["现场照片.png", "passwd.pdf", "abgpj.jpg"]
    download = client.get(evidence[0]["url"], headers=world.auth("supervisor"))
    disposition = download.headers["Content-Disposition"]
    assert f'filename="evidence-{evidence[0]["id"]}.png"' in disposition
    assert disposition.endswith(".png")  # the UTF-8 name, percent-encoded, ends in .png too


def test_evidence_over_the_size_limit_is_refused(app, client, world):
    app.config["EVIDENCE_MAX_BYTES"] = 100
    response = _upload(client, world, [("big.pdf", PDF + b" " * 200)])
    assert response.status_code == 413
    assert "100 B" in response.get_json()["detail"]
    assert certificate_status(client, world, "first") == "valid"
    assert _upload(client, world, [("small.pdf", PDF)]).status_code == 201


def test_an_empty_evidence_file_is_refused(client, world):
    response = _upload(client, world, [("empty.png", b"")])
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["rule"] == "empty"


def test_the_finding_form_on_the_item_page(client, world):
    inspector = world.client("inspector2")
    item = world.items["org"].id
    response = inspector.post(
        f"/inspections/{item}",
        data={
            "result": "discrepancy",
            "discrepancy_type": "paid_or_job_duty",
            "notes": "系单位安排的工作任务",
            "record_ids": [str(world.records[0].id)],
            "evidence": [(io.BytesIO(PNG), "photo.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = inspector.get(f"/inspections/{item}").get_data(as_text=True)
    assert "Paid work or job duty recorded as volunteering" in page and "photo.png" in page
    assert "/supervision/cases/" in page
    assert certificate_status(client, world, "first") == "suspended"
    # a bad form keeps the page, says why, and records nothing
    other = inspector.post(
        f"/inspections/{world.items['record1'].id}",
        data={"result": "discrepancy", "notes": ""},
        content_type="multipart/form-data",
    )
    assert other.status_code == 422
    assert "Record the finding" in other.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "field", "page_field"),
    [
        ({"result": "confirmed", "discrepancy_type": "duplicate"}, "discrepancy_type", None),
        ({"result": "confirmed", "record_ids": "ID"}, "record_ids", "other_record_ids"),
        (
            {"result": "discrepancy", "discrepancy_type": "duplicate", "notes": "x",
             "record_ids": "12a"},
            "record_ids",
            "other_record_ids",
        ),
    ],
)  # fmt: skip
def test_the_finding_form_and_the_api_read_a_finding_by_one_rule(
    client, world, body, field, page_field
):
    item = world.items["record0"].id
    if body.get("record_ids") == "ID":
        body = {**body, "record_ids": str(world.records[0].id)}
    api = client.post(
        f"/api/v1/spotcheck/items/{item}/finding",
        data=body,
        content_type="multipart/form-data",
        headers=world.auth("inspector"),
    )
    assert api.status_code == 422, api.get_json()
    (error,) = api.get_json()["errors"]
    assert error["field"] == field
    page = world.client("inspector").post(
        f"/inspections/{item}", data=body, content_type="multipart/form-data"
    )
    assert page.status_code == 422
    shown = re.search(rf'id="{page_field or field}-error" role="alert">([^<]*)</p>', page.text)
    assert shown and html.unescape(shown.group(1)) == error["message"]
