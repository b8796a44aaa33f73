"""The compact dictionary cuts text exactly as jieba's own dictionary with the domain words does
(the index and the queries depend on it), and maps instead of loading."""

import json
import logging
from pathlib import Path

import jieba
import pytest

from govhall.catalog import segmentation
from govhall.catalog.search import text_tokens

DEMO = Path(segmentation.__file__).parent / "demo_data" / "catalogue.json"


def _texts() -> list[str]:
    """Every string of the demo catalogue (names, conditions, materials, guides) and queries."""
    found: list[str] = []

    def walk(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(DEMO.read_text(encoding="utf-8")))
    queries = ["我想开个公司怎么办", "社保卡丢了补办", "食品经营许可证延续", "护照", "低保申请条件", "ｗｗｗ１２３"]
    return [*found, *queries]


@pytest.fixture(scope="module")
def stock():
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in segmentation.DOMAIN_WORDS:
        tokenizer.add_word(word)
    return tokenizer


def test_compact_cuts_equal_jiebas_on_the_demo_catalogue(stock, tmp_path):
    path = tmp_path / "dictionary.marisa"
    segmentation.dictionary_build(path)
    trie = segmentation.marisa_trie.Trie()
    trie.load(str(path))
    compact = segmentation.CompactTokenizer(
        trie, memoryview(path.with_name(path.name + ".freq").read_bytes()).cast("Q")
    )

    texts = _texts()
    assert len(texts) > 500
    for text in texts:
        assert list(compact.cut_for_search(text)) == list(stock.cut_for_search(text)), text
        assert list(compact.cut(text, HMM=False)) == list(stock.cut(text, HMM=False)), text
    assert compact.total == stock.total


def test_the_process_segmenter_maps_the_file_and_refuses_new_words(settings):
    tokenizer = segmentation.segmenter(settings.VAR_DIR)
    assert (settings.VAR_DIR / f"jieba-{segmentation.dictionary_fingerprint()}.marisa").exists()
    assert "社会保障卡" in text_tokens("申领社会保障卡")
    with pytest.raises(NotImplementedError):
        tokenizer.add_word("新词")


def test_without_a_usable_directory_jiebas_own_dictionary_cuts_the_same(stock, tmp_path, monkeypatch):
    monkeypatch.setattr(segmentation, "_tokenizer", None)
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("")  # nothing can be written under it, whoever runs the tests
    tokenizer = segmentation.segmenter(not_a_directory / "dictionary")
    assert not isinstance(tokenizer, segmentation.CompactTokenizer)
    text = "申领社会保障卡和食品经营许可证"
    assert list(tokenizer.cut_for_search(text)) == list(stock.cut_for_search(text))
