from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "govhall.catalog"
    label = "catalog"
    verbose_name = _("事项目录")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from govhall.catalog.models import SearchSynonym
        from govhall.catalog.search import search_synonyms_changed

        post_save.connect(search_synonyms_changed, sender=SearchSynonym, dispatch_uid="govhallsearch_synonyms_changed")
        post_delete.connect(search_synonyms_changed, sender=SearchSynonym, dispatch_uid="govhall_synonyms_deleted")
