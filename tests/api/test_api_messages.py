"""Messages of the API that depend on the service's settings or on odd input."""

from __future__ import annotations

from support import bearer


def _admin(make):
    org = make.org()
    return org, bearer(make.token(make.user("org_admin", org)))


def test_a_bad_time_names_the_configured_zone_not_beijing(app, client, make):
    app.config["TIMEZONE"] = "Europe/Berlin"
    org, auth = _admin(make)
    volunteer = make.volunteer(org)
    body = {
        "volunteer_id": volunteer.id,
        "activity": "敬老",
        "place": "社区",
        "content": "",
        "started_at": "not a time",
        "ended_at": "2026-03-05T10:00:00+01:00",
        "minutes": 60,
    }
    answer = client.post(
        "/api/v1/records", json=body, headers={**auth, "Accept-Language": "en"}
    ).get_json()
    message = answer["errors"][0]["message"]
    assert "Europe/Berlin" in message and "Beijing" not in message


def test_a_number_too_long_to_read_is_a_plain_400(client, make):
    _org, auth = _admin(make)
    raw = '{"volunteer_id": ' + "9" * 5000 + "}"
    answer = client.post(
        "/api/v1/records",
        data=raw,
        content_type="application/json",
        headers={**auth, "Accept-Language": "en"},
    )
    assert answer.status_code == 400
    detail = answer.get_json()["detail"]
    assert detail == "the request body holds a number too long to read"
    assert "sys.set_int_max_str_digits" not in detail


def test_a_rule_over_several_fields_names_the_field_it_is_about(app):
    import pytest

    from verifier.api.schemas import validate
    from verifier.errors import ValidationError
    from verifier.spotchecks.schemas import SeedIn

    with app.test_request_context(headers={"Accept-Language": "en"}):
        for body in (
            {},
            {"ceremony_input": "too short"},
            {"seed": "1" * 20, "ceremony_input": "2" * 20},
        ):
            with pytest.raises(ValidationError) as caught:
                validate(SeedIn, body)
            assert caught.value.errors[0].field == "ceremony_input", body
