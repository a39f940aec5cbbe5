"""desk's translation catalogs (desk/catalogs.py), without gettext's programs.

manage.py catalogs update   extract the marked strings, merge them into locale/*/LC_MESSAGES/
                            *.po (new ones untranslated) and compile the .mo files
manage.py catalogs check    list what is missing, stale, untranslated or not compiled; exit 1
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from desk import catalogs


class Command(BaseCommand):
    help = "Update (extract, merge, compile) or check desk's translation catalogs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["update", "check"])
        parser.add_argument(
            "--language", action="append", choices=catalogs.languages(), dest="languages"
        )

    def handle(self, *args: Any, action: str, languages: list[str] | None, **options: Any) -> None:
        if action == "update":
            for path in catalogs.update(languages):
                self.stdout.write(f"wrote {path.relative_to(catalogs.ROOT)}")
        problems = catalogs.problems(languages)
        for problem in problems:
            self.stdout.write(str(problem))
        if action == "check" and problems:
            raise CommandError(f"{len(problems)} problem(s) in the catalogs")
        self.stdout.write(f"{len(problems)} problem(s)")
