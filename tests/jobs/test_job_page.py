"""The job page shows what the feature that ran the job adds to it: an import's report."""

from __future__ import annotations

from job_helpers import EN, csv_bytes, post_import, row, rows, work_queue
from support import login


def test_a_finished_import_job_shows_its_report_on_the_job_page(client, app, make):
    org = make.org()
    recorder = make.user("org_recorder", org)
    token = make.token(recorder)
    app.config.update(IMPORT_SYNC_MAX_BYTES=1024, IMPORT_BATCH_ROWS=5)
    job = post_import(client, token, csv_bytes([*rows(20), row(799, minutes="-5")])).get_json()
    login(client, recorder.email)
    waiting = client.get(job["page_url"], headers=EN).get_data(as_text=True)
    assert "Import report" not in waiting  # no report before the job ran

    work_queue(app)
    page = client.get(job["page_url"], headers=EN).get_data(as_text=True)
    assert "Import report" in page
    assert "20 rows were imported; 1 rows were rejected and not imported." in page
