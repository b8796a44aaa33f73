"""Chinese full-text search over the published implementations.

Text is cut into words by jieba (``cut_for_search``, which yields both the fine and the coarse
words of a phrase) at index time and at query time alike, so a query and a document agree on
their words. The words are stored space-joined in ``SearchDocument``, one row per published
implementation, and indexed by the database: a GIN index over their tsvector on PostgreSQL (the
ranking reads only the row's small columns, ADR 9), an FTS5 table on SQLite. Colloquial words
reach catalogue words through ``SearchSynonym``, read at query time, so a synonym edited in the
admin takes effect at once, without reindexing.

Ranking: items matching more query words in their name come first (a name match outranks any
number of body matches), then items holding more of the query's longest words anywhere (a word
inside a longer query word counts with it: 社会保险 is one word, not three with 社会 and 保险),
then the database's full-text rank (on PostgreSQL over the name, result and themes only), then
popularity (the guide views' binary order of magnitude), then the name. On PostgreSQL a query of
one word and no filter reads that order from ``SearchPosting`` rows kept in advance (ADR 14).
"""

import hashlib
import html
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Required, TypedDict, TypeVar, Unpack

import jieba
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.safestring import SafeString, mark_safe

from govhall.catalog.models import (
    Implementation,
    ItemState,
    SearchDocument,
    SearchSynonym,
    Theme,
)
from govhall.catalog.segmentation import segmenter
from govhall.org.selectors import region_scope_codes
from govhall.queries import list_compiled, values_list_compiled

QUERY_MAX_LENGTH = 100
QUERY_MAX_TOKENS = 24
PAGE_SIZE_MAX = 100
SUGGESTED_THEMES_MAX = 8
SUGGESTED_THEMES_MIN = 4
SNIPPET_LENGTH = 80
SNIPPET_LEAD = 16
REFRESH_BATCH_SIZE = 500
# Acceptance conditions and legal bases can run to pages; their first part says what matters.
DETAIL_TEXT_MAX_LENGTH = 4000

FTS_TABLE = "catalog_searchdocument_fts"
# Relative weights of the four token groups: name, result/themes, department/materials, details.
# PostgreSQL's ts_rank defaults are the same ratios (A 1.0, B 0.4, C 0.2, D 0.1).
FTS_COLUMN_WEIGHTS = (10.0, 4.0, 2.0, 1.0)

# Words that say how someone asks rather than what for. Dropped from a query unless nothing
# else is left, as are single characters when the query has longer words.
QUERY_STOP_WORDS = frozenset(
    {
        "怎么",
        "怎么办",
        "怎样",
        "如何",
        "哪里",
        "在哪",
        "在哪里",
        "哪儿",
        "什么",
        "需要",
        "哪些",
        "我要",
        "我想",
        "想要",
        "办理",
        "可以",
        "一下",
        "流程",
    }
)

WORD = re.compile(r"[^\W_]+")


# ---------------------------------------------------------------------------------------------
# Results


@dataclass
class SearchHit:
    implementation: Implementation  # with entry, region and department selected
    name_highlighted: SafeString
    snippet_highlighted: SafeString
    score: float


@dataclass(frozen=True, slots=True)
class ListedEntry:
    name: str
    kind: str
    state: str


@dataclass(frozen=True, slots=True)
class ListedRegion:
    full_name: str


@dataclass(frozen=True, slots=True)
class ListedDepartment:
    name: str


@dataclass(frozen=True, slots=True)
class ListedImplementation:
    """What a list of services shows of an implementation, under the models' attribute names
    (``portal_tags._service_items`` lists these and models alike)."""

    pk: int
    implementation_code: str
    state: str
    site_visits: int
    online_depth: str
    entry: ListedEntry
    region: ListedRegion
    department: ListedDepartment


@dataclass
class ListedHit:
    """A hit of ``implementation_search_listed``: its implementation as values, not models."""

    implementation: ListedImplementation
    name_highlighted: SafeString
    snippet_highlighted: SafeString
    score: float


Hit = TypeVar("Hit", SearchHit, ListedHit)


@dataclass
class SearchResult(Generic[Hit]):
    query: str
    tokens: list[str]  # the query tokens searched (after synonyms)
    hits: list[Hit]
    total: int
    page: int
    page_size: int
    suggested_themes: list[Theme]  # when total == 0: themes to browse instead


# ---------------------------------------------------------------------------------------------
# Segmentation


def _segmenter() -> jieba.Tokenizer:
    """jieba over the compact dictionary file (govhall/catalog/segmentation.py), built under
    GOVHALL_VAR_DIR on first use."""
    return segmenter(settings.VAR_DIR)


def search_segmenter_warm() -> None:
    """Map the dictionary now (and build its file if this is the first process to need it), so
    the first search a web worker answers is not the one that pays for it."""
    _segmenter()


# The full-width forms of ASCII and the ideographic space: the compatibility characters Chinese
# text carries (，（）：；), which NFKC maps one to one onto their ASCII forms.
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")
_HALF_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}


def _fold(text: str) -> str:
    """Full-width to half-width and lower case, as both index and query see text: NFKC, then
    lower case. NFKC of a typical line of Chinese took about 14 µs, and a search page folds some
    80 lines to highlight its hits. Most text is already normal once its full-width punctuation
    is narrowed, which is what NFKC would do to it first (the two have the same decomposition),
    and checking that is cheap; the rest is normalised in full."""
    if not unicodedata.is_normalized("NFKC", text):
        text = _FULL_WIDTH.sub(lambda found: _HALF_WIDTH[found.group()], text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return text.lower()


def text_tokens(text: str) -> list[str]:
    """The words of ``text`` for the index and for queries: jieba words cut for search, reduced
    to letters and digits (punctuation never reaches the full-text engines)."""
    if not text:
        return []
    tokens = []
    for word in _segmenter().cut_for_search(_fold(text)):
        tokens.extend(WORD.findall(word))
    return tokens


def _joined_tokens(*texts: str) -> str:
    return " ".join(token for text in texts for token in text_tokens(text))


# ---------------------------------------------------------------------------------------------
# Index


def _document_build(implementation: Implementation) -> SearchDocument:
    entry = implementation.entry
    materials = [material.name for material in implementation.materials.all()]
    themes = [theme.name for theme in entry.themes.all()]
    conditions = implementation.acceptance_conditions[:DETAIL_TEXT_MAX_LENGTH]
    snippet_lines = [
        *(line.strip() for line in conditions.splitlines()),
        "、".join(materials),
        implementation.result_name.strip(),
    ]
    return SearchDocument(
        implementation_id=implementation.pk,
        name_tokens=_joined_tokens(entry.name),
        result_theme_tokens=_joined_tokens(implementation.result_name, *themes),
        department_material_tokens=_joined_tokens(implementation.department.name, *materials),
        condition_basis_tokens=_joined_tokens(
            conditions, entry.legal_basis[:DETAIL_TEXT_MAX_LENGTH], entry.description[:DETAIL_TEXT_MAX_LENGTH]
        ),
        snippet_text="\n".join(line for line in snippet_lines if line),
        popularity=popularity_level(implementation.view_count),
        sort_name=entry.name,
    )


DOCUMENT_TEXT_FIELDS = (
    "name_tokens",
    "result_theme_tokens",
    "department_material_tokens",
    "condition_basis_tokens",
    "snippet_text",
)


def _is_searchable(implementation: Implementation) -> bool:
    return implementation.state != ItemState.CANCELLED and implementation.entry.state != ItemState.CANCELLED


def search_documents_refresh(*, implementation_ids: Iterable[int]) -> None:
    """Re-index the given implementations after publication (called inside the approval
    transaction): published ones get a fresh document, cancelled ones (or those whose entry is
    cancelled) leave the index."""
    ids = sorted(set(implementation_ids))
    for start in range(0, len(ids), REFRESH_BATCH_SIZE):
        _documents_refresh_batch(ids[start : start + REFRESH_BATCH_SIZE])
    _forget_now_and_at_commit()


# Answers to recent queries are kept for a few minutes under the index's version: a publication
# or a synonym change moves the version once committed, so no answer from before it is used
# again (in this process at once, in others as soon as they share the cache, CACHE_URL; with a
# per-process cache, within SEARCH_CACHE_SECONDS).
SEARCH_CACHE_SECONDS = 300
SEARCH_VERSION_KEY = "search-index-version"


def search_results_forget() -> None:
    """Move the search index's version: every cached answer is out of date."""
    try:
        cache.incr(SEARCH_VERSION_KEY)
    except ValueError:  # not there yet (or evicted): any new value differs from cached keys
        cache.set(SEARCH_VERSION_KEY, int.from_bytes(os.urandom(4), "big"), timeout=None)


def _forget_now_and_at_commit() -> None:
    # Now, for this transaction's own later reads; again at commit, since another process may
    # have cached an answer from the data as it was before the commit in the meantime.
    search_results_forget()
    transaction.on_commit(search_results_forget)


def catalogue_version() -> int:
    """A number that changes whenever published catalogue data changes (publication, reindex,
    synonyms): part of the keys of cached answers and page fragments built from it."""
    version = cache.get(SEARCH_VERSION_KEY)
    if version is None:
        version = int.from_bytes(os.urandom(4), "big")
        cache.add(SEARCH_VERSION_KEY, version, timeout=None)
        version = cache.get(SEARCH_VERSION_KEY, version)
    return int(version)


def catalogue_kept(key: str) -> tuple[int, dict[str, Any] | None]:
    """The catalogue's version, and what is kept under ``key`` if it was kept under that version
    (a dict with its ``version``), both read in one round trip to the cache. Whatever is kept
    after a miss is kept with the version returned here, read before it was built, so nothing
    built while a change committed is used after the change."""
    found = cache.get_many([SEARCH_VERSION_KEY, key])
    version = found.get(SEARCH_VERSION_KEY)
    version = int(version) if version is not None else catalogue_version()
    kept = found.get(key)
    return version, kept if kept is not None and kept.get("version") == version else None


def arguments_digest(**arguments: Any) -> str:
    """A short digest of keyword arguments, whatever their order: a cache key's part."""
    return hashlib.sha256(repr(sorted(arguments.items())).encode()).hexdigest()[:32]


def _search_cache_key(version: int, **arguments: Any) -> str:
    return f"search:{version}:{arguments_digest(**arguments)}"


def _documents_refresh_batch(ids: list[int]) -> None:
    with transaction.atomic():
        implementations = (
            Implementation.objects.filter(pk__in=ids)
            .select_related("entry", "department")
            .prefetch_related("materials", "entry__themes")
        )
        documents = [_document_build(item) for item in implementations if _is_searchable(item)]
        indexed = [document.implementation_id for document in documents]
        postgresql = connection.vendor == "postgresql"
        if postgresql:
            # The postings go (before their documents, which would take them along uncounted)
            # and come back with the documents, and each word's number of documents moves by as
            # many. Two statements: a row deleted and inserted again in one would meet itself in
            # the primary key, in an order PostgreSQL does not promise.
            with connection.cursor() as cursor:
                # Publications take their turn at the words' numbers until they commit: each
                # locks its words twice (as its postings go, then as they come back), and two
                # locking different words the second time would wait on each other. Searches
                # read on; the job moving popularity levels waits (search_popularity_move).
                cursor.execute("LOCK TABLE catalog_searchword IN SHARE ROW EXCLUSIVE MODE")
                cursor.execute(
                    "WITH gone AS (DELETE FROM catalog_searchposting WHERE implementation_id = ANY(%s) RETURNING word) "  # noqa: S608 - constants only
                    + WORDS_MOVED.format(sign="-", rows="gone"),
                    [ids],
                )
                cursor.execute(
                    "WITH gone AS (DELETE FROM catalog_searchgroupposting WHERE implementation_id = ANY(%s) "  # noqa: S608 - constants only
                    "RETURNING words AS word) " + WORDS_MOVED.format(sign="-", rows="gone"),
                    [ids],
                )
        SearchDocument.objects.filter(implementation_id__in=ids).exclude(implementation_id__in=indexed).delete()
        # An upsert, not delete-then-insert: an approval and a reindex refreshing the same row
        # at the same time must not collide on the primary key.
        SearchDocument.objects.bulk_create(
            documents,
            update_conflicts=True,
            unique_fields=["implementation"],
            # The popularity is the guide views' level: set when the document is made, then moved
            # only by search_popularity_move, so a re-index never undoes a move.
            update_fields=[*DOCUMENT_TEXT_FIELDS, "sort_name", "refreshed_at"],
        )
        if connection.vendor == "sqlite":
            _sqlite_index_write(ids=ids, documents=documents)
        elif postgresql:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"WITH made AS ({postings_insert_sql('document.implementation_id = ANY(%s)')} RETURNING word) "
                    + WORDS_MOVED.format(sign="", rows="made"),
                    [POSTING_WORD.pattern, ids],
                )
                # The synonyms' keys as this transaction sees them, read under the words' lock
                # (group_postings_rebuild).
                cursor.execute(
                    f"WITH made AS ({group_postings_insert_sql('posting.implementation_id = ANY(%s)')} "
                    "RETURNING words AS word) " + WORDS_MOVED.format(sign="", rows="made"),
                    [group_keys_current(), ids],
                )


def _sqlite_index_write(*, ids: list[int], documents: list[SearchDocument]) -> None:
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({placeholders})", ids)  # noqa: S608 - placeholders only
        cursor.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, name_tokens, result_theme_tokens, department_material_tokens, "  # noqa: S608
            "condition_basis_tokens) VALUES (%s, %s, %s, %s, %s)",
            [
                (
                    document.implementation_id,
                    document.name_tokens,
                    document.result_theme_tokens,
                    document.department_material_tokens,
                    document.condition_basis_tokens,
                )
                for document in documents
            ],
        )


def search_index_rebuild(*, batch_size: int = REFRESH_BATCH_SIZE) -> int:
    """Rebuild every search document, one batch per transaction; returns the number indexed."""
    last_id = 0
    while True:
        ids = list(
            Implementation.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        _documents_refresh_batch(ids)
        last_id = ids[-1]
    if connection.vendor == "sqlite":
        with transaction.atomic(), connection.cursor() as cursor:
            # Rows of implementations that no longer exist (the documents went with them).
            cursor.execute(
                f"DELETE FROM {FTS_TABLE} WHERE rowid NOT IN (SELECT implementation_id FROM catalog_searchdocument)"  # noqa: S608
            )
    elif connection.vendor == "postgresql":
        group_postings_rebuild()  # the keys of an earlier segmentation go
        search_words_recount()
    _forget_now_and_at_commit()
    return SearchDocument.objects.count()


def popularity_level(views: int) -> int:
    """The popularity that orders otherwise equal hits: the guide views' binary order of
    magnitude (0 for none, 1 for one, 2 for two or three, 3 for four to seven …). An item read
    twice as often ranks above; one read 1,000 times and one read 1,900 times are equal and go
    by name, and a hit's place does not move with every view. It changes a few dozen times in an
    item's life, so the postings that carry it (ADR 14) are rewritten that often
    (``search_popularity_move``)."""
    return max(0, int(views)).bit_length()


# The same in SQL, for an integer of at most 32 bits.
POPULARITY_LEVEL_SQL = "length(ltrim(({views})::bit(32)::text, '0'))"


def search_popularity_move() -> int:
    """Move each search document's popularity level, and its postings', to its implementation's
    guide views where the level differs; returns the number of documents moved. The periodic job
    ``search_popularity_move`` runs it (govhall/scheduling.py), so the guide-view flush writes
    the implementations alone, and a burst of views rewrites a document's postings once per
    run, not once per flush (2,000 guides read a dozen times each rewrote some 280,000
    postings every few seconds). On PostgreSQL publications wait meanwhile: one refreshing a
    document writes its postings with the document's level, and either sees the level moved or
    is seen by the move."""
    if connection.vendor == "postgresql":
        level_sql = POPULARITY_LEVEL_SQL.format(views="implementation.view_count")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("LOCK TABLE catalog_searchword IN EXCLUSIVE MODE")
            cursor.execute(
                f"WITH moved AS (UPDATE catalog_searchdocument AS document SET popularity = {level_sql} "  # noqa: S608 - constants only
                "FROM catalog_implementation AS implementation "
                f"WHERE implementation.id = document.implementation_id AND document.popularity <> {level_sql} "
                "RETURNING document.implementation_id, document.popularity), "
                "posted AS (UPDATE catalog_searchposting AS posting SET popularity = moved.popularity "
                "FROM moved WHERE posting.implementation_id = moved.implementation_id), "
                "grouped AS (UPDATE catalog_searchgroupposting AS posting SET popularity = moved.popularity "
                "FROM moved WHERE posting.implementation_id = moved.implementation_id) "
                "SELECT COUNT(*) FROM moved"
            )
            return int(cursor.fetchone()[0])
    levels = {
        pk: popularity_level(views)
        for pk, views, level in SearchDocument.objects.values_list("pk", "implementation__view_count", "popularity")
        if popularity_level(views) != level
    }
    with transaction.atomic():
        for level in set(levels.values()):
            SearchDocument.objects.filter(pk__in=[pk for pk, moved in levels.items() if moved == level]).update(
                popularity=level
            )
    return len(levels)


# ---------------------------------------------------------------------------------------------
# Postings (ADR 14, PostgreSQL): every word of a document a one-word query can look up, with
# what orders that word's matches, so that a broad word's page is a range of one btree.

# The words PostgreSQL's parser keeps whole, as one lexeme, in a document as in a query: a run of
# Chinese characters, of Latin letters or of digits (a word mixing them, such as "a1b" or "3.5",
# may be cut or typed otherwise, and stays with the words' GIN index).
POSTING_WORD = re.compile(r"[\u3400-\u9fff]+|[a-z]+|[0-9]+")


# Adds each word's postings made (sign "") or deleted ("-") to its number of documents, the words
# locked in their order, so two publications never wait on each other's words.
WORDS_MOVED = (
    "INSERT INTO catalog_searchword AS kept (word, documents) "
    "SELECT word, {sign}COUNT(*) FROM {rows} GROUP BY word ORDER BY word "
    "ON CONFLICT (word) DO UPDATE SET documents = kept.documents + excluded.documents"
)


def search_words_recount() -> None:
    """Count every word's documents afresh from the postings (PostgreSQL; after a bulk load, and
    at the end of a re-index), publications held off meanwhile so that none moves a number
    between the count and its write."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE catalog_searchword IN EXCLUSIVE MODE")
        cursor.execute(
            "INSERT INTO catalog_searchword AS kept (word, documents) "
            "SELECT word, COUNT(*) FROM catalog_searchposting GROUP BY word "
            "UNION ALL SELECT words, COUNT(*) FROM catalog_searchgroupposting GROUP BY words ORDER BY 1 "
            "ON CONFLICT (word) DO UPDATE SET documents = excluded.documents"
        )
        cursor.execute(
            "DELETE FROM catalog_searchword kept WHERE NOT EXISTS "
            "(SELECT 1 FROM catalog_searchposting posting WHERE posting.word = kept.word) AND NOT EXISTS "
            "(SELECT 1 FROM catalog_searchgroupposting posting WHERE posting.words = kept.word)"
        )


def postings_insert_sql(documents_where: str) -> str:
    """The postings of the documents ``documents_where`` selects (as ``document``), made from
    their words in SQL: per word, the name match and ts_rank exactly as ``_PostgresqlQuery``
    computes them for a query of that word alone. Parameters: POSTING_WORD's pattern, then
    those of ``documents_where``."""
    query = "to_tsquery('simple', quote_literal(word.lexeme)"
    return (
        "INSERT INTO catalog_searchposting (implementation_id, word, in_name, score, popularity, sort_name) "  # noqa: S608
        "SELECT document.implementation_id, word.lexeme, "
        f"document.rank_vector @@ {query} || ':A'), ts_rank(document.rank_vector, {query})), "
        "document.popularity, document.sort_name "
        f"FROM catalog_searchdocument document CROSS JOIN LATERAL unnest({POSTGRESQL_WORDS}) AS word "
        f"WHERE word.lexeme ~ ('^(?:' || %s || ')$') AND {documents_where}"
    )


# Group postings (ADR 18, PostgreSQL): for each synonym whose query is answered from postings of
# several words (社保: 社保 or 社会保险), those words' postings summed per document in advance, in
# the order that ranks the query's matches, and counted in ``SearchWord`` under the group's key.
# The keys are those of the synonyms' terms as queries; another query with the same words and
# longest words (我的社保) has the same key and reads the same rows. A key that has no rows yet
# (a synonym added by another process a moment ago, a new segmentation) is answered by grouping
# the words' postings, as before.


def group_key(words: Sequence[str], longest: Sequence[str]) -> str:
    """The key of a query answered from the postings of ``words`` together: the words, then those
    of them that are longest words of the query (which order the matches by how many they hold).
    Neither separator can be in a posting word (``POSTING_WORD``)."""
    return "|".join(sorted(set(words))) + "#" + "|".join(sorted(set(longest) & set(words)))


def group_keys(synonyms: Sequence[tuple[str, str]]) -> list[str]:
    """The keys of the synonyms' terms as queries, where a term's query is answered from the
    postings of more than one word; each once, in order."""
    keys = set()
    for term, _expansion in synonyms:
        groups = _query_groups(term, synonyms)
        tokens = list(dict.fromkeys(token for group in groups for token in group))
        if not tokens:
            continue
        words = _posting_words(_PostgresqlQuery(tokens, groups), None)
        if words is not None and len(words) > 1:
            keys.add(group_key(words, longest_words(tokens)))
    return sorted(keys)


def group_keys_current() -> list[str]:
    """The keys of the synonyms as this transaction sees them (never a process's kept copy: a
    writer must write the keys its own transaction commits)."""
    return group_keys(_synonyms_read())


def group_postings_insert_sql(postings_where: str) -> str:
    """The group postings of the keys given (the first parameter, a list) for the postings
    ``postings_where`` selects (as ``posting``; its parameters follow), summed as
    ``_postings_ranked_answer`` sums them; a document's row already there stays (ON CONFLICT)."""
    return (
        "INSERT INTO catalog_searchgroupposting (implementation_id, words, in_name, held, score, popularity, "  # noqa: S608
        "sort_name) "
        "SELECT posting.implementation_id, k.key, SUM(posting.in_name::int), "
        "COUNT(*) FILTER (WHERE posting.word = ANY(k.longest)), SUM(posting.score::float8) / cardinality(k.words), "
        "MAX(posting.popularity), MAX(posting.sort_name) "
        "FROM (SELECT key, string_to_array(split_part(key, '#', 1), '|') AS words, "
        "string_to_array(nullif(split_part(key, '#', 2), ''), '|') AS longest FROM unnest(%s::text[]) AS key) k "
        "JOIN catalog_searchposting posting ON posting.word = ANY(k.words) "
        f"WHERE {postings_where} "
        "GROUP BY posting.implementation_id, k.key, k.words, k.longest "
        "ON CONFLICT DO NOTHING"
    )


def group_postings_rebuild() -> None:
    """Bring the group postings to the synonyms as they are: the rows of keys no synonym gives
    any more go, and a key that has no rows gets those of every document (PostgreSQL; on a
    synonym's change, in its transaction, and at the end of a re-index). Publications take
    their turn meanwhile, as they do at the words' numbers (``_documents_refresh_batch``), so a
    key's rows are always whole: those of every document holding one of its words."""
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE catalog_searchword IN SHARE ROW EXCLUSIVE MODE")
        # The keys are read under the lock: a synonym another transaction committed while this
        # one waited is among them, and its rows stay.
        keys = group_keys_current()
        cursor.execute(
            "WITH gone AS (DELETE FROM catalog_searchgroupposting WHERE NOT (words = ANY(%s)) "  # noqa: S608 - constants only
            "RETURNING words AS word) " + WORDS_MOVED.format(sign="-", rows="gone"),
            [keys],
        )
        cursor.execute("SELECT word FROM catalog_searchword WHERE word = ANY(%s) AND documents > 0", [keys])
        whole = {word for (word,) in cursor.fetchall()}
        missing = [key for key in keys if key not in whole]
        if missing:
            cursor.execute(
                f"WITH made AS ({group_postings_insert_sql('true')} RETURNING words AS word) "
                + WORDS_MOVED.format(sign="", rows="made"),
                [missing],
            )


# ---------------------------------------------------------------------------------------------
# Synonyms


def search_synonym_upsert(*, term: str, expansion: str) -> SearchSynonym:
    """Create or change a synonym: a query containing ``term`` also searches ``expansion``.

    The term is stored folded (half-width, lower case) since queries are folded before they are
    compared with it.
    """
    synonym, _created = SearchSynonym.objects.update_or_create(
        term=_fold(term).strip(), defaults={"expansion": expansion.strip()}
    )
    return synonym


def search_synonyms_changed(**_kwargs: Any) -> None:
    """Any change of a synonym (here, in the admin or by import) changes what queries find, and
    which words have group postings (in the change's transaction)."""
    group_postings_rebuild()
    _forget_now_and_at_commit()


# Every synonym, as this process last read them: (catalogue version, when read, (term, expansion)).
_synonyms_kept: tuple[int, float, tuple[tuple[str, str], ...]] | None = None


def _synonyms(version: int | None = None) -> tuple[tuple[str, str], ...]:
    """Every synonym (term in lower case, expansion), read once per catalogue version: a change
    moves the version (search_synonyms_changed), so the list is read again at once where the
    cache is shared, and within SEARCH_CACHE_SECONDS where it is not. What a transaction reads
    is not kept: it may hold a change of its own that is then rolled back. ``version``: the
    catalogue's version, when the caller has read it already."""
    global _synonyms_kept
    version, now = catalogue_version() if version is None else version, time.monotonic()
    kept = _synonyms_kept
    if kept is not None and kept[0] == version and now - kept[1] < SEARCH_CACHE_SECONDS:
        return kept[2]
    synonyms = _synonyms_read()
    if not connection.in_atomic_block:
        _synonyms_kept = (version, now, synonyms)
    return synonyms


def _synonyms_read() -> tuple[tuple[str, str], ...]:
    """Every synonym from the database, as this transaction sees it: (term in lower case, expansion).
    lower(): terms typed in the admin are not folded by search_synonym_upsert."""
    return tuple(
        (term.lower(), expansion)
        for term, expansion in SearchSynonym.objects.exclude(term="").values_list("term", "expansion")
    )


def _synonym_expansions(folded_query: str, synonyms: Sequence[tuple[str, str]]) -> list[str]:
    """Expansions of the synonym terms the query contains.

    A term inside a longer matched term gives way to it (社保卡 wins over 社保).
    """
    matched = [(term, expansion) for term, expansion in synonyms if term in folded_query]
    terms = [term for term, _expansion in matched]
    return [expansion for term, expansion in sorted(matched) if not _part_of_another(term, terms)]


def _part_of_another(word: str, words: Iterable[str]) -> bool:
    """Whether ``word`` is inside another of ``words`` (社保 inside 社保卡, 社会 inside 社会保险)."""
    return any(word != other and word in other for other in words)


def _meaningful(words: list[str]) -> list[str]:
    """Question words go, and single characters when there are longer words, unless nothing
    would be left."""
    unique = list(dict.fromkeys(words))
    meaningful = [token for token in unique if token not in QUERY_STOP_WORDS] or unique
    longer = [token for token in meaningful if len(token) > 1]
    return longer or meaningful


def search_query_groups(*, query: str, version: int | None = None) -> list[list[str]]:
    """The query's own words, then the words of each matching synonym's expansion: a document
    matches when it holds every word of one group (食品经营许可 finds the food licences, not
    every 许可; 开公司 finds what holds 公司, or 企业 设立 登记 together). Capped so that a
    pasted paragraph stays a cheap query. ``version``: the catalogue's, when already read."""
    return _query_groups(query, _synonyms(version))


def _query_groups(query: str, synonyms: Sequence[tuple[str, str]]) -> list[list[str]]:
    """``search_query_groups`` with the synonyms given."""
    folded = _fold(query)[:QUERY_MAX_LENGTH].strip()
    if not WORD.search(folded):
        return []
    groups = [_meaningful(text_tokens(folded))]
    # Words an expansion separates by spaces are alternatives (生孩子 → 出生 生育).
    expansions = _synonym_expansions(folded, synonyms)
    groups += [_meaningful(text_tokens(part)) for expansion in expansions for part in expansion.split()]
    budget, capped = QUERY_MAX_TOKENS, []
    for group in groups:
        if group and budget > 0:
            capped.append(group[:budget])
            budget -= len(capped[-1])
    return capped


def search_query_tokens(*, query: str) -> list[str]:
    """Every word the query searches (its own, then its synonyms'), each once: for ranking and
    highlighting."""
    return list(dict.fromkeys(token for group in search_query_groups(query=query) for token in group))


# ---------------------------------------------------------------------------------------------
# Queries, one builder per database. The SQL text is built from constants, the ORM's own
# compiled (parameterised) filter query and, on PostgreSQL, the query words as quoted literals
# (_tsquery_sql); SQLite gets the words as parameters.


def longest_words(tokens: list[str]) -> list[str]:
    """The tokens that are not part of a longer one: what ranks a match by the words it holds.
    jieba's search cut gives a compound with its parts (社会保险: 社会, 保险, 社会保险), and a text
    holding the compound holds them all, so counting the parts would count one word three times
    (and cost three lookups)."""
    return [token for token in tokens if not _part_of_another(token, tokens)]


def group_asked(group: list[str]) -> list[str]:
    """The words of a group a match is asked for: every word but a dictionary word of two or
    three characters inside a longer word of the group, which that word implies. jieba's search
    cut gives every dictionary 2-gram of a word longer than two characters and every dictionary
    3-gram of one longer than three, at index time as at query time, and only words that long
    are cut so; so a document holding 社会保险 holds 社会 and 保险 (and 机动车驾驶证 the six words
    inside it). The match is the same, and the index intersects fewer lists."""
    frequencies = _segmenter().FREQ
    return [
        token
        for token in group
        if not (len(token) in (2, 3) and frequencies.get(token) and _part_of_another(token, group))
    ]


def ranking_words(tokens: list[str], groups: list[list[str]] | None) -> list[str]:
    """The words that rank a match, each once: every group's asked words (``group_asked``), or
    every token when there are no groups. A word a longer one of its group implies would only
    count that longer word again (社会保险 holds 社会 and 保险), so the words the person typed
    and their synonyms weigh alike: 社保 and 社会保险, not 社会保险 three times over."""
    if groups is None:
        return list(tokens)
    return list(dict.fromkeys(token for group in groups for token in group_asked(group)))


def _tsquery_lexeme(token: str, weights: str = "") -> str:
    escaped = token.replace("\\", "\\\\").replace("'", "''")
    return f"'{escaped}'" + (f":{weights}" if weights else "")


def _tsquery_sql(query: str) -> str:
    """``to_tsquery('simple', …)`` of a tsquery built from query words, written into the SQL as a
    string literal rather than passed as a parameter: psycopg prepares a statement run five
    times on a connection, and PostgreSQL's generic plan for a tsquery parameter, whose
    selectivity it cannot know, measured about twice as slow as the plan for the words
    themselves (社保's page 55 → 118 ms). The words are letters and digits only (WORD); the
    literal is quoted all the same, with '%' doubled for the parameters that follow."""
    literal = "'" + query.replace("'", "''") + "'"
    return f"to_tsquery('simple', {literal.replace('%', '%%')})"


def _fts_phrase(token: str, column: str | None = None) -> str:
    phrase = '"' + token.replace('"', '""') + '"'
    return f"{column} : {phrase}" if column else phrase


@dataclass
class _Sql:
    text: str
    params: list[Any]


# The document's words, as the GIN index of migration catalog 0007 has them: a match through that
# index needs no recheck, so it never reads the texts (nor computes this expression) per row.
POSTGRESQL_WORDS = (
    "to_tsvector('simple'::regconfig, document.name_tokens || ' ' || document.result_theme_tokens || ' ' "
    "|| document.department_material_tokens || ' ' || document.condition_basis_tokens)"
)


class _PostgresqlQuery:
    """The words' GIN index finds the matches; the ranking reads the index table's small columns
    only: ``rank_vector`` (the name as weight A, the result and themes as B) for the name matches
    and ts_rank, ``popularity`` and ``sort_name``."""

    table = "catalog_searchdocument document"
    id_column = "document.implementation_id"

    def __init__(self, tokens: list[str], groups: list[list[str]] | None = None) -> None:
        self.tokens = tokens
        self.groups = groups

    def match(self) -> _Sql:
        return _Sql(f"{POSTGRESQL_WORDS} @@ {_tsquery_sql(self._matching())}", [])

    def _matching(self) -> str:
        """The tsquery a match satisfies: every word of one group, or any word without groups."""
        if self.groups is None:
            return self._any()
        return " | ".join(
            "(" + " & ".join(_tsquery_lexeme(token) for token in group_asked(group)) + ")" for group in self.groups
        )

    def columns(self) -> _Sql:
        """Score, number of ranking words in the name, and a key ordered as the number of the
        query's longest words held anywhere.

        The score is the mean of each ranking word's ts_rank: what ts_rank gives for the words
        joined by OR (it averages its words' ranks), but summed in float8 from each word's
        float4 rank, so that the postings, which keep each word's rank, give the same value to
        the last bit (``_postings_ranked_answer``). Ranks lie between 0.06 and 1.7, so a sum of
        up to QUERY_MAX_TOKENS of them is exact in float8, in any order."""
        words = ranking_words(self.tokens, self.groups)
        in_name = " + ".join(
            f"(CASE WHEN document.rank_vector @@ {_tsquery_sql(_tsquery_lexeme(word, 'A'))} THEN 1 ELSE 0 END)"
            for word in words
        )
        ranks = " + ".join(
            f"ts_rank(document.rank_vector, {_tsquery_sql(_tsquery_lexeme(word))})::float8" for word in words
        )
        return _Sql(
            f"({ranks}) / {len(words)} AS score, ({in_name}) AS in_name, ({self._anywhere()}) AS anywhere",
            [],
        )

    def _anywhere(self) -> str:
        """Ordered as the number of the longest words a match holds anywhere, from the words'
        matches through the index (hashed subplans, once per query), never from the texts row by
        row; each subplan asks for its words and a match together, so a common word costs no more
        rows than the matches themselves.

        A match holds every word of one group. So when every group holds every longest word (a
        query without synonyms), every match holds them all: the same number for all. When
        every group holds one of two longest words, the number is 1 + [both]: one subplan over
        the two words' common matches, far fewer rows than either word's (社保 and 社会保险).
        """
        longest = longest_words(self.tokens)
        groups = self.groups if self.groups is not None else [[token] for token in self.tokens]
        if all(set(longest) <= set(group) for group in groups):
            return "0"
        if len(longest) == 2 and all(any(token in longest for token in group) for group in groups):
            return self._holding(longest)
        return " + ".join(self._holding([word]) for word in longest)

    def _holding(self, words: list[str]) -> str:
        """1 for a match holding every one of ``words``, else 0."""
        table_words = POSTGRESQL_WORDS.replace("document.", "words.")
        wanted = " & ".join(_tsquery_lexeme(word) for word in words)
        return (
            "(CASE WHEN document.implementation_id IN (SELECT words.implementation_id FROM "  # noqa: S608
            f"catalog_searchdocument words WHERE {table_words} @@ "
            f"{_tsquery_sql(f'{wanted} & ({self._matching()})')}) THEN 1 ELSE 0 END)"
        )

    def _any(self) -> str:
        return " | ".join(_tsquery_lexeme(token) for token in self.tokens)


class _SqliteQuery:
    """FTS5 MATCH; rank by bm25 with column weights (bm25 is lower for better, so negated)."""

    # The unary plus keeps SQLite from handing rowid conditions to FTS5, which would then run the
    # whole full-text query once per filtered row; the MATCH drives the loop instead.
    id_column = f"+{FTS_TABLE}.rowid"
    table = f"{FTS_TABLE} JOIN catalog_searchdocument document ON document.implementation_id = {id_column}"

    def __init__(self, tokens: list[str], groups: list[list[str]] | None = None) -> None:
        self.tokens = tokens
        self.groups = groups

    def match(self) -> _Sql:
        if self.groups is None:
            return _Sql(f"{FTS_TABLE} MATCH %s", [" OR ".join(_fts_phrase(token) for token in self.tokens)])
        every = " OR ".join(
            "(" + " AND ".join(_fts_phrase(token) for token in group_asked(group)) + ")" for group in self.groups
        )
        return _Sql(f"{FTS_TABLE} MATCH %s", [every])

    def columns(self) -> _Sql:
        """Score, number of ranking words in the name, number of the query's longest words
        anywhere."""
        # Each IN (...) is uncorrelated: SQLite runs it once and probes the result per row.
        contains = f"({FTS_TABLE}.rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s))"  # noqa: S608
        words = ranking_words(self.tokens, self.groups)
        longest = longest_words(self.tokens)
        weights = ", ".join(str(weight) for weight in FTS_COLUMN_WEIGHTS)
        return _Sql(
            f"-bm25({FTS_TABLE}, {weights}) AS score, ({' + '.join([contains] * len(words))}) AS in_name, "
            f"({' + '.join([contains] * len(longest))}) AS anywhere",
            [
                *(_fts_phrase(word, column="name_tokens") for word in words),
                *(_fts_phrase(word) for word in longest),
            ],
        )


def _vendor_query(tokens: list[str], groups: list[list[str]] | None = None) -> _PostgresqlQuery | _SqliteQuery | None:
    """``groups``: match documents holding every word of one group; None: any word at all."""
    if connection.vendor == "postgresql":
        return _PostgresqlQuery(tokens, groups)
    if connection.vendor == "sqlite":
        return _SqliteQuery(tokens, groups)
    return None


def _filtered_implementations(
    *,
    region_code: str | None,
    department_code: str | None,
    audience: str | None,
    badge: str | None,
    theme_code: str | None,
    kind: str | None,
) -> QuerySet[Implementation, Any] | None:
    """The filters as an ORM query of implementation ids, or None when there is no filter."""
    # Imported here: catalog.selectors re-exports implementation_search from this module.
    from govhall.catalog.selectors import badge_filter

    conditions: dict[str, Any] = {}
    if region_code:
        conditions["region_id__in"] = region_scope_codes(region_code=region_code)
    if department_code:
        conditions["department__code"] = department_code
    if theme_code:
        conditions["entry__themes__code"] = theme_code
    if audience == "person":
        conditions["entry__for_persons"] = True
    elif audience == "company":
        conditions["entry__for_companies"] = True
    if kind:
        conditions["entry__kind"] = kind
    implementations = Implementation.objects.filter(**conditions)
    if badge:
        implementations = implementations.filter(badge_filter(badge))
    elif not conditions:
        return None
    return implementations.order_by().values("pk")


def _where(vendor_query: _PostgresqlQuery | _SqliteQuery, filtered: QuerySet[Implementation, Any] | None) -> _Sql:
    """The match, and the filters as a subquery. Cancelled implementations need no condition:
    they are not in the index (see ``search_documents_refresh``)."""
    match = vendor_query.match()
    sql, params = f"WHERE {match.text}", list(match.params)
    if filtered is not None:
        filter_sql, filter_params = filtered.query.get_compiler(connection=connection).as_sql()
        sql += f" AND {vendor_query.id_column} IN ({filter_sql})"
        params.extend(filter_params)
    return _Sql(sql, params)


# The matches of a query whose every group asks one word: the documents with a posting of one.
POSTINGS_COUNTING = "SELECT COUNT(DISTINCT implementation_id) FROM catalog_searchposting WHERE word = ANY(%s)"


def _counting(vendor_query: _PostgresqlQuery | _SqliteQuery, filtered: QuerySet[Implementation, Any] | None) -> _Sql:
    """The statement counting the matches. The index table alone: counting needs neither the
    implementation nor the entry. On PostgreSQL, when every group asks for one word that has
    postings and nothing is filtered (社保 or 社会保险: a document holding either), the matches
    are the documents with a posting of one of those words, counted from the postings' index
    alone: 社保's 23,228 in 5 ms against 13 through the words' index and the documents."""
    words = _posting_words(vendor_query, filtered)
    if words is not None:
        return _Sql(POSTINGS_COUNTING, [words])
    where = _where(vendor_query, filtered)
    return _Sql(f"SELECT COUNT(*) FROM {vendor_query.table} {where.text}", where.params)  # noqa: S608


def _posting_words(
    vendor_query: _PostgresqlQuery | _SqliteQuery, filtered: QuerySet[Implementation, Any] | None
) -> list[str] | None:
    """The words whose postings count and rank the query's matches: on PostgreSQL, with no
    filter, when every group asks one word that has postings (a word alone, or 社保 with its
    synonym 社会保险); else None."""
    if not isinstance(vendor_query, _PostgresqlQuery) or vendor_query.groups is None or filtered is not None:
        return None
    asked = [group_asked(group) for group in vendor_query.groups]
    if all(len(words) == 1 and POSTING_WORD.fullmatch(words[0]) for words in asked):
        return sorted({words[0] for words in asked})
    return None


def _count(vendor_query: _PostgresqlQuery | _SqliteQuery, filtered: QuerySet[Implementation, Any] | None) -> int:
    counting = _counting(vendor_query, filtered)
    with connection.cursor() as cursor:
        cursor.execute(counting.text, counting.params)
        return int(cursor.fetchone()[0])


def _ranked_page(
    vendor_query: _PostgresqlQuery | _SqliteQuery,
    filtered: QuerySet[Implementation, Any] | None,
    *,
    offset: int,
    limit: int,
) -> tuple[list[tuple[int, float]], int | None]:
    """(implementation id, full-text score) for one page, best first, and the number of matches
    counted in the same pass (None when the page is empty: past the end, or nothing matched)."""
    where = _where(vendor_query, filtered)
    columns = vendor_query.columns()
    counting = _counting(vendor_query, filtered)
    # The page is a top-N sort straight over the matches, and the count a second pass of the
    # index in the same statement (run once). Reading the matches once into a materialised list
    # to count and sort it wrote that list to a temporary file for a broad word: 登记's 59,321
    # matches took 60 ms that way against 51 as two passes (EXPLAIN ANALYZE, warm). A window
    # count instead made PostgreSQL sort every match in full. SQLite allows bm25() only in the
    # query that holds the MATCH, which the outer query does.
    sql = (
        f"SELECT {vendor_query.id_column} AS id, {columns.text}, "  # noqa: S608
        f"({counting.text}) FROM {vendor_query.table} {where.text} "
        "ORDER BY in_name DESC, anywhere DESC, score DESC, document.popularity DESC, document.sort_name, id "
        "LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*columns.params, *counting.params, *where.params, limit, offset])
        rows = cursor.fetchall()
    ranked = [(int(row[0]), float(row[1] or 0.0)) for row in rows]
    return ranked, (int(rows[0][-1]) if rows else None)


def _ranked_answer(
    vendor_query: _PostgresqlQuery | _SqliteQuery,
    filtered: QuerySet[Implementation, Any] | None,
    *,
    offset: int,
    limit: int,
) -> tuple[list[tuple[int, float]], int]:
    """One page and the number of matches: one statement, and a count of its own only for a
    page that is empty although it is not the first."""
    ranked, total = _ranked_page(vendor_query, filtered, offset=offset, limit=limit)
    if total is None:
        total = _count(vendor_query, filtered) if offset else 0
    return ranked, total


def _postings_ranked_answer(
    vendor_query: _PostgresqlQuery, words: list[str], *, offset: int, limit: int
) -> tuple[list[tuple[int, float]], int]:
    """One page and the number of matches of a query whose every group asks one word (社保:
    社保 or 社会保险; ``_posting_words``), from those words' postings alone: the same keys and
    values ``_PostgresqlQuery`` computes from the documents. The words are then the ranking
    words and hold the longest ones, so each match's name matches, longest words held and mean
    rank are sums over its postings of them. The words' ranges of the postings' index are read
    and their matches grouped and sorted: 社保's 26,003 postings, 23,228 matches, in about
    17 ms of PostgreSQL with the count, against 35–45 through the words' index, which reads
    and ranks every match's document."""
    longest = longest_words(vendor_query.tokens)
    kept = _group_postings_answer(group_key(words, longest), offset=offset, limit=limit) if len(words) > 1 else None
    if kept is not None:
        return kept
    sql = (
        f"SELECT implementation_id, SUM(score::float8) / %s AS score, ({POSTINGS_COUNTING}) "  # noqa: S608
        "FROM catalog_searchposting WHERE word = ANY(%s) GROUP BY implementation_id "
        "ORDER BY SUM(in_name::int) DESC, COUNT(*) FILTER (WHERE word = ANY(%s)) DESC, score DESC, "
        "MAX(popularity) DESC, MAX(sort_name), implementation_id LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [len(words), words, words, longest, limit, offset])
        rows = cursor.fetchall()
        if rows:
            return [(int(row[0]), float(row[1])) for row in rows], int(rows[0][2])
        if not offset:
            return [], 0
        cursor.execute(POSTINGS_COUNTING, [words])
        return [], int(cursor.fetchone()[0])


def _group_postings_answer(key: str, *, offset: int, limit: int) -> tuple[list[tuple[int, float]], int] | None:
    """One page and the number of matches of a synonym query from its group postings (ADR 18):
    a range of their index and the key's number of documents, in one statement; None when the
    key has none (``group_postings_rebuild``)."""
    count = "SELECT documents FROM catalog_searchword WHERE word = %s AND documents > 0"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT implementation_id, score, ({count}) FROM catalog_searchgroupposting WHERE words = %s "  # noqa: S608
            "ORDER BY in_name DESC, held DESC, score DESC, popularity DESC, sort_name, implementation_id "
            "LIMIT %s OFFSET %s",
            [key, key, limit, offset],
        )
        rows = cursor.fetchall()
        if rows and rows[0][2] is not None:
            return [(int(row[0]), float(row[1])) for row in rows], int(rows[0][2])
        if rows or not offset:
            return None
        cursor.execute(count, [key])
        kept = cursor.fetchone()
        return ([], int(kept[0])) if kept else None


def _posting_word(groups: list[list[str]], filtered: QuerySet[Implementation, Any] | None) -> str | None:
    """The word of a query its postings answer in their order (ADR 14): on PostgreSQL, with no
    filter, when every group asks the same one word (``group_asked``). That is a word alone, or
    an item's name that jieba also cuts into dictionary words inside it (食品经营许可: 食品, 经营,
    许可 and itself), whose every match holds them all. Every token is then inside that word,
    the query's one longest word, so the words' index ranks the matches as that word's postings
    are ordered: the name match, then its ts_rank, popularity, name and id."""
    if connection.vendor != "postgresql" or filtered is not None or not groups:
        return None
    asked = {tuple(group_asked(group)) for group in groups}
    if len(asked) != 1:
        return None
    (words,) = asked
    if len(words) != 1:
        return None
    return words[0] if POSTING_WORD.fullmatch(words[0]) else None


def _posting_answer(word: str, *, offset: int, limit: int) -> tuple[list[tuple[int, float]], int]:
    """One word's page and number of matches from its postings, in ``_ranked_page``'s order for
    that word: the name match, then ts_rank, popularity, name and id (every match holds the one
    longest word, so ``anywhere`` is the same for all). The page is a range of the postings'
    index, and the count the word's number of documents kept with them: neither visits a
    document."""
    count = "SELECT documents FROM catalog_searchword WHERE word = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            # The rank is read as float8 (the float4 exactly) under a name of its own: named
            # ``score``, it would be what ORDER BY sorts, and the index could not give the order.
            f"SELECT implementation_id, score::float8 AS exact_score, ({count}) "  # noqa: S608
            "FROM catalog_searchposting WHERE word = %s "
            "ORDER BY in_name DESC, score DESC, popularity DESC, sort_name, implementation_id LIMIT %s OFFSET %s",
            [word, word, limit, offset],
        )
        rows = cursor.fetchall()
        ranked = [(int(row[0]), float(row[1])) for row in rows]
        total = rows[0][2] if rows else None
        if total is None and offset:
            cursor.execute(count, [word])
            kept = cursor.fetchone()
            total = kept[0] if kept else None
        if total is None and (rows or offset):
            # No number kept for the word (only if the words were not yet counted after a bulk
            # load): count its postings.
            cursor.execute("SELECT COUNT(*) FROM catalog_searchposting WHERE word = %s", [word])
            total = cursor.fetchone()[0]
        return ranked, int(total or 0)


# ---------------------------------------------------------------------------------------------
# Highlighting


# Characters that NFKC may join to the one before them (combining marks).
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\u3099\u309a\ufe20-\ufe2f]")


def _folded_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the original character."""
    whole = _fold(text)
    if len(whole) == len(text) and not _COMBINING.search(text):
        # Every character folded to exactly one (the usual case): positions are the indexes.
        return whole, list(range(len(text)))
    folded_parts = []
    positions = []
    for index, character in enumerate(text):
        folded = _fold(character)
        folded_parts.append(folded)
        positions.extend([index] * len(folded))
    return "".join(folded_parts), positions


def _match_spans(text: str, tokens: Sequence[str]) -> list[tuple[int, int]]:
    """Merged [start, end) spans of ``text`` where a token occurs (compared folded)."""
    folded, positions = _folded_with_positions(text)
    spans = []
    for token in tokens:
        start = folded.find(token)
        while start != -1:
            spans.append((positions[start], positions[start + len(token) - 1] + 1))
            start = folded.find(token, start + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _marked_pieces(text: str, spans: list[tuple[int, int]], start: int, end: int) -> Iterator[tuple[str, bool]]:
    cursor = start
    for span_start, span_end in spans:
        span_start, span_end = max(span_start, start), min(span_end, end)
        if span_start >= span_end:
            continue
        if cursor < span_start:
            yield text[cursor:span_start], False
        yield text[span_start:span_end], True
        cursor = span_end
    if cursor < end:
        yield text[cursor:end], False


def _html(pieces: Iterable[tuple[str, bool]]) -> SafeString:
    """Escaped text with the marked pieces in <mark>: the only markup a hit carries. Joined by
    hand, and escaped as Django's ``escape`` does (``html.escape``) without its check for lazy
    strings, which the pieces (slices of stored text) never are: ``format_html_join`` took a
    third of a page's highlighting, and the check half of what was left."""
    return mark_safe(
        "".join(f"<mark>{html.escape(piece)}</mark>" if marked else html.escape(piece) for piece, marked in pieces)
    )


def text_highlight(*, text: str, tokens: Sequence[str]) -> SafeString:
    """``text`` escaped, with every occurrence of a token wrapped in <mark>."""
    return _html(_marked_pieces(text, _match_spans(text, tokens), 0, len(text)))


def snippet_highlight(*, snippet_text: str, tokens: Sequence[str]) -> SafeString:
    """A short passage from the conditions, materials or result name, the one matching most
    tokens (else the first), cut around its first match, tokens in <mark>."""
    lines = [line for line in snippet_text.splitlines() if line.strip()]
    if not lines:
        return SafeString("")
    best_line, best_count = lines[0], 0
    for line in lines:
        folded = _fold(line)
        count = sum(1 for token in tokens if token in folded)
        if count > best_count:
            best_line, best_count = line, count
    best_spans = _match_spans(best_line, tokens) if best_count else []
    start = max(0, best_spans[0][0] - SNIPPET_LEAD) if best_spans else 0
    end = min(len(best_line), start + SNIPPET_LENGTH)
    start = max(0, min(start, end - SNIPPET_LENGTH))
    pieces = list(_marked_pieces(best_line, best_spans, start, end))
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(best_line):
        pieces.append(("…", False))
    return _html(pieces)


# ---------------------------------------------------------------------------------------------
# The search


def _suggested_themes(*, audience: str | None) -> list[Theme]:
    themes = Theme.objects.order_by("order", "code")
    if audience in ("person", "company"):
        for_audience = list(themes.filter(audience__in=(audience, "both"))[:SUGGESTED_THEMES_MAX])
        if len(for_audience) >= SUGGESTED_THEMES_MIN:
            return for_audience
    return list(themes[:SUGGESTED_THEMES_MAX])


class SearchArguments(TypedDict, total=False):
    """What a search is asked: the words and the filters (``_implementation_search``)."""

    query: Required[str]
    region_code: str | None
    department_code: str | None
    audience: str | None
    badge: str | None
    theme_code: str | None
    kind: str | None
    page: int
    page_size: int


def implementation_search(**arguments: Unpack[SearchArguments]) -> SearchResult[SearchHit]:
    """Published implementations matching ``query``, best first, each hit with its models."""
    return _implementation_search(_hits, **arguments)


def implementation_search_listed(**arguments: Unpack[SearchArguments]) -> SearchResult[ListedHit]:
    """The same search, each hit's implementation as the lists of services show it (the
    portal's search page), read as values: building each of the 20 hits as five models took about
    a quarter of a page's CPU (a page with its answer cached: 9.2 → 6.8 ms in one process)."""
    return _implementation_search(_listed_hits, **arguments)


def _implementation_search(
    hits_read: Callable[[list[tuple[int, float]], list[str]], list[Hit]],
    *,
    query: str,
    region_code: str | None = None,
    department_code: str | None = None,
    audience: str | None = None,
    badge: str | None = None,
    theme_code: str | None = None,
    kind: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> SearchResult[Hit]:
    """Published implementations matching ``query`` (Chinese, synonyms included), best first.

    Filters narrow as in ``implementation_list_public``: the region means the region and those
    above it; badge is an online-depth badge or a depth digit. The number of database queries is
    the same whatever the number of hits: the synonyms (once per catalogue version in a process,
    on every search inside a transaction), one page of ids with the number of matches, the
    page's rows (and a count alone for a page past the end).
    """
    page = max(1, page)
    page_size = max(1, min(page_size, PAGE_SIZE_MAX))
    # Read once: the answer's key and the synonyms it is made with.
    version = catalogue_version()
    key = _search_cache_key(
        version,
        query=_fold(query)[:QUERY_MAX_LENGTH].strip(),
        region_code=region_code,
        department_code=department_code,
        audience=audience,
        badge=badge,
        theme_code=theme_code,
        kind=kind,
        page=page,
        page_size=page_size,
    )
    answer = cache.get(key)
    if answer is None:
        answer = _search_answer(
            query=query,
            filters={
                "region_code": region_code,
                "department_code": department_code,
                "audience": audience,
                "badge": badge,
                "theme_code": theme_code,
                "kind": kind,
            },
            page=page,
            page_size=page_size,
            version=version,
        )
        cache.set(key, answer, timeout=SEARCH_CACHE_SECONDS)
    tokens, total, ranked = answer
    result: SearchResult[Hit] = SearchResult(
        query=query, tokens=tokens, hits=[], total=total, page=page, page_size=page_size, suggested_themes=[]
    )
    if ranked:
        result.hits = hits_read(ranked, tokens)
    if result.total == 0:
        result.suggested_themes = _suggested_themes(audience=audience)
    return result


def _search_answer(
    *, query: str, filters: dict[str, Any], page: int, page_size: int, version: int
) -> tuple[list[str], int, list[tuple[int, float]]]:
    """The query's words, the number of matches and one page of (implementation id, score)."""
    groups = search_query_groups(query=query, version=version)
    tokens = list(dict.fromkeys(token for group in groups for token in group))
    vendor_query = _vendor_query(tokens, groups) if tokens else None
    if vendor_query is None:
        return tokens, 0, []
    filtered = _filtered_implementations(**filters)
    offset = (page - 1) * page_size
    word = _posting_word(groups, filtered)
    try:
        words = None if word is not None else _posting_words(vendor_query, filtered)
        if word is not None:
            ranked, total = _posting_answer(word, offset=offset, limit=page_size)
        elif words is not None:
            assert isinstance(vendor_query, _PostgresqlQuery)
            ranked, total = _postings_ranked_answer(vendor_query, words, offset=offset, limit=page_size)
        else:
            ranked, total = _ranked_answer(vendor_query, filtered, offset=offset, limit=page_size)
        if total == 0 and any(len(group) > 1 for group in groups):
            # Nothing holds all the words of any group: show what holds some of them.
            vendor_query = _vendor_query(tokens)
            assert vendor_query is not None
            ranked, total = _ranked_answer(vendor_query, filtered, offset=offset, limit=page_size)
    except EmptyResultSet:  # a filter no implementation can meet, such as an unknown region
        return tokens, 0, []
    return tokens, total, ranked


# What a list of implementations never shows: the long texts and forms of the guide (browsing
# and search hits read from the same rows).
SUMMARY_DEFERRED = (
    "acceptance_conditions",
    "office_hours",
    "fee_standard",
    "fee_basis",
    "special_procedures",
    "application_form",
    "process_definition",
    "entry__legal_basis",
    "entry__description",
)
# ... nor the search tokens (a page of 20 hits read and decoded some 160 KB of them).
HIT_DEFERRED = (
    *SUMMARY_DEFERRED,
    "search_document__name_tokens",
    "search_document__result_theme_tokens",
    "search_document__department_material_tokens",
    "search_document__condition_basis_tokens",
)


def _hits_query(*ids: int) -> QuerySet[Implementation, Implementation]:
    return (
        Implementation.objects.select_related("entry", "region", "department", "search_document")
        .defer(*HIT_DEFERRED)
        .filter(pk__in=ids)
    )


def _hits(ranked: list[tuple[int, float]], tokens: list[str]) -> list[SearchHit]:
    # Compiled once per number of hits (at most PAGE_SIZE_MAX statements a process): building
    # this five-model statement took the ORM about a millisecond a page.
    ids = [implementation_id for implementation_id, _score in ranked]
    implementations = {found.pk: found for found in list_compiled(f"search_hits_{len(ids)}", _hits_query, *ids)}
    hits = []
    for implementation_id, score in ranked:
        implementation = implementations.get(implementation_id)
        document = getattr(implementation, "search_document", None)
        if implementation is None or document is None:  # cancelled between the two queries
            continue
        hits.append(
            SearchHit(
                implementation=implementation,
                name_highlighted=text_highlight(text=implementation.entry.name, tokens=tokens),
                snippet_highlighted=snippet_highlight(snippet_text=document.snippet_text, tokens=tokens),
                score=score,
            )
        )
    return hits


LISTED_HIT_VALUES = (
    "pk",
    "implementation_code",
    "state",
    "site_visits",
    "online_depth",
    "entry__name",
    "entry__kind",
    "entry__state",
    "region__full_name",
    "department__name",
    "search_document__snippet_text",
)


def _listed_hits_query(*ids: int) -> QuerySet[Implementation, Any]:
    return Implementation.objects.filter(pk__in=ids).values_list(*LISTED_HIT_VALUES)


def _listed_hits(ranked: list[tuple[int, float]], tokens: list[str]) -> list[ListedHit]:
    ids = [implementation_id for implementation_id, _score in ranked]
    rows = {row[0]: row for row in values_list_compiled(f"search_listed_hits_{len(ids)}", _listed_hits_query, *ids)}
    hits = []
    for implementation_id, score in ranked:
        if implementation_id not in rows:  # cancelled between the two queries
            continue
        pk, code, state, site_visits, online_depth, name, kind, entry_state, region, department, snippet = rows[
            implementation_id
        ]
        if snippet is None:  # its search document went with it
            continue
        hits.append(
            ListedHit(
                implementation=ListedImplementation(
                    pk=pk,
                    implementation_code=code,
                    state=state,
                    site_visits=site_visits,
                    online_depth=online_depth,
                    entry=ListedEntry(name=name, kind=kind, state=entry_state),
                    region=ListedRegion(full_name=region),
                    department=ListedDepartment(name=department),
                ),
                name_highlighted=text_highlight(text=name, tokens=tokens),
                snippet_highlighted=snippet_highlight(snippet_text=snippet, tokens=tokens),
                score=score,
            )
        )
    return hits
