"""The UI speaks English and French: the French catalog is complete and the pages use it."""

from __future__ import annotations

import shutil
import subprocess
import sys

import polib
import pytest
from django.urls import reverse

from tests.subprocesses import ROOT, project_env

PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def test_the_french_catalog_is_complete():
    catalog = polib.pofile(str(PO))
    assert catalog.untranslated_entries() == []
    assert catalog.fuzzy_entries() == []
    assert catalog.percent_translated() == 100


def test_every_translatable_string_in_the_code_is_in_the_french_catalog(tmp_path):
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext (xgettext) is needed to extract strings; .ci/run installs it")
    pot = ROOT / "locale" / "django.pot"
    try:
        # --exclude fr with --keep-pot: extract into locale/django.pot without touching the .po file.
        result = subprocess.run(
            [sys.executable, "manage.py", "makemessages", "--exclude", "fr", "--keep-pot",
             "--ignore", ".venv", "--ignore", "var", "--ignore", "tests"],
            cwd=ROOT, env=project_env(DJANGO_SETTINGS_MODULE="smms.settings.test"),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        extracted = {(e.msgctxt, e.msgid) for e in polib.pofile(str(pot))}
    finally:
        pot.unlink(missing_ok=True)
    translated = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO)) if not e.obsolete}
    missing = sorted(msgid for _ctx, msgid in extracted - translated)
    assert not missing, f"run `manage.py makemessages -l fr` and translate: {missing[:20]}"


def test_a_french_speaking_user_gets_the_french_dashboard(personas, client_for):
    user = personas.agent.user
    user.language = "fr"
    user.save()
    page = client_for(personas.agent).get(reverse("dashboard")).content.decode()
    assert '<html lang="fr">' in page
    for label in ["Écoute", "Analytique", "Publication", "Boîte de réception", "Campagnes", "Paramètres"]:
        assert label in page


def test_the_language_buttons_change_the_users_language(personas, client_for):
    client = client_for(personas.agent)
    client.post(reverse("language_set"), {"language": "fr"})
    personas.agent.user.refresh_from_db()
    assert personas.agent.user.language == "fr"
    assert "Vue d" in client.get(reverse("dashboard")).content.decode()
