from support import login


def test_org_admin_signs_in_and_sees_dashboard(client, make):
    org = make.org()
    user = make.user("org_admin", org)
    vol = make.volunteer(org)
    make.record(org, vol, actor=user)
    response = login(client, user.email)
    assert response.status_code == 302
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert org.name in page.get_data(as_text=True)
