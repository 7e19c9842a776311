"""The zh_Hans catalogue is complete: nothing untranslated or fuzzy, and nothing in the code it lacks."""

import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _count_entries(po: Path, *flags: str) -> list[str]:
    out = subprocess.run(
        ["msgattrib", *flags, "--no-obsolete", str(po)], capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.splitlines() if line.startswith("msgid ") and line != 'msgid ""']


def test_catalogue_has_no_untranslated_or_fuzzy_entries():
    assert _count_entries(PO, "--untranslated") == []
    assert _count_entries(PO, "--only-fuzzy") == []


def test_makemessages_finds_no_string_the_catalogue_lacks(tmp_path):
    work = tmp_path / "src"
    for part in ("apps", "config", "templates", "locale", "manage.py"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, work / part, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, work / part)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v", "0"],
        cwd=work,
        check=True,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.local"},
    )
    regenerated = work / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    missing = _count_entries(regenerated, "--untranslated") + _count_entries(regenerated, "--only-fuzzy")
    assert missing == [], f"strings missing from {PO.relative_to(ROOT)}: {missing[:20]}"
