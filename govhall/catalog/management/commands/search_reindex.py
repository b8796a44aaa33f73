"""Rebuild the search index of the catalogue: after a restore, an upgrade of the segmentation
(jieba or its domain words), or on a database migrated before search existed."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from govhall.catalog.search import REFRESH_BATCH_SIZE, search_index_rebuild


class Command(BaseCommand):
    help = "重建事项检索索引 (rebuild every search document, batch by batch)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=REFRESH_BATCH_SIZE, help="每批实施清单数量 (implementations per batch)"
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        indexed = search_index_rebuild(batch_size=max(1, batch_size))
        self.stdout.write(self.style.SUCCESS(f"indexed {indexed} implementations"))
