"""The one count-and-page query every list uses (verifier.paging.paginate)."""

from sqlalchemy import select

from verifier.db import get_session
from verifier.orgs.models import Organisation
from verifier.paging import paginate


def test_one_page_in_order_and_the_total_over_all_pages(app, make):
    ids = [make.org().id for _ in range(5)]
    with app.app_context():
        session = get_session()
        stmt = select(Organisation)

        def page(number):
            rows, total = paginate(session, stmt, Organisation.id, page=number, per_page=2)
            assert total == 5
            return [org.id for org in rows]

        assert [page(n) for n in (1, 2, 3, 4)] == [ids[:2], ids[2:4], ids[4:], []]
        assert page(0) == page(-3) == ids[:2]  # below 1 is the first page
        newest, total = paginate(
            session,
            stmt.where(Organisation.id != ids[0]),
            Organisation.id.desc(),
            page=1,
            per_page=3,
        )
        assert ([org.id for org in newest], total) == (ids[:0:-1][:3], 4)


def test_a_statement_of_several_columns_gives_rows(app, make):
    org = make.org(name="甲协会")
    with app.app_context():
        rows, total = paginate(
            get_session(),
            select(Organisation.id, Organisation.name),
            Organisation.id,
            page=1,
            per_page=10,
        )
    assert total == 1 and [tuple(row) for row in rows] == [(org.id, "甲协会")]
