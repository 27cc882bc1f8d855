"""`verifier demo` loads every kind of data once, prints working logins, keeps the chain intact."""

from sqlalchemy import func, select
from support import login

from verifier.certificates.models import Certificate
from verifier.db import get_session
from verifier.records.models import ServiceRecord
from verifier.spotchecks.models import SpotCheckCampaign
from verifier.supervision.models import SupervisionCase


def test_demo_loads_once_and_its_logins_work(app, tmp_path):
    app.instance_path = str(tmp_path)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--volunteers", "25", "--records", "400"])
    assert first.exit_code == 0, first.output
    assert "demo data loaded" in first.output
    second = runner.invoke(args=["demo", "--volunteers", "25", "--records", "400"])
    assert second.exit_code == 0
    assert "already present" in second.output
    with app.app_context():
        session = get_session()
        assert session.scalar(select(func.count()).select_from(ServiceRecord)) == 400
        assert session.scalar(select(func.count()).select_from(Certificate)) > 0
        assert session.scalar(select(func.count()).select_from(SpotCheckCampaign)) == 1
        assert session.scalar(select(func.count()).select_from(SupervisionCase)) == 1
    logins = {
        line.split()[0]: line.split()[2]
        for line in second.output.splitlines()
        if "@demo.verifier.cn" in line or " volunteer " in line
    }
    assert (tmp_path / "demo-logins.txt").exists()
    client = app.test_client()
    assert (
        login(
            client, "supervisor@demo.verifier.cn", logins["supervisor@demo.verifier.cn"]
        ).status_code
        == 302
    )
    assert client.get("/regulator").status_code == 200
    # two volunteers with accounts: one by e-mail, one by mobile number; a disputed record of
    # the first, a pending certificate request of the second in the first organisation's queue
    volunteers = app.test_client()
    assert login(volunteers, "volunteer1@demo.verifier.cn", logins["volunteer1@demo.verifier.cn"])
    mine = volunteers.get("/me")
    assert mine.status_code == 200
    assert "异议" in mine.get_data(as_text=True)
    phone = app.test_client()
    assert login(phone, "13900000001", logins["13900000001"]).status_code == 302
    assert "待答复" in phone.get("/me/certificates").get_data(as_text=True)
    org = app.test_client()
    login(org, "org1-admin@demo.verifier.cn", logins["org1-admin@demo.verifier.cn"])
    queue = org.get("/certificate-requests?status=pending").get_data(as_text=True)
    assert 'id="certificate-requests-pending"' in queue
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
