"""The words the book's helpers print, in the edition's language.

The Korean edition (밑바닥부터 시작하는 딥러닝 2) prints ``| 에폭 1 |  반복 1 / 10 | ...``; the
original prints ``| epoch 1 |  iter 1 / 10 | ...``. fastseq's book-facing helpers (the
trainers, ``most_similar``/``analogy``, ``ppmi(verbose=True)``, ``eval_perplexity``) print the
phrases of the language set here: English by default, ``FASTSEQ_LANG=ko`` or
``set_language("ko")`` for Korean. The drop-in runner sets it from the script's edition.
"""
from fastseq._settings import ProcessSetting

LANGUAGES = ("en", "ko")

_PHRASES = {
    "en": {
        "progress": "| epoch %d |  iter %d / %d | time %d[s] | %s %.2f",
        "loss": "loss",
        "perplexity": "perplexity",
        "iterations": "iterations (x%s)",
        "not_found": "%s is not found",
        "percent_done": "%.1f%% done",
        "evaluating_perplexity": "evaluating perplexity ...",
    },
    "ko": {
        "progress": "| 에폭 %d |  반복 %d / %d | 시간 %d[s] | %s %.2f",
        "loss": "손실",
        "perplexity": "퍼플렉서티",
        "iterations": "반복 (x%s)",
        "not_found": "%s(을)를 찾을 수 없습니다.",
        "percent_done": "%.1f%% 완료",
        "evaluating_perplexity": "퍼플렉서티 평가 중 ...",
    },
}

_LANGUAGE = ProcessSetting("FASTSEQ_LANG", LANGUAGES, "en")


def get_language():
    """The language of printed phrases now: "en" or "ko"."""
    return _LANGUAGE.get()


def set_language(lang):
    """Print the book's phrases in ``lang`` ("en" or "ko") from now on, process-wide."""
    _LANGUAGE.set(lang, "set_language")


def has_hangul(text):
    """True when ``text`` holds a Hangul syllable (U+AC00-U+D7A3), the letters Korean is written in."""
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def phrase(key, lang=None):
    """The phrase ``key`` (a %-format string) in ``lang`` (default: the current language)."""
    return _PHRASES[lang or get_language()][key]
