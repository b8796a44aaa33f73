"""Chinese search over the published catalogue: quality, ranking, filters, synonyms, highlighting.

Items are published through the real change workflow (tests/factories.py), which indexes them
the way approval does in production.
"""

import importlib
import io
import json
import threading
import time
import unicodedata

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.safestring import SafeString

from govhall.catalog import search, services
from govhall.catalog.models import (
    ChangeAction,
    ChangeTarget,
    Implementation,
    SearchDocument,
    SearchGroupPosting,
    SearchPosting,
    SearchSynonym,
    SearchWord,
)
from govhall.catalog.search import implementation_search
from govhall.demo import demo_load
from govhall.scheduling import job_run_now
from tests.factories import (
    HAISHU,
    HANGZHOU,
    NINGBO,
    PROVINCE,
    XIHU,
    YUHANG,
    make_department,
    make_entry,
    material_example,
    publish,
)
from tests.factories import make_implementation as factory_make_implementation

pytestmark = pytest.mark.django_db

DEPARTMENT_NAMES = {
    "market": "市场监督管理局",
    "police": "公安分局",
    "health": "卫生健康局",
    "hrss": "人力资源和社会保障局",
    "resources": "自然资源和规划局",
    "housing": "住房和城乡建设局",
    "civil": "民政局",
    "fund": "住房公积金管理中心",
    "disabled": "残疾人联合会",
}
REGION_NAMES = {
    PROVINCE: "浙江省",
    HANGZHOU: "杭州市",
    NINGBO: "宁波市",
    XIHU: "西湖区",
    YUHANG: "余杭区",
    HAISHU: "海曙区",
}

THEMES = [
    ("kaiban", "开办企业", "company"),
    ("chusheng", "出生", "person"),
    ("hunyin", "婚姻登记", "person"),
    ("jiuye", "就业创业", "person"),
    ("zhufang", "住房", "person"),
    ("jiuzhu", "社会救助", "person"),
    ("gongcheng", "工程建设", "company"),
]

# (name, department kind, result name, acceptance conditions, materials, for persons, for companies, themes)
CORPUS = [
    ("企业设立登记", "market", "营业执照", "依法设立公司、合伙企业或个人独资企业，企业名称已经自主申报。",
     ["公司登记（备案）申请书", "公司章程", "股东主体资格证明", "住所使用证明"], False, True, ["kaiban"]),
    ("企业注销登记", "market", "准予注销登记通知书", "企业已依法清算完毕，债权债务已经清理。",
     ["注销登记申请书", "清算报告"], False, True, ["kaiban"]),
    ("企业变更登记", "market", "营业执照", "企业名称、住所、经营范围等登记事项发生变化的。",
     ["变更登记申请书", "营业执照正副本"], False, True, ["kaiban"]),
    ("个体工商户设立登记", "market", "营业执照", "有经营能力的公民从事工商业经营，可以登记为个体工商户。",
     ["个体工商户登记申请书", "经营者身份证明"], True, False, ["kaiban"]),
    ("个体工商户注销登记", "market", "准予注销登记通知书", "个体工商户不再从事经营活动的。",
     ["个体工商户注销登记申请书"], True, False, []),
    ("食品经营许可", "market", "食品经营许可证", "具有与经营的食品品种、数量相适应的经营场所。",
     ["食品经营许可申请书", "营业执照", "食品安全管理制度"], True, True, ["kaiban"]),
    ("食品生产许可", "market", "食品生产许可证", "具有与生产的食品品种、数量相适应的生产场所。",
     ["食品生产许可申请书", "生产设备布局图"], False, True, []),
    ("药品经营许可证核发", "market", "药品经营许可证", "具有依法经过资格认定的药学技术人员。",
     ["药品经营许可证申请表", "质量管理文件"], False, True, []),
    ("居民身份证换领", "police", "居民身份证", "居民身份证有效期满、证件损坏或者登记项目变更的，应当换领新证。",
     ["原居民身份证", "居民户口簿"], True, False, []),
    ("居民身份证挂失申报", "police", "", "居民身份证丢失的，可以向公安机关申报挂失。",
     ["挂失申报表"], True, False, []),
    ("临时居民身份证核发", "police", "临时居民身份证", "在申请领取、换领、补领居民身份证期间急需使用的。",
     ["居民户口簿"], True, False, []),
    ("出生医学证明办理", "health", "出生医学证明", "在依法取得助产技术服务资质的医疗保健机构内出生的新生儿。",
     ["新生儿父母身份证明", "出生医学证明首次签发登记表"], True, False, ["chusheng"]),
    ("出生登记", "police", "", "婴儿出生后一个月以内，由户主、亲属或者抚养人向户口登记机关申报出生登记。",
     ["出生医学证明", "父母居民户口簿", "父母居民身份证"], True, False, ["chusheng"]),
    ("生育登记", "health", "", "夫妻双方生育子女的，可以办理生育登记。",
     ["夫妻双方居民身份证", "结婚证"], True, False, ["chusheng"]),
    ("社会保障卡申领", "hrss", "社会保障卡", "参加本市社会保险的人员可以申领。",
     ["居民身份证", "近期免冠照片"], True, False, []),
    ("社会保险登记", "hrss", "", "用人单位自成立之日起三十日内办理社会保险登记，为职工申领社会保障卡、社会保障卡。",
     ["营业执照", "社会保障卡申领名册"], False, True, []),
    ("失业保险金申领", "hrss", "", "失业前用人单位和本人已经缴纳失业保险费满一年，非因本人意愿中断就业的。",
     ["居民身份证", "解除劳动合同证明"], True, False, ["jiuye"]),
    ("失业登记", "hrss", "", "在法定劳动年龄内、有劳动能力和就业要求、处于无业状态的人员。",
     ["居民身份证"], True, False, ["jiuye"]),
    ("城乡居民基本养老保险待遇申领", "hrss", "", "年满六十周岁、累计缴费满十五年的参保人员。",
     ["居民身份证", "居民户口簿"], True, False, []),
    ("建设工程规划许可证核发", "resources", "建设工程规划许可证", "建设项目已取得建设用地规划许可证或者土地使用权。",
     ["建设工程规划许可申请表", "建设工程设计方案总平面图"], False, True, ["gongcheng"]),
    ("建设用地规划许可证核发", "resources", "建设用地规划许可证", "以划拨方式提供国有土地使用权的建设项目。",
     ["建设用地规划许可申请表", "建设项目批准文件"], False, True, ["gongcheng"]),
    ("乡村建设规划许可证核发", "resources", "乡村建设规划许可证",
     "在乡、村庄规划区内进行乡镇企业、乡村公共设施建设的。",
     ["乡村建设规划许可申请表"], True, True, ["gongcheng"]),
    ("建筑工程施工许可证核发", "housing", "建筑工程施工许可证",
     "已经取得建设工程规划许可证，施工场地已经基本具备施工条件。",
     ["建筑工程施工许可申请表", "建设工程规划许可证"], False, True, ["gongcheng"]),
    ("结婚登记", "civil", "结婚证", "男女双方自愿结婚，达到法定婚龄，双方均无配偶。",
     ["居民户口簿", "居民身份证", "无配偶以及无禁止结婚的亲属关系的签字声明"], True, False, ["hunyin"]),
    ("离婚登记", "civil", "离婚证", "男女双方自愿离婚，并持有内地婚姻登记机关颁发的结婚证。",
     ["结婚证", "居民身份证", "离婚协议书"], True, False, ["hunyin"]),
    ("补领婚姻登记证", "civil", "结婚证", "结婚证、离婚证遗失或者损毁的。",
     ["居民身份证", "居民户口簿"], True, False, ["hunyin"]),
    ("住房公积金提取", "fund", "", "购买、建造、翻建、大修自住住房，或者离休、退休的职工。",
     ["住房公积金提取申请书", "居民身份证"], True, False, ["zhufang"]),
    ("住房公积金缴存登记", "fund", "", "单位应当自设立之日起三十日内办理住房公积金缴存登记。",
     ["住房公积金缴存登记表"], False, True, ["zhufang"]),
    ("住房公积金个人住房贷款", "fund", "", "连续足额缴存住房公积金满六个月的职工购买自住住房。",
     ["借款申请表", "购房合同"], True, False, ["zhufang"]),
    ("最低生活保障", "civil", "", "共同生活的家庭成员人均收入低于当地最低生活保障标准，且家庭财产符合规定。",
     ["最低生活保障申请书", "家庭收入情况声明"], True, False, ["jiuzhu"]),
    ("特困人员认定", "civil", "", "无劳动能力、无生活来源，且无法定赡养、抚养、扶养义务人的老年人、残疾人。",
     ["特困人员供养申请书"], True, False, ["jiuzhu"]),
    ("临时救助", "civil", "", "因遭遇突发事件导致基本生活暂时出现严重困难，最低生活保障难以覆盖的家庭。",
     ["临时救助申请书"], True, False, ["jiuzhu"]),
    ("机动车驾驶证换证", "police", "机动车驾驶证", "机动车驾驶证有效期满前九十日内申请换证。",
     ["居民身份证", "身体条件证明"], True, False, []),
    ("不动产登记", "resources", "不动产权证书", "不动产权属发生设立、变更、转移、消灭的。",
     ["不动产登记申请书", "权属来源证明"], True, True, ["zhufang"]),
    ("残疾人证办理", "disabled", "残疾人证", "符合残疾标准的视力、听力、言语、肢体、智力、精神残疾人。",
     ["居民身份证", "残疾评定表"], True, False, []),
    ("户口迁移", "police", "", "因工作调动、投靠亲属等原因迁移户口的。",
     ["居民户口簿", "准予迁入证明"], True, False, []),
    ("公共场所卫生许可", "health", "公共场所卫生许可证", "宾馆、商场、游泳场所等公共场所经营者。",
     ["公共场所卫生许可申请书", "营业执照"], False, True, []),
]  # fmt: skip

QUALITY_QUERIES = {
    "开公司": "企业设立登记",
    "办身份证": "居民身份证换领",
    "食品许可": "食品经营许可",
    "出生证": "出生医学证明办理",
    "社保卡": "社会保障卡申领",
    "个体户": "个体工商户设立登记",
    "规划许可": "建设工程规划许可证核发",
    "结婚": "结婚登记",
    "公积金": "住房公积金提取",
    "失业金": "失业保险金申领",
    "低保": "最低生活保障",
}


def material(name):
    return material_example(name)


def department(kind, region_code=XIHU):
    return make_department(
        region_code=region_code, kind=kind, name=f"{REGION_NAMES[region_code]}{DEPARTMENT_NAMES[kind]}"
    )


def publish_item(
    name,
    *,
    kind="market",
    region_code=XIHU,
    result_name="",
    conditions="符合法定条件的申请人。",
    materials=("申请书",),
    for_persons=True,
    for_companies=True,
    themes=(),
    entry=None,
    **overrides,
):
    """An entry (unless given) and its implementation in one region, published and indexed."""
    entry = entry or make_entry(
        name=name,
        for_persons=for_persons,
        for_companies=for_companies,
        themes=list(themes),
        legal_basis="《浙江省政务服务管理办法》",
        description="",
    )
    department(kind, region_code)
    return factory_make_implementation(
        entry=entry,
        region_code=region_code,
        kind=kind,
        result_type="licence" if result_name else "other",
        result_name=result_name,
        licence_type_code="",
        acceptance_conditions=conditions,
        materials=[material(material_name) for material_name in materials],
        **overrides,
    )


def themes_publish():
    for order, (code, name, audience) in enumerate(THEMES):
        services.theme_upsert(code=code, name=name, audience=audience, order=order)


def synonyms_load():
    path = search.__file__.replace("search.py", "demo_data/synonyms.json")
    with open(path, encoding="utf-8") as file:
        for pair in json.load(file):
            search.search_synonym_upsert(term=pair["term"], expansion=pair["expansion"])


def names(result):
    return [hit.implementation.entry.name for hit in result.hits]


@pytest.fixture
def corpus():
    themes_publish()
    synonyms_load()
    for name, kind, result_name, conditions, materials, for_persons, for_companies, themes in CORPUS:
        publish_item(
            name,
            kind=kind,
            result_name=result_name,
            conditions=conditions,
            materials=materials,
            for_persons=for_persons,
            for_companies=for_companies,
            themes=themes,
        )


# --- Quality ----------------------------------------------------------------------------------


def test_colloquial_queries_find_their_catalogue_item_in_the_top_three(corpus):
    misses = {}
    for query, expected in QUALITY_QUERIES.items():
        top = names(implementation_search(query=query, page_size=3))
        if expected not in top:
            misses[query] = top
    assert misses == {}


def test_query_tokens_include_synonym_expansions_and_drop_single_characters(corpus):
    result = implementation_search(query="开公司")

    assert result.tokens == ["公司", "企业", "设立", "登记", "设立登记"]
    assert names(result)[0] == "企业设立登记"


def test_longer_synonym_term_wins_over_the_shorter_one_inside_it(corpus):
    # 社保卡 contains 社保 (→ 社会保险); only 社保卡's expansion is searched.
    assert "保险" not in implementation_search(query="社保卡").tokens


# --- Ranking ----------------------------------------------------------------------------------


def test_name_match_outranks_body_matches_however_often_the_body_repeats_the_word():
    body = "护照" * 5 + "，申请护照、办理护照和护照加注前采集。"
    publish_item("出入境证件照片采集", conditions=body, materials=["护照"])
    publish_item("普通护照签发", conditions="中国公民因私出国。", materials=["申请表"])

    assert names(implementation_search(query="护照")) == ["普通护照签发", "出入境证件照片采集"]


def test_an_item_must_hold_every_word_and_otherwise_more_words_rank_higher():
    publish_item("食品生产许可")
    publish_item("药品经营许可证核发")
    publish_item("食品经营许可")

    result = implementation_search(query="食品经营许可")
    # No item holds all of 食品, 药品 and 许可: the items holding some of them, best first.
    partial = implementation_search(query="食品药品许可")

    assert names(result) == ["食品经营许可"]  # an item must hold every word of the query
    assert set(names(partial)) == {"食品生产许可", "药品经营许可证核发", "食品经营许可"}


def test_a_compound_counts_as_one_word_and_holding_more_of_the_words_ranks_higher():
    # jieba gives 社会保险 with its parts 社会 and 保险: counted as three words, a text holding
    # the synonym's compound outranked one holding the word the person typed.
    search.search_synonym_upsert(term="社保", expansion="社会保险")
    publish_item("缴费记录查询", conditions="凭社保缴费凭证查询，已参加社会保险的人员。")
    publish_item("医疗费用报销", conditions="已参加社会保险的人员。")
    publish_item("个人参保证明", conditions="凭社保缴费凭证打印。")

    found = names(implementation_search(query="社保"))

    assert found[0] == "缴费记录查询"  # holds both words
    if connection.vendor == "postgresql":  # SQLite's bm25 then orders by the texts' words
        assert found[1:] == ["个人参保证明", "医疗费用报销"]  # one word each: by name


def test_words_held_are_counted_when_no_group_holds_the_longest_ones():
    # 护照's own group holds neither 普通护照 nor any other longest word: each is looked up.
    search.search_synonym_upsert(term="护照", expansion="普通护照")
    publish_item("出入境证件照片采集", conditions="申请护照前采集。")
    publish_item("因私出国证件办理", conditions="申领普通护照的公民。")

    assert names(implementation_search(query="护照")) == ["因私出国证件办理", "出入境证件照片采集"]


def test_a_group_is_asked_for_the_words_that_imply_the_others():
    assert search.group_asked(["社会", "保险", "社会保险"]) == ["社会保险"]
    assert search.group_asked(["机动", "动车", "车驾", "驾驶", "机动车", "驾驶证", "机动车驾驶证"]) == ["机动车驾驶证"]
    # jieba's search cut gives no 4-gram, and no word that is not in its dictionary: kept.
    assert search.group_asked(["社会保险", "社会保险金"]) == ["社会保险", "社会保险金"]
    assert search.group_asked(["qx", "qxzw"]) == ["qx", "qxzw"]


@pytest.mark.parametrize(
    "query",
    ["食品经营许可", "个体工商户设立登记", "出生医学证明", "住房公积金提取", "开公司", "社保", "驾照", "生孩子"],
)
def test_asking_for_the_longest_words_finds_what_asking_for_every_word_finds(corpus, monkeypatch, query):
    def found():
        cache.clear()
        return [hit.implementation.pk for hit in implementation_search(query=query, page_size=100).hits]

    asked = found()
    monkeypatch.setattr(search, "group_asked", lambda group: group)

    assert asked
    assert found() == asked


@pytest.mark.parametrize("query", ["食品经营许可", "出生医学证明", "开公司", "社保", "许可", "登记"])
def test_listed_hits_show_what_the_models_hold(corpus, query):
    """The portal's hits are read as values: the same hits, in the same order, with the same
    texts and highlights as the models' hits the API and the workbench read."""
    models = implementation_search(query=query, page_size=100)
    listed = search.implementation_search_listed(query=query, page_size=100)

    assert models.hits and (listed.total, listed.tokens) == (models.total, models.tokens)
    assert len(listed.hits) == len(models.hits)
    for model_hit, listed_hit in zip(models.hits, listed.hits, strict=True):
        model, values = model_hit.implementation, listed_hit.implementation
        assert (values.pk, values.implementation_code, values.state, values.site_visits, values.online_depth) == (
            model.pk,
            model.implementation_code,
            model.state,
            model.site_visits,
            model.online_depth,
        )
        assert (values.entry.name, values.entry.kind, values.entry.state) == (
            model.entry.name,
            model.entry.kind,
            model.entry.state,
        )
        assert (values.region.full_name, values.department.name) == (model.region.full_name, model.department.name)
        assert (listed_hit.name_highlighted, listed_hit.snippet_highlighted, listed_hit.score) == (
            model_hit.name_highlighted,
            model_hit.snippet_highlighted,
            model_hit.score,
        )


def test_a_hit_cancelled_after_its_page_was_ranked_is_left_out_of_both_readings(corpus):
    ranked = [(hit.implementation.pk, hit.score) for hit in implementation_search(query="许可").hits]
    gone = ranked[1][0]
    SearchDocument.objects.filter(implementation_id=gone).delete()  # as a cancellation does
    tokens = ["许可"]

    assert [hit.implementation.pk for hit in search._hits(ranked, tokens)] == [pk for pk, _ in ranked if pk != gone]
    assert [hit.implementation.pk for hit in search._listed_hits(ranked, tokens)] == [
        pk for pk, _ in ranked if pk != gone
    ]


def test_popularity_orders_otherwise_equal_hits():
    entry = make_entry(name="残疾人证办理", for_persons=True, for_companies=False, themes=[], description="")
    xihu = publish_item("", entry=entry, kind="disabled", region_code=XIHU)
    yuhang = publish_item("", entry=entry, kind="disabled", region_code=YUHANG)
    for _ in range(3):
        services.implementation_view_count(implementation_id=yuhang.pk)
    job_run_now("search_popularity_move")

    result = implementation_search(query="残疾人证")

    assert [hit.implementation.pk for hit in result.hits] == [yuhang.pk, xihu.pk]


def test_popularity_is_the_views_binary_order_of_magnitude():
    assert [search.popularity_level(views) for views in (0, 1, 2, 3, 4, 7, 8, 1000, 1900, 2100)] == [
        0, 1, 2, 2, 3, 3, 4, 10, 11, 12
    ]  # fmt: skip
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for views in (0, 1, 3, 4, 1023, 1024, 2**31 - 1):
                cursor.execute(f"SELECT {search.POPULARITY_LEVEL_SQL.format(views='%s::integer')}", [views])
                assert cursor.fetchone()[0] == search.popularity_level(views)


def test_guide_views_reach_the_search_document_with_the_job_and_a_reindex_keeps_them():
    item = publish_item("残疾人证办理")
    for _ in range(3):
        services.implementation_view_count(implementation_id=item.pk)
    services.implementation_view_counts_flush()

    assert Implementation.objects.get(pk=item.pk).view_count == 3
    assert SearchDocument.objects.get(pk=item.pk).popularity == 0  # the flush writes the views alone
    assert job_run_now("search_popularity_move") == 1
    assert SearchDocument.objects.get(pk=item.pk).popularity == 2  # three views
    search.search_index_rebuild()
    assert SearchDocument.objects.get(pk=item.pk).popularity == 2


def test_popularity_set_by_other_means_is_moved_to_the_documents():
    item = publish_item("残疾人证办理")
    Implementation.objects.filter(pk=item.pk).update(view_count=40)

    assert search.search_popularity_move() == 1
    assert SearchDocument.objects.get(pk=item.pk).popularity == 6
    assert search.search_popularity_move() == 0
    if connection.vendor == "postgresql":
        assert set(SearchPosting.objects.filter(document_id=item.pk).values_list("popularity", flat=True)) == {6}


# --- Postings (ADR 14) ------------------------------------------------------------------------

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the postings are PostgreSQL's")


def answer(query, **arguments):
    """(implementation id, score) of every hit, and the total, read afresh."""
    cache.clear()
    result = implementation_search(query=query, **arguments)
    return [(hit.implementation.pk, hit.score) for hit in result.hits], result.total


def published_again_and_viewed(names, *, regions):
    """Equal names, scores and popularity in several regions, and popularity that differs: the
    items named are published again in ``regions``, and the latest implementations viewed
    1 to 200 times (their levels moved by the job), so every key of the order decides somewhere."""
    entries = [Implementation.objects.get(entry__name=name).entry for name in names]
    for region_code in regions:
        for entry in entries:
            publish_item("", entry=entry, region_code=region_code)
    for views, implementation in zip((1, 3, 9, 9, 40, 200), Implementation.objects.order_by("-pk"), strict=False):
        Implementation.objects.filter(pk=implementation.pk).update(view_count=views)
    search.search_popularity_move()


@postgresql_only
def test_a_word_read_from_its_postings_is_ranked_and_counted_as_the_words_index_does(corpus, monkeypatch):
    # Equal names, scores and popularity in several regions, and popularity that differs.
    published_again_and_viewed(("结婚登记", "户口迁移"), regions=(HANGZHOU, YUHANG, NINGBO, HAISHU))
    words = sorted(set(SearchPosting.objects.values_list("word", flat=True)))
    from_postings = {word: (answer(word, page_size=100), answer(word, page=2, page_size=3)) for word in words}
    read_postings = [word for word in words if search._posting_word([[word]], None) and from_postings[word][0][1]]

    monkeypatch.setattr(search, "_posting_word", lambda groups, filtered: None)
    from_index = {word: (answer(word, page_size=100), answer(word, page=2, page_size=3)) for word in words}

    assert len(read_postings) > 200
    assert from_postings == from_index
    assert from_postings["登记"][0][1] > 10


@postgresql_only
def test_a_word_alone_is_read_from_its_postings_and_a_filtered_one_from_the_words_index(corpus):
    def statements(**arguments):
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            total = implementation_search(query="登记", **arguments).total
        return total, " ".join(query["sql"] for query in queries.captured_queries)

    total, alone = statements()
    filtered_total, filtered = statements(region_code=XIHU)

    assert "catalog_searchposting" in alone and "catalog_searchdocument_" not in alone
    assert "catalog_searchposting" not in filtered
    assert total == filtered_total > 10  # every item of the corpus is in 西湖区


@postgresql_only
def test_a_words_page_is_a_range_of_the_postings_index_without_a_sort(corpus):
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        implementation_search(query="登记", page=2)
    page = next(query["sql"] for query in queries.captured_queries if "catalog_searchposting" in query["sql"])

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # a sort it cannot do without still shows
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "catalog_posting_ranked" in plan
    assert "Sort" not in plan


@postgresql_only
def test_views_that_move_a_popularity_level_move_the_postings_and_the_order():
    entry = make_entry(name="残疾人证办理", for_persons=True, for_companies=False, themes=[], description="")
    xihu = publish_item("", entry=entry, kind="disabled", region_code=XIHU)
    yuhang = publish_item("", entry=entry, kind="disabled", region_code=YUHANG)

    def viewed(implementation, times):
        for _ in range(times):
            services.implementation_view_count(implementation_id=implementation.pk)
        services.implementation_view_counts_flush()
        search.search_popularity_move()
        return [pk for pk, _score in answer("残疾")[0]]

    assert viewed(yuhang, 3) == [yuhang.pk, xihu.pk]  # levels 2 and 0
    assert viewed(xihu, 3) == [xihu.pk, yuhang.pk]  # equal levels: by id
    assert viewed(xihu, 2) == [xihu.pk, yuhang.pk]  # five views: level 3
    assert set(SearchPosting.objects.filter(document_id=xihu.pk).values_list("popularity", flat=True)) == {3}
    assert set(SearchPosting.objects.filter(document_id=yuhang.pk).values_list("popularity", flat=True)) == {2}


@postgresql_only
def test_matches_ranked_and_counted_from_the_postings_are_those_the_words_index_gives(corpus, monkeypatch):
    # Synonyms whose words are names, results and conditions, equal names in several regions,
    # and popularity that differs: every key of the order decides somewhere.
    search.search_synonym_upsert(term="户口", expansion="户籍")
    search.search_synonym_upsert(term="婚姻", expansion="结婚 离婚")
    search.search_synonym_upsert(term="证件", expansion="证明 许可")
    # Its result holds the three words often enough to outscore 结婚登记, whose name holds 结婚.
    publish_item("家庭事务咨询", result_name="、".join(["婚姻", "结婚", "离婚"] * 8))
    published_again_and_viewed(("结婚登记", "户口迁移"), regions=(HANGZHOU, YUHANG, NINGBO))
    queries = [*QUALITY_QUERIES, "社保", "护照", "驾照", "生孩子", "登记 许可", "户口", "婚姻", "证件", "证明 护照"]

    def answers():
        return {
            query: (answer(query, page_size=100), answer(query, page=2, page_size=3), answer(query, page=50)[1])
            for query in queries
        }

    from_postings = answers()
    read_postings = [
        query
        for query in queries
        if search._posting_words(
            search._vendor_query(search.search_query_tokens(query=query), search.search_query_groups(query=query)), None
        )
        and not search._posting_word(search.search_query_groups(query=query), None)
        and from_postings[query][0][1] > 5
    ]
    monkeypatch.setattr(search, "_posting_words", lambda vendor_query, filtered: None)

    assert len(read_postings) >= 3
    assert from_postings == answers()


@postgresql_only
def test_a_name_cut_into_the_words_inside_it_is_read_from_its_postings_as_the_words_index_ranks_it(corpus, monkeypatch):
    # 食品经营许可 is cut into 食品, 经营, 许可 and itself: every match holds them all, so the
    # query is ranked as 食品经营许可 alone, from its postings in order.
    published_again_and_viewed(("结婚登记", "食品经营许可"), regions=(HANGZHOU, YUHANG, NINGBO))
    item_names = [name for name, *_rest in CORPUS]
    compounds = [
        name
        for name in item_names
        if search._posting_word(groups := search.search_query_groups(query=name), None) and len(groups[0]) > 1
    ]

    def answers():
        return {
            name: (answer(name, page_size=100), answer(name, page=2, page_size=2), answer(name, page=50)[1])
            for name in compounds
        }

    def statements(query):
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            implementation_search(query=query, page=2, page_size=2)
        return " ".join(statement["sql"] for statement in captured.captured_queries)

    from_postings = answers()
    grouped = [name for name in compounds if "GROUP BY" in statements(name) or "@@" in statements(name)]
    monkeypatch.setattr(search, "_posting_word", lambda groups, filtered: None)
    monkeypatch.setattr(search, "_posting_words", lambda vendor_query, filtered: None)

    assert {"食品经营许可", "结婚登记", "最低生活保障"} <= set(compounds)
    assert grouped == []
    assert from_postings == answers()
    assert from_postings["结婚登记"][0][1] >= 4


def group_postings():
    """The group postings and the keys' numbers of documents, as kept."""
    columns = ("document_id", "words", "in_name", "held", "score", "popularity", "sort_name")
    return (
        set(SearchGroupPosting.objects.values_list(*columns)),
        set(SearchWord.objects.filter(word__contains="#").exclude(documents=0).values_list("word", "documents")),
    )


def group_postings_afresh():
    """The group postings and numbers written from nothing, for the synonyms as they are."""
    SearchGroupPosting.objects.all().delete()
    SearchWord.objects.filter(word__contains="#").delete()
    search.group_postings_rebuild()
    return group_postings()


@postgresql_only
def test_a_synonym_query_is_read_from_its_group_postings_as_its_words_postings_rank_it(corpus, monkeypatch):
    search.search_synonym_upsert(term="婚姻", expansion="结婚 离婚")
    publish_item("家庭事务咨询", result_name="、".join(["婚姻", "结婚", "离婚"] * 8))
    published_again_and_viewed(("结婚登记", "户口迁移"), regions=(HANGZHOU, YUHANG, NINGBO))
    queries = ["社保", "护照", "驾照", "低保", "婚姻", "我的社保", "身份证", "公积金", "失业金"]

    def answers():
        return {
            query: (answer(query, page_size=100), answer(query, page=2, page_size=3), answer(query, page=50)[1])
            for query in queries
        }

    def statements(query):
        cache.clear()
        with CaptureQueriesContext(connection) as captured:
            implementation_search(query=query, page=2, page_size=3)
        return " ".join(statement["sql"] for statement in captured.captured_queries)

    from_groups = answers()
    read_from_groups = [
        query
        for query in queries
        if "catalog_searchgroupposting" in (read := statements(query)) and "catalog_searchposting" not in read
    ]
    monkeypatch.setattr(search, "_group_postings_answer", lambda key, offset, limit: None)

    assert {"社保", "驾照", "婚姻", "我的社保", "低保"} <= set(read_from_groups)
    assert from_groups == answers()
    assert from_groups["社保"][0][1] >= 2 and from_groups["婚姻"][0][1] >= 5


@postgresql_only
def test_a_synonym_querys_page_is_a_range_of_the_group_postings_index_without_a_sort(corpus):
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        implementation_search(query="社保", page=2, page_size=2)
    page = next(query["sql"] for query in queries.captured_queries if "catalog_searchgroupposting" in query["sql"])

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {page}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "catalog_groupposting_ranked" in plan
    assert "Sort" not in plan


@postgresql_only
def test_group_postings_follow_publications_views_cancellations_and_synonym_changes(corpus):
    kept = group_postings()
    assert kept == group_postings_afresh()
    assert any(key.startswith("社会保险|社保#") for key, _documents in kept[1])

    food = Implementation.objects.get(entry__name="食品经营许可")
    payload = services.implementation_payload(food)
    payload["acceptance_conditions"] = "申请人应当参加社会保险。"
    publish(action=ChangeAction.CHANGE, target=ChangeTarget.IMPLEMENTATION, implementation=food, payload=payload)
    publish(
        action=ChangeAction.CANCEL,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=Implementation.objects.get(entry__name="社会保险登记"),
    )
    Implementation.objects.filter(pk=food.pk).update(view_count=70)
    search.search_popularity_move()
    search.search_synonym_upsert(term="养老", expansion="养老保险")
    search.search_synonym_upsert(term="社保", expansion="社会保障")  # changed: the old key goes
    SearchSynonym.objects.filter(term="驾照").delete()
    moved = group_postings()

    assert moved != kept
    assert not any(key.startswith("社会保险|社保#") for key, _documents in moved[1])
    assert not any(key.startswith("机动车驾驶证|驾照#") for key, _documents in moved[1])
    assert any(key.startswith("养老|养老保险#") for key, _documents in moved[1])
    assert {popularity for document, *_rest, popularity, _name in moved[0] if document == food.pk} == {7}
    assert moved == group_postings_afresh()
    search.search_words_recount()
    assert group_postings() == moved


@postgresql_only
def test_a_synonym_committed_while_another_change_waits_keeps_its_group_postings(transactional_db, corpus):
    """The second change reads the synonyms once the first has committed (under the words'
    lock), so it does not take the first one's key for a key no synonym gives."""

    failed = []

    def other_change():
        try:
            search.search_synonym_upsert(term="养老", expansion="养老保险")
        except Exception as error:  # noqa: BLE001 - reported by the test below
            failed.append(error)
        finally:
            connection.close()

    def waiting_on_a_lock():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # read afresh within the transaction
            cursor.execute(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0

    with transaction.atomic():
        search.search_synonym_upsert(term="婚姻", expansion="结婚 离婚")  # holds the words' lock
        other = threading.Thread(target=other_change)
        other.start()
        deadline = time.monotonic() + 20
        while not waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting_on_a_lock(), failed
    other.join(20)
    assert not failed

    kept = group_postings()
    assert any(key.startswith("婚姻|离婚|结婚#") for key, _documents in kept[1])
    assert kept == group_postings_afresh()


@postgresql_only
def test_a_reindex_drops_the_keys_no_synonym_gives(corpus):
    with connection.cursor() as cursor:  # the rows of an earlier segmentation's key
        cursor.execute(search.group_postings_insert_sql("true"), [["社保|社会#社保"]])
    search.search_words_recount()
    assert SearchWord.objects.filter(word="社保|社会#社保").exists()

    search.search_index_rebuild()

    assert not SearchGroupPosting.objects.filter(words="社保|社会#社保").exists()
    assert not SearchWord.objects.filter(word="社保|社会#社保").exists()
    assert group_postings() == group_postings_afresh()


@postgresql_only
def test_the_migration_writes_the_group_postings_the_search_writes(corpus):
    migration = importlib.import_module("govhall.catalog.migrations.0011_search_group_postings")
    kept = group_postings()
    SearchGroupPosting.objects.all().delete()
    SearchWord.objects.filter(word__contains="#").delete()

    with connection.cursor() as cursor:
        cursor.execute(migration.INSERT, [search.group_keys_current()])
        cursor.execute(migration.COUNT)

    assert len(kept[0]) > 20
    assert group_postings() == kept


@postgresql_only
def test_each_words_number_of_documents_moves_with_publications(corpus):
    def kept():
        return dict(SearchWord.objects.exclude(documents=0).values_list("word", "documents"))

    food = Implementation.objects.get(entry__name="食品经营许可")
    payload = services.implementation_payload(food)
    payload["acceptance_conditions"] = "具有冷链运输设备。"
    publish(action=ChangeAction.CHANGE, target=ChangeTarget.IMPLEMENTATION, implementation=food, payload=payload)
    publish(
        action=ChangeAction.CANCEL,
        target=ChangeTarget.IMPLEMENTATION,
        implementation=Implementation.objects.get(entry__name="结婚登记"),
    )
    moved = kept()

    search.search_words_recount()

    assert moved == kept()
    assert moved["冷链"] == 1
    documents = SearchDocument.objects.all()
    words = [
        " ".join([d.name_tokens, d.result_theme_tokens, d.department_material_tokens, d.condition_basis_tokens]).split()
        for d in documents
    ]
    assert moved["登记"] == sum(1 for held in words if "登记" in held) > 10


@postgresql_only
def test_a_word_whose_number_was_not_kept_is_counted_from_its_postings(corpus):
    kept = answer("登记", page_size=5), answer("登记", page=200, page_size=5)
    SearchWord.objects.all().delete()

    assert (answer("登记", page_size=5), answer("登记", page=200, page_size=5)) == kept
    assert kept[0][1] == kept[1][1] > 10


@postgresql_only
def test_the_migration_writes_the_postings_the_search_writes(corpus):
    migration = importlib.import_module("govhall.catalog.migrations.0008_search_postings")
    columns = ("document_id", "word", "in_name", "score", "popularity", "sort_name")
    written = set(SearchPosting.objects.values_list(*columns))
    SearchPosting.objects.all().delete()

    with connection.cursor() as cursor:
        cursor.execute(migration.POSTINGS, [migration.POSTING_WORD])

    assert migration.POSTING_WORD == search.POSTING_WORD.pattern
    assert len(written) > 1000
    assert set(SearchPosting.objects.values_list(*columns)) == written
    counted = importlib.import_module("govhall.catalog.migrations.0009_search_words")
    words = SearchWord.objects.exclude(word__contains="#")  # the group postings' keys: ADR 18
    kept = set(words.values_list("word", "documents"))
    SearchWord.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(counted.COUNT)
    assert set(words.values_list("word", "documents")) == kept


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index of the words is PostgreSQL's")
def test_the_match_is_the_expression_the_words_index_holds():
    # Were the two to differ, every search would read and parse every document's texts.
    publish_item("普通护照签发")
    query = search._PostgresqlQuery(["护照"], [["护照"]])
    match = query.match()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM {query.table} WHERE {match.text}", match.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "catalog_searchdocument_words_gin" in plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's tsquery")
def test_words_written_into_the_sql_mean_what_a_parameter_would():
    # The words are literals (a parameter gets PostgreSQL's slower generic plan once psycopg
    # prepares the statement); quoting must not change what they say.
    query = search._PostgresqlQuery(["护照", "签发"], [["护照"], ["普通", "护照"]])
    assert query.match().params == []
    assert query.columns().params == []
    value = "'it''s' & ('100%' | '护照':A)"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {search._tsquery_sql(value)}::text, to_tsquery('simple', %s)::text", [value])
        literal, parameter = cursor.fetchone()

    assert literal == parameter


# --- Filters ----------------------------------------------------------------------------------


def test_region_filter_keeps_the_region_and_the_regions_above_it():
    entry = make_entry(name="食品经营许可", themes=[], description="")
    codes = [PROVINCE, HANGZHOU, XIHU, YUHANG, NINGBO, HAISHU]
    for code in codes:
        publish_item("", entry=entry, region_code=code)

    result = implementation_search(query="食品经营许可", region_code=XIHU)

    assert sorted(hit.implementation.region_id for hit in result.hits) == [PROVINCE, HANGZHOU, XIHU]
    assert result.total == 3


def test_unknown_region_finds_nothing_without_error():
    publish_item("食品经营许可")

    result = implementation_search(query="食品经营许可", region_code="999999")

    assert (result.total, result.hits) == (0, [])


def test_department_filter_keeps_that_department_only():
    publish_item("食品经营许可", kind="market")
    police = publish_item("食品安全违法线索举报", kind="police")

    result = implementation_search(query="食品", department_code=police.department.code)

    assert names(result) == ["食品安全违法线索举报"]


@pytest.mark.parametrize(("audience", "expected"), [("person", ["个人食品摊贩登记"]), ("company", ["食品生产许可"])])
def test_audience_filter_keeps_items_for_persons_or_for_companies(audience, expected):
    publish_item("个人食品摊贩登记", for_persons=True, for_companies=False)
    publish_item("食品生产许可", for_persons=False, for_companies=True)

    assert names(implementation_search(query="食品", audience=audience)) == expected


@pytest.mark.parametrize(
    ("badge", "expected"),
    [
        ("fully_online", ["食品经营许可"]),
        ("zero_visit", ["食品经营许可"]),
        ("at_most_one_visit", ["食品经营许可", "食品生产许可"]),
        ("2", ["食品经营许可", "食品生产许可"]),
        ("5", ["食品经营许可"]),
    ],
)
def test_badge_filter_keeps_items_with_that_online_depth(badge, expected):
    publish_item("食品经营许可", site_visits=0, online_depth="123456")
    publish_item("食品生产许可", site_visits=1, online_depth="12")
    publish_item("食品小作坊登记", site_visits=2, online_depth="1")

    assert sorted(names(implementation_search(query="食品", badge=badge))) == sorted(expected)


def test_theme_filter_keeps_items_of_that_theme():
    themes_publish()
    publish_item("食品经营许可", themes=["kaiban"])
    publish_item("食品生产许可", themes=[])

    assert names(implementation_search(query="食品", theme_code="kaiban")) == ["食品经营许可"]


def test_kind_filter_keeps_items_of_that_kind():
    publish_item("食品经营许可")
    other = make_entry(name="食品安全投诉举报", kind="public_service", themes=[], description="")
    publish_item("", entry=other)

    assert names(implementation_search(query="食品", kind="public_service")) == ["食品安全投诉举报"]


# --- Synonyms ---------------------------------------------------------------------------------


def test_synonym_edited_takes_effect_without_reindexing():
    publish_item("机动车驾驶证换证", kind="police")
    publish_item("往来港澳通行证签发", kind="police")
    assert implementation_search(query="驾照").total == 0

    search.search_synonym_upsert(term="驾照", expansion="机动车驾驶证")
    assert names(implementation_search(query="我的驾照到期了")) == ["机动车驾驶证换证"]

    search.search_synonym_upsert(term="驾照", expansion="港澳通行证")
    assert names(implementation_search(query="驾照")) == ["往来港澳通行证签发"]


def test_synonyms_are_read_once_until_one_changes(transactional_db):
    # Committed, as between requests: the synonyms a search reads are kept by the process.
    publish_item("机动车驾驶证换证", kind="police")
    publish_item("往来港澳通行证签发", kind="police")
    search.search_synonym_upsert(term="驾照", expansion="机动车驾驶证")
    assert names(implementation_search(query="驾照")) == ["机动车驾驶证换证"]

    with CaptureQueriesContext(connection) as read:
        assert names(implementation_search(query="我的驾照")) == ["机动车驾驶证换证"]
    assert not [query for query in read.captured_queries if "catalog_searchsynonym" in query["sql"]]

    search.search_synonym_upsert(term="驾照", expansion="港澳通行证")
    assert names(implementation_search(query="驾照到期")) == ["往来港澳通行证签发"]


def test_synonym_term_is_matched_in_half_width_lower_case():
    publish_item("道路运输经营许可")
    search.search_synonym_upsert(term="ＥＴＣ卡", expansion="道路运输")

    assert names(implementation_search(query="办etc卡")) == ["道路运输经营许可"]


# --- What is in the index ---------------------------------------------------------------------


def test_cancelled_implementation_vanishes_once_the_cancel_change_is_approved():
    kept = publish_item("食品经营许可")
    cancelled = publish_item("食品生产许可")
    assert implementation_search(query="食品").total == 2

    publish(action=ChangeAction.CANCEL, target=ChangeTarget.IMPLEMENTATION, implementation=cancelled)

    result = implementation_search(query="食品")
    assert [hit.implementation.pk for hit in result.hits] == [kept.pk]
    assert result.total == 1


def test_implementations_of_a_cancelled_entry_vanish():
    kept = publish_item("食品经营许可")
    cancelled = publish_item("食品生产许可")

    publish(action=ChangeAction.CANCEL, target=ChangeTarget.ENTRY, entry=cancelled.entry)

    assert [hit.implementation.pk for hit in implementation_search(query="食品").hits] == [kept.pk]


def test_suspended_implementation_is_still_found():
    suspended = publish_item("食品经营许可")
    publish(action=ChangeAction.SUSPEND, target=ChangeTarget.IMPLEMENTATION, implementation=suspended)

    assert [hit.implementation.pk for hit in implementation_search(query="食品").hits] == [suspended.pk]


def test_changed_implementation_is_found_by_its_new_text():
    implementation = publish_item("食品经营许可", conditions="具有经营场所。")
    assert implementation_search(query="冷链").total == 0

    payload = services.implementation_payload(implementation)
    payload["acceptance_conditions"] = "具有冷链运输设备。"
    publish(
        action=ChangeAction.CHANGE, target=ChangeTarget.IMPLEMENTATION, implementation=implementation, payload=payload
    )

    assert names(implementation_search(query="冷链")) == ["食品经营许可"]


def test_search_reindex_rebuilds_stale_documents_and_leaves_out_the_cancelled():
    kept = publish_item("食品经营许可", conditions="具有经营场所。")
    publish_item("食品生产许可")
    cancelled = publish_item("药品经营许可证核发")
    publish(action=ChangeAction.CANCEL, target=ChangeTarget.IMPLEMENTATION, implementation=cancelled)
    # As after restoring a backup: the row changed behind the index's back.
    Implementation.objects.filter(pk=kept.pk).update(acceptance_conditions="具有冷链运输设备。")
    assert implementation_search(query="冷链").total == 0

    output = io.StringIO()
    call_command("search_reindex", batch_size=2, stdout=output)

    assert names(implementation_search(query="冷链")) == ["食品经营许可"]
    assert sorted(names(implementation_search(query="许可"))) == ["食品生产许可", "食品经营许可"]
    assert SearchDocument.objects.count() == 2
    assert "indexed 2 implementations" in output.getvalue()


# --- Highlighting -----------------------------------------------------------------------------


def test_name_is_escaped_and_matched_words_are_marked():
    publish_item("<script>alert(1)</script>食品经营许可")

    hit = implementation_search(query="食品 script").hits[0]

    assert isinstance(hit.name_highlighted, SafeString)
    assert hit.name_highlighted == (
        "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;<mark>食品</mark>经营许可"
    )


def test_snippet_shows_the_matching_material_marked_and_escaped():
    publish_item("企业设立登记", conditions="依法设立的企业。", materials=["公司章程<b>", "股东会决议"])

    hit = implementation_search(query="章程").hits[0]

    assert hit.snippet_highlighted == "公司<mark>章程</mark>&lt;b&gt;、股东会决议"
    assert hit.name_highlighted == "企业设立登记"


def test_snippet_of_long_conditions_is_cut_around_the_match():
    conditions = "甲" * 100 + "冷链运输" + "乙" * 100
    publish_item("食品经营许可", conditions=conditions)

    snippet = implementation_search(query="冷链").hits[0].snippet_highlighted

    assert snippet == "…" + "甲" * 16 + "<mark>冷链</mark>" + "运输" + "乙" * 60 + "…"


def test_full_width_words_are_found_and_marked_where_they_stand():
    publish_item("ＩＣＰ经营许可（增值电信业务）")

    hit = implementation_search(query="icp（增值").hits[0]

    assert hit.name_highlighted == "<mark>ＩＣＰ</mark>经营许可（<mark>增值</mark>电信业务）"


def _nfkc_lower(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def test_folding_is_nfkc_then_lower_case_for_every_character_and_mixed_text():
    # search._fold skips the full normalisation where narrowing the full-width forms is enough.
    characters = [chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF]
    assert [search._fold(character) for character in characters] == [_nfkc_lower(c) for c in characters]
    mixed = [
        "申请人提交的营业执照复印件，经审查符合条件的（复印件）予以许可。",
        "ＡＢＣ\u0301全角Ａ\u0301，ｶﾞ半角片假名",  # a full-width letter before a combining mark
        "Ⅻ号楼①室，ﬁ　空格",  # compatibility characters beyond the full-width forms
        "e\u0301\u3000ｅ\u0301",
        "ＩＣＰ经营许可（增值电信业务）",
    ]
    for text in mixed:
        assert search._fold(text) == _nfkc_lower(text), text


# --- Odd queries ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "'",
        '"',
        "食品' OR 1=1 --",
        '食品" OR "*',
        "食品*",
        "食品:许可",
        "name_tokens : 食品",
        "食品 & 许可 | !经营",
        "(食品) NEAR(许可)",
        "食品 AND 许可 OR NOT 经营",
        "\\食品\\",
        "食品; DROP TABLE catalog_implementation;",
        "%_食品%",
        "^食品 -许可 +经营 {name}",
    ],
)
def test_query_with_sql_or_full_text_syntax_finds_words_without_error(query):
    publish_item("食品经营许可")

    result = implementation_search(query=query)

    assert result.total in (0, 1)
    if "食品" in query:
        assert names(result) == ["食品经营许可"]


@pytest.mark.parametrize("query", ["", "   ", "？！。，", "!!!", "*", "::"])
def test_empty_or_punctuation_query_finds_nothing_and_suggests_themes(query):
    themes_publish()
    publish_item("食品经营许可")

    result = implementation_search(query=query)

    assert (result.total, result.hits, result.tokens) == (0, [], [])
    assert [theme.code for theme in result.suggested_themes] == [code for code, _name, _audience in THEMES]


def test_query_finding_nothing_suggests_themes_for_the_audience():
    themes_publish()
    publish_item("食品经营许可")

    result = implementation_search(query="宇宙飞船", audience="person")

    assert result.total == 0
    assert [theme.code for theme in result.suggested_themes] == ["chusheng", "hunyin", "jiuye", "zhufang", "jiuzhu"]


def test_long_query_is_cut_and_its_tokens_capped():
    publish_item("食品经营许可")

    result = implementation_search(query="食品经营许可证怎么办理需要什么材料" * 20 + "结婚")

    assert len(result.tokens) <= search.QUERY_MAX_TOKENS
    assert "结婚" not in result.tokens
    assert names(result) == ["食品经营许可"]


# --- Paging and cost --------------------------------------------------------------------------


def test_page_beyond_the_end_has_no_hits_but_the_total():
    for name in ("食品经营许可", "食品生产许可", "食品小作坊登记"):
        publish_item(name)

    assert len(implementation_search(query="食品", page=2, page_size=2).hits) == 1
    result = implementation_search(query="食品", page=3, page_size=2)

    assert (result.total, result.hits, result.page) == (3, [], 3)


def search_query_count(**filters):
    with CaptureQueriesContext(connection) as captured:
        result = implementation_search(query="食品", **filters)
    return len(captured), len(result.hits)


def test_number_of_queries_does_not_grow_with_the_number_of_hits():
    themes_publish()
    regions = [XIHU, YUHANG, HANGZHOU]
    for region in regions:
        publish_item(f"食品经营许可{region}", region_code=region, themes=["kaiban"])
    few = search_query_count(region_code=XIHU, theme_code="kaiban")
    unfiltered_few = search_query_count()

    for index in range(8):
        publish_item(f"食品生产许可{index}", region_code=XIHU, themes=["kaiban"])
    many = search_query_count(region_code=XIHU, theme_code="kaiban")
    unfiltered_many = search_query_count()

    assert few[1] < many[1]
    assert few[0] == many[0]
    assert unfiltered_few[1] < unfiltered_many[1]
    assert unfiltered_few[0] == unfiltered_many[0] == 3


# Names as the demo catalogue (govhall/catalog/demo_data/catalogue.json) spells them.
DEMO_QUALITY_QUERIES = {
    "开公司": "公司设立登记",
    "办身份证": "居民身份证换领",
    "食品许可": "食品经营许可",
    "出生证": "出生医学证明办理",
    "社保卡": "社会保障卡申领",
    "个体户": "个体工商户设立登记",
    "规划许可": "建设工程规划许可证核发",
    "结婚": "结婚登记",
    "公积金": "住房公积金提取",
    "失业金": "失业保险金申领",
    "低保": "最低生活保障金给付",
    "生孩子": "出生医学证明办理",
    "驾照": "机动车驾驶证换证",
    "上户口": "出生登记",
    "孩子上学": "义务教育招生入学",
}


def test_colloquial_queries_find_their_item_among_the_first_three_of_the_demo_catalogue():
    demo_load()
    misses = {}
    for query, expected in DEMO_QUALITY_QUERIES.items():
        # What a 西湖区 resident sees; one item is carried out at several levels, so count items.
        result = implementation_search(query=query, region_code=XIHU, page_size=20)
        top_items = list(dict.fromkeys(names(result)))[:3]
        if expected not in top_items:
            misses[query] = top_items
    assert misses == {}


def test_synonym_typed_in_upper_case_in_the_admin_still_matches():
    publish_item("道路运输经营许可")
    SearchSynonym.objects.create(term="ETC", expansion="道路运输")

    assert names(implementation_search(query="办etc")) == ["道路运输经营许可"]


def test_a_repeated_query_is_answered_from_the_cache_until_a_publication():
    publish_item("食品经营许可")
    first = search_query_count()
    again = search_query_count()
    publish_item("食品经营许可变更")
    after = search_query_count()

    assert first[0] == 3  # synonyms (read in every transaction), one page of ids with the count, the rows
    assert again == (1, first[1])  # only the page's rows
    assert after == (3, 2)
