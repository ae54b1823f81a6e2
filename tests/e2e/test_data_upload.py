"""Browser journey of an admin: upload a file on the Data page; it is kept in the workspace, owner-only."""

from __future__ import annotations

import hashlib
import stat

import pytest

from data.users import demo_password
from tests.support.browser import login, shot

pytestmark = pytest.mark.e2e


def test_uploaded_file_is_previewed_and_kept_in_the_workspace(private_server, page, tmp_path):
    demo_server, sample_workspace = private_server, private_server.ws
    content = b"account_id,name,plan\nE2E-1,Upload Test Co,Pro\nE2E-2,Second Co,Starter\n"
    source = tmp_path / "crm export.csv"
    source.write_bytes(content)
    before = sample_workspace.warehouse.version()
    login(page, demo_server.url, "admin", demo_password("admin"), path="/data")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(source))
    page.get_by_text("Upload Test Co").first.wait_for(state="attached")  # a preview grid cell (drawn on a canvas)
    shot(page, "data_upload_preview")
    saved = sample_workspace.settings.uploads_dir / hashlib.sha256(content).hexdigest()[:24] / "crm_export.csv"
    assert saved.read_bytes() == content
    for folder in (saved.parent, saved.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sample_workspace.warehouse.version() == before  # a preview writes nothing to the warehouse
