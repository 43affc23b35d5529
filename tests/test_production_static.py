"""Production serves its pages: what collectstatic will need is checked before release (SO-U3; issue 10, finding 2).

The manifest storage stops collectstatic on a reference it cannot resolve, such as a vendored
script's ``sourceMappingURL`` whose map was not copied, and then every page answered 500
while ``check --deploy`` passed. The end-to-end proof is ``tools/production_smoke.py`` (CI).
"""

import pytest
from django.core.checks import run_checks

from amiportal.portal.checks import missing_static_references

pytestmark = pytest.mark.objective("SO-U3")


def deploy_errors() -> list[str]:
    return [message.msg for message in run_checks(include_deployment_checks=True, tags=["staticfiles"]) if message.id == "portal.E001"]


@pytest.fixture
def static_dir(tmp_path, settings):
    settings.STATICFILES_DIRS = [tmp_path]
    return tmp_path


def test_check_deploy_names_a_script_whose_source_map_is_missing(static_dir):
    (static_dir / "vendor").mkdir()
    (static_dir / "vendor" / "lib.min.js").write_text("var a=1;\n//# sourceMappingURL=lib.min.js.map")
    errors = deploy_errors()
    assert len(errors) == 1 and "vendor/lib.min.js refers to lib.min.js.map" in errors[0]
    (static_dir / "vendor" / "lib.min.js.map").write_text("{}")
    assert deploy_errors() == []


def test_check_deploy_names_a_stylesheet_url_that_is_missing(static_dir):
    (static_dir / "css").mkdir()
    (static_dir / "css" / "site.css").write_text(
        "body{background:url('../img/missing.png')}\n/* url('in-a-comment.png') */\na{background:url(data:image/png;base64,AA==)}"
    )
    assert missing_static_references() == [("css/site.css", "../img/missing.png")]


def test_the_repositorys_static_files_reference_only_files_that_exist():
    # With npm present (CI), this covers the vendored chart script and its map (Makefile static-vendor).
    assert missing_static_references() == []
