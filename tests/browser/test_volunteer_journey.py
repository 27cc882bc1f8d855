"""Issue 9, done when: a volunteer goes, on a phone-sized browser, from the invitation code to a
downloaded certificate.

A real app on a SQLite file, served over HTTP, driven by Chromium: the volunteer (phone, Chinese)
claims the account by keyboard, sees their records and hours, asks for a certificate; the
organisation's admin (a second browser, desktop) issues it; the volunteer downloads the PDF. The
volunteer's own time is measured and reported (volunteer_seconds), never asserted.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations
from pypdf import PdfReader
from sqlalchemy import select
from support import (
    CHROMIUM_ARGS,
    PASSWORD,
    Factory,
    chromium_path,
    committing_sqlite_app,
    days_ago,
    make_resident_id,
    served,
)

import verifier
from verifier.accounts.invitations import create_invitation
from verifier.auth.models import User
from verifier.certificates.models import Certificate
from verifier.certificates.services import number_display
from verifier.timeutil import local_today

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LOGIN = "zhangsan@example.cn"
ORGANISATION = "南川区志愿者协会"
VOLUNTEER = "张三"
ID_NUMBER = make_resident_id(4242)
# (days ago, activity, minutes): 7.50 hours in all, over the last three months
RECORDS = [(75, "社区敬老服务", 180), (40, "图书馆整理图书", 150), (12, "河道清洁", 120)]
TOTAL_HOURS = "7.50"

# The pages answer in the browser's language (zh-CN); labels are looked up in the project's own
# catalogue by their English msgid, so the test follows a changed translation and fails on a
# missing one (the English label would not be found on the page).
_ZH = Translations.load(str(Path(verifier.__file__).parent / "translations"), ["zh"])


def zh(msgid: str, **values: Any) -> str:
    text = _ZH.gettext(msgid)
    assert text != msgid, f"no Chinese translation of {msgid!r}"
    return text % values if values else text


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    """The app on its own SQLite file (real commits, real CSRF tokens), served over HTTP."""
    with served(
        lambda base_url: committing_sqlite_app(
            tmp_path / "journey.db", BASE_URL=base_url, TESTING_CSRF=True
        )
    ) as (app, base_url):
        yield app, base_url


def seed(app: Any) -> dict[str, Any]:
    """An organisation, its admin, a volunteer with three records, and the invitation code."""
    make = Factory(app)
    org = make.org(name=ORGANISATION)
    admin = make.user("org_admin", org, email="admin@nanchuan.example.cn")
    volunteer = make.volunteer(org, name=VOLUNTEER, id_number=ID_NUMBER)
    for days, activity, minutes in RECORDS:
        start = days_ago(days, hour=9)
        make.record(
            org,
            volunteer,
            actor=admin,
            activity=activity,
            started_at=start,
            ended_at=start + timedelta(minutes=minutes),
            minutes=minutes,
        )
    code = make.run(
        lambda s: create_invitation(s, s.get(User, admin.id), volunteer.id).code
    )  # what the volunteer got on paper or by SMS
    return {"make": make, "admin": admin, "volunteer": volunteer, "code": code}


def sent_login_code(app: Any, login: str) -> str:
    """The code the claim's first step sent to the login, as the volunteer reads it there."""
    import re

    from sqlalchemy import select

    from verifier.crypto.encryption import get_cipher
    from verifier.db import get_session
    from verifier.notifications.models import OutboxMessage
    from verifier.notifications.services import body_place, recipient_place

    with app.app_context():
        session = get_session()
        cipher = get_cipher()
        for message in session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "claim_login_code")
            .order_by(OutboxMessage.id.desc())
        ):
            if cipher.open_text(message.recipient_enc, recipient_place(message.id)) == login:
                body = cipher.open_text(message.body_enc, body_place(message.id))
                found = re.search(r"\b(\d{8})\b", body)
                assert found, body
                return found.group(1)
    raise AssertionError(f"no login code was sent to {login}")


def no_horizontal_scroll(page: Any) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_volunteer_goes_from_invitation_code_to_downloaded_certificate(
    browser: Any, live: tuple[Any, str], record_property: Any
) -> None:
    from playwright.sync_api import expect

    app, base = live
    world = seed(app)
    phone = browser.new_context(
        viewport=PHONE, locale="zh-CN", accept_downloads=True, is_mobile=True, has_touch=True
    )
    desk = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = phone.new_page()
        started = time.perf_counter()

        # -- the volunteer claims the account, by keyboard alone ------------------------------
        page.goto(f"{base}/account/claim")
        expect(page.get_by_role("heading", level=1)).to_have_text(
            zh("Create your volunteer account")
        )
        page.get_by_label(zh("Invitation code")).focus()
        page.keyboard.type(world["code"])
        page.keyboard.press("Tab")
        expect(page.get_by_label(zh("E-mail or mobile number"))).to_be_focused()
        page.keyboard.type(LOGIN)
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name=zh("Send me a code"))).to_be_focused()
        page.keyboard.press("Enter")  # the code goes to the login: the volunteer reads it there
        expect(page.locator("#login-code-sent")).to_be_visible()
        expect(page.get_by_label(zh("Invitation code"))).to_have_value(world["code"])
        page.get_by_label(zh("Code sent to your e-mail or mobile")).focus()
        page.keyboard.type(sent_login_code(app, LOGIN))
        steps = [
            (page.get_by_label(zh("Password (at least 10 characters)")), PASSWORD),
            (page.get_by_label(zh("Password again")), PASSWORD),
        ]
        for field, text in steps:
            page.keyboard.press("Tab")
            expect(field).to_be_focused()
            page.keyboard.type(text)
        page.keyboard.press("Tab")
        consent = page.get_by_label(zh("I have read the privacy notice above and accept it"))
        expect(consent).to_be_focused()
        page.keyboard.press("Space")
        expect(consent).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name=zh("Create my account"))).to_be_focused()
        page.keyboard.press("Enter")

        # -- their own page: records and hours ------------------------------------------------
        page.wait_for_url(f"{base}/me")
        expect(page.get_by_role("heading", level=1)).to_have_text(zh("My volunteer service"))
        expect(page.get_by_text(zh("Your account is ready; you are signed in"))).to_be_visible()
        for _days, activity, _minutes in RECORDS:
            expect(page.get_by_role("link", name=activity)).to_be_visible()
        expect(page.get_by_text(zh("Counted hours: %(h)s", h=TOTAL_HOURS))).to_be_visible()
        assert ID_NUMBER not in page.content()
        home_fits = no_horizontal_scroll(page)

        # -- "我的证明": ask the organisation for a certificate ---------------------------------
        page.get_by_role("banner").get_by_role("link", name=zh("My certificates")).click()
        page.wait_for_url(f"{base}/me/certificates")
        expect(page.get_by_role("heading", level=1)).to_have_text(zh("My certificates"))
        certificates_fits = no_horizontal_scroll(page)
        page.get_by_label(zh("Organisation"), exact=True).select_option(label=ORGANISATION)
        period_from = local_today() - timedelta(days=90)
        page.get_by_label(zh("From")).fill(period_from.isoformat())
        expect(page.get_by_label(zh("To"))).to_have_value(local_today().isoformat())
        page.get_by_role("button", name=zh("Send the request")).click()
        expect(page.locator(".flash.success")).to_contain_text(ORGANISATION)
        requests = page.locator("#requests")
        expect(requests.get_by_text(ORGANISATION)).to_be_visible()
        expect(requests.get_by_text(zh("Waiting for an answer"))).to_be_visible()
        asked = time.perf_counter()

        # -- the organisation's admin issues it (not the volunteer's time) -------------------
        office = desk.new_page()
        office.goto(f"{base}/login")
        office.get_by_label(zh("E-mail or mobile number")).fill(world["admin"].email)
        office.get_by_label(zh("Password"), exact=True).fill(PASSWORD)
        office.get_by_role("button", name=zh("Sign in")).click()
        office.get_by_role("banner").get_by_role("link", name=zh("Certificate requests")).click()
        office.get_by_role("row").filter(has_text=VOLUNTEER).get_by_role("link").first.click()
        expect(office.locator("#records-in-period")).to_contain_text(
            zh("%(n)d records, %(hours)s hours", n=len(RECORDS), hours=TOTAL_HOURS)
        )
        office.get_by_role("button", name=zh("Issue the certificate")).click()
        issued = office.locator(".flash.success")
        expect(issued).to_be_visible()
        number = number_display(
            world["make"].run(
                lambda s: s.scalars(
                    select(Certificate.number).where(
                        Certificate.volunteer_id == world["volunteer"].id
                    )
                ).one()
            )
        )
        expect(issued).to_have_text(zh("Certificate %(number)s issued", number=number))

        # -- the volunteer downloads the PDF --------------------------------------------------
        resumed = time.perf_counter()
        page.reload()
        card = page.locator("#certificates li").filter(has_text=number)
        expect(card).to_contain_text(zh("%(hours)s hours", hours=TOTAL_HOURS))
        expect(requests.get_by_text(zh("Certificate issued"))).to_be_visible()
        with page.expect_download() as download_info:
            card.get_by_role("link", name=zh("Download PDF")).click()
        download = download_info.value
        pdf = Path(download.path()).read_bytes()
        finished = time.perf_counter()

        assert pdf.startswith(b"%PDF")
        assert download.suggested_filename.endswith(".pdf")
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert number in text
        assert ID_NUMBER not in text
        assert ID_NUMBER not in page.content()
        assert no_horizontal_scroll(page), "/me/certificates scrolls sideways at 390 px"
        assert home_fits, "/me scrolls sideways at 390 px"
        assert certificates_fits, "/me/certificates (before asking) scrolls sideways at 390 px"
        # every link of the volunteer's navigation leads somewhere
        nav = page.get_by_role("banner").get_by_role("navigation").get_by_role("link")
        hrefs = [link.get_attribute("href") for link in nav.all()]
        assert len(hrefs) >= 4, hrefs
        for href in hrefs:
            assert phone.request.get(f"{base}{href}").status == 200, href
    finally:
        phone.close()
        desk.close()

    seconds = (asked - started) + (finished - resumed)
    record_property("volunteer_seconds", round(seconds, 2))
    print(f"\nvolunteer's own time, invitation code to downloaded certificate: {seconds:.1f} s")
