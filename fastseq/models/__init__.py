"""The book's models on fastseq's layers: word2vec models, language models and their generators.

The names are imported from their modules on first use, so that a script needing one model
(the book's ``common/base_model`` or ``ch07/seq2seq.py`` under the drop-in, say) does not
import the others.
"""
import importlib

_MODULE_OF = {"BaseModel": "base", "SimpleCBOW": "word2vec", "SimpleSkipGram": "word2vec", "CBOW": "word2vec",
              "SkipGram": "word2vec", "SimpleRnnlm": "rnnlm", "Rnnlm": "rnnlm", "BetterRnnlm": "rnnlm",
              "RnnlmGen": "rnnlm", "BetterRnnlmGen": "rnnlm"}

__all__ = list(_MODULE_OF)


def __getattr__(name):
    """One of ``__all__``, imported from its module on first access."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
