"""Word segmentation for the search index and queries: jieba's algorithm over a compact,
memory-mapped dictionary.

jieba keeps its dictionary as a Python dict of about 580,000 words and prefixes: some 60 MB in
every web worker, rebuilt from a cache file in about a second at start. Here the same words and
frequencies (jieba's dictionary plus ``DOMAIN_WORDS``, added as ``add_word`` adds them) are
built once into a MARISA trie file, which each process maps read-only: a few MB, shared by the
page cache between workers, ready at once. ``CompactTokenizer`` is jieba's ``Tokenizer`` with
the dictionary look-ups served by the trie; its cuts are identical (the tests compare them on
the demo catalogue). This module imports no Django, so that the file can be
built in a child process (``python -m govhall.catalog.segmentation PATH``) whose memory goes
back to the system when it exits.
"""

import array
import hashlib
import logging
import mmap
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import jieba
import marisa_trie

# Catalogue words jieba's general dictionary does not know as one word. Added once per process
# from this fixed list (not from the database) so that segmentation is the same in every process
# and at every time, which index and query depend on.
DOMAIN_WORDS = (
    "居民身份证",
    "临时居民身份证",
    "社会保障卡",
    "社保卡",
    "个体工商户",
    "个体户",
    "营业执照",
    "住房公积金",
    "公积金",
    "失业保险金",
    "失业金",
    "最低生活保障",
    "低保",
    "特困人员",
    "临时救助",
    "出生医学证明",
    "出生证",
    "出生登记",
    "生育登记",
    "规划许可证",
    "建设工程规划许可证",
    "建设用地规划许可证",
    "施工许可证",
    "建筑工程施工许可证",
    "食品经营许可",
    "食品经营许可证",
    "食品生产许可",
    "食品生产许可证",
    "药品经营许可证",
    "卫生许可证",
    "结婚登记",
    "离婚登记",
    "婚姻登记",
    "设立登记",
    "注销登记",
    "变更登记",
    "不动产登记",
    "不动产权证书",
    "户口迁移",
    "居住证",
    "机动车驾驶证",
    "驾驶证",
    "行驶证",
    "往来港澳通行证",
    "往来台湾通行证",
    "普通护照",
    "残疾人证",
    "老年人优待证",
    "无犯罪记录证明",
    "基本养老保险",
    "基本医疗保险",
    "工伤认定",
    "生育保险",
    "生育津贴",
    "养老金",
    "统一社会信用代码",
    "换领",
    "补领",
    "申领",
    "换证",
    "核发",
    "挂失",
    "网约车",
)


def dictionary_fingerprint() -> str:
    """Changes with jieba's version, its dictionary file and the domain words (and this file's
    format: ``_FORMAT_VERSION``)."""
    dictionary = Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
    parts = [str(_FORMAT_VERSION), jieba.__version__, *DOMAIN_WORDS]
    if dictionary.exists():
        stat = dictionary.stat()
        parts += [str(stat.st_size), str(int(stat.st_mtime))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


_FORMAT_VERSION = 2
_HEADER = 2  # the frequency file starts with the sum of frequencies and the longest word's length


def _write_atomically(path: Path, write: Any) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(handle)
    write(temporary)
    os.replace(temporary, path)


def dictionary_build(path: Path) -> None:
    """jieba's dictionary with the domain words: the words as a trie file (``path``) and their
    frequencies by the trie's key ids (``path`` + ``.freq``, 64-bit integers after a header)."""
    stock = _stock()
    words = {word: freq for word, freq in stock.FREQ.items() if freq}
    trie = marisa_trie.Trie(list(words))
    frequencies = array.array("Q", bytes(8 * (_HEADER + len(words))))
    frequencies[0], frequencies[1] = int(stock.total), max(len(word) for word in words)
    for word, freq in words.items():
        frequencies[_HEADER + trie.key_id(word)] = int(freq)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(_frequencies_path(path), lambda name: Path(name).write_bytes(frequencies.tobytes()))
    _write_atomically(path, trie.save)  # last: its presence says both are there


def _frequencies_path(path: Path) -> Path:
    return path.with_name(path.name + ".freq")


class _Frequencies:
    """What jieba reads of its ``FREQ`` dict outside ``get_DAG``: ``get(word)``, a frequency or
    None (jieba's dict answers 0 for a prefix that is no word; every caller treats both alike)."""

    def __init__(self, trie: marisa_trie.Trie, frequencies: Any) -> None:
        self.trie = trie
        self.frequencies = frequencies

    def get(self, key: str, default: Any = None) -> Any:
        key_id = self.trie.get(key)
        return default if key_id is None else self.frequencies[_HEADER + key_id]

    def __contains__(self, key: str) -> bool:
        return key in self.trie

    def __getitem__(self, key: str) -> int:
        key_id = self.trie.get(key)
        if key_id is None:
            raise KeyError(key)
        return int(self.frequencies[_HEADER + key_id])


class CompactTokenizer(jieba.Tokenizer):  # type: ignore[misc]
    def __init__(self, trie: marisa_trie.Trie, frequencies: Any) -> None:
        super().__init__()
        self.trie = trie
        self.FREQ = _Frequencies(trie, frequencies)
        self.total = int(frequencies[0])
        self.longest = int(frequencies[1])
        self.initialized = True

    def get_DAG(self, sentence: str) -> dict[int, list[int]]:
        """For each position, the ends of the dictionary words starting there (or the position
        itself): jieba walks prefixes in its dict; the trie lists them at once."""
        prefixes, longest = self.trie.iter_prefixes, self.longest
        dag = {}
        for start in range(len(sentence)):
            ends = [start + len(word) - 1 for word in prefixes(sentence[start : start + longest])]
            dag[start] = ends or [start]
        return dag

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        raise NotImplementedError("the compact dictionary is fixed: add words to DOMAIN_WORDS")


_tokenizer: jieba.Tokenizer | None = None
_lock = threading.Lock()
logger = logging.getLogger(__name__)


def segmenter(cache_dir: Path) -> jieba.Tokenizer:
    """The process's tokenizer: the compact one, its files built (in a child process) when
    missing; jieba's own, with the domain words, when they cannot be (a read-only directory):
    the same cuts, at jieba's memory cost."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                try:
                    _tokenizer = _compact(cache_dir)
                except (OSError, subprocess.CalledProcessError) as error:
                    logger.warning("compact dictionary unavailable (%s); loading jieba's own", error)
                    _tokenizer = _stock()
    return _tokenizer


def _compact(cache_dir: Path) -> CompactTokenizer:
    path = cache_dir / f"jieba-{dictionary_fingerprint()}.marisa"
    if not path.exists():
        subprocess.run(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "govhall.catalog.segmentation", str(path)], check=True
        )
    trie = marisa_trie.Trie()
    trie.mmap(str(path))
    with _frequencies_path(path).open("rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    return CompactTokenizer(trie, memoryview(mapped).cast("Q"))


def _stock() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in DOMAIN_WORDS:
        tokenizer.add_word(word)
    return tokenizer


if __name__ == "__main__":
    dictionary_build(Path(sys.argv[1]))
