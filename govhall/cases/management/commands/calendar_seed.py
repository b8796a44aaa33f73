"""``manage.py calendar_seed [--year YEAR ...]``: fill the working-day calendar from
chinese-calendar. Safe to run any time: days entered by an administrator are kept."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from govhall.cases.calendar import calendar_package_years, calendar_seed


class Command(BaseCommand):
    help = "从 chinese-calendar 写入工作日历 (seed the working-day calendar; administrator entries are kept)."

    def add_arguments(self, parser: CommandParser) -> None:
        known = calendar_package_years()
        parser.add_argument(
            "--year",
            type=int,
            action="append",
            dest="years",
            help=f"只写入这一年，可重复 (only this year, repeatable; known: {known.start}-{known.stop - 1})",
        )

    def handle(self, *args: Any, years: list[int] | None, **options: Any) -> None:
        known = calendar_package_years()
        unknown = sorted(set(years or ()) - set(known))
        if unknown:
            self.stderr.write(f"chinese-calendar does not know {', '.join(map(str, unknown))}: skipped")
        created = calendar_seed(years=years)
        self.stdout.write(self.style.SUCCESS(f"created {created} calendar days"))
