"""Run an unmodified script written for the book's layout with fastseq's modules in its place.

    python -m fastseq.dropin [--lang ko|en] SCRIPT.py [args...]

The book's scripts import ``common.layers``, ``common.optimizer``, ``dataset.ptb`` and so on,
with the script's folder and its parent on ``sys.path``. This runner puts both folders on
``sys.path`` and serves fastseq's modules under the book's names (ahead of any ``common/``
folder on disk), then runs the script as ``__main__``. A module or name the script imports that
fastseq does not provide yet raises ``ImportError`` naming it.

The book's helpers print their lines in the script's edition's language (Korean when the book
tree beside the script is the Korean edition's, else English); ``--lang`` overrides it. Random
draws are the book's own calls on NumPy's global generator (dropout masks, negative samples), so
a seeded script prints the book's numbers; ``FASTSEQ_DRAWS=fast`` uses the kernels' faster
streams instead. The book tree's ``dataset/`` folder is searched for data after
``$FASTSEQ_DATA``.
"""
import importlib
import importlib.util
import io
import os
import sys
import types

from fastseq._draws import set_draws
from fastseq._lang import LANGUAGES, has_hangul, set_language
from fastseq.datasets import _files

# book module name -> fastseq module serving it
MODULES = {
    "common.layers": "fastseq.layers",
    "common.functions": "fastseq.functions",
    "common.optimizer": "fastseq.optimizers",
    "common.trainer": "fastseq.trainer",
    "common.util": "fastseq.util",
    "dataset.ptb": "fastseq.datasets.ptb",
    "dataset.spiral": "fastseq.datasets.spiral",
    "dataset.sequence": "fastseq.datasets.sequence",
    "common.time_layers": "fastseq.layers.time_layers",
    "common.base_model": "fastseq.models.base",
    "simple_rnnlm": "fastseq.models",
    "ch05.simple_rnnlm": "fastseq.models",
    "rnnlm": "fastseq.models",
    "ch06.rnnlm": "fastseq.models",
    "better_rnnlm": "fastseq.models",
    "ch06.better_rnnlm": "fastseq.models",
    "rnnlm_gen": "fastseq.models",
    "ch07.rnnlm_gen": "fastseq.models",
    "seq2seq": "fastseq.models.seq2seq",
    "ch07.seq2seq": "fastseq.models.seq2seq",
    "peeky_seq2seq": "fastseq.models.seq2seq",
    "ch07.peeky_seq2seq": "fastseq.models.seq2seq",
    "attention_layer": "fastseq.layers.attention",
    "ch08.attention_layer": "fastseq.layers.attention",
    "attention_seq2seq": "fastseq.models.seq2seq",
    "ch08.attention_seq2seq": "fastseq.models.seq2seq",
    "negative_sampling_layer": "fastseq.layers.negative_sampling",
    "ch04.negative_sampling_layer": "fastseq.layers.negative_sampling",
    "simple_cbow": "fastseq.models.word2vec",
    "ch03.simple_cbow": "fastseq.models.word2vec",
    "simple_skip_gram": "fastseq.models.word2vec",
    "ch03.simple_skip_gram": "fastseq.models.word2vec",
    "cbow": "fastseq.models.word2vec",
    "ch04.cbow": "fastseq.models.word2vec",
    "skip_gram": "fastseq.models.word2vec",
    "ch04.skip_gram": "fastseq.models.word2vec",
}
PACKAGES = ("common", "dataset", "ch03", "ch04", "ch05", "ch06", "ch07", "ch08")


class _ServedModule(types.ModuleType):
    """A module under the book's name whose attributes come from a fastseq module."""

    def __init__(self, name, target):
        super().__init__(name)
        self.__dict__["_target"] = target
        self.__all__ = list(getattr(target, "__all__",
                                    [n for n in vars(target) if not n.startswith("_")]))

    def __getattr__(self, attr):
        target = self.__dict__["_target"]
        try:
            return getattr(target, attr)
        except AttributeError:
            if attr.startswith("__"):
                raise
            raise ImportError(f"fastseq.dropin: the script uses {self.__name__}.{attr}, which fastseq "
                              f"does not provide (served from {target.__name__})") from None


def _config_module():
    module = types.ModuleType("common.config")
    module.GPU = False
    return module


def _np_module():
    import numpy
    module = types.ModuleType("common.np")
    module.np = numpy
    module.__all__ = ["np"]
    return module


class _Finder:
    """Answers imports of the book's module names before the normal path search: a meta path
    finder and its modules' loader (without ``importlib.abc``'s base classes, whose import costs
    a millisecond that the book's shortest scripts notice)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in PACKAGES or fullname in MODULES or fullname in ("common.config", "common.np"):
            return importlib.util.spec_from_loader(fullname, self, is_package=fullname in PACKAGES)
        if fullname.split(".")[0] in ("common", "dataset"):
            raise ImportError(f"fastseq.dropin: the script imports {fullname}, which fastseq does not provide")
        return None

    def create_module(self, spec):
        name = spec.name
        if name in PACKAGES:
            module = types.ModuleType(name)
            module.__path__ = []
            return module
        if name == "common.config":
            return _config_module()
        if name == "common.np":
            return _np_module()
        return _ServedModule(name, importlib.import_module(MODULES[name]))

    def exec_module(self, module):
        pass


def install():
    """Serve fastseq under the book's module names in this process (idempotent)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


def book_tree(script):
    """The book tree a script belongs to: the first of its folder and that folder's parent that
    holds ``common/`` or ``dataset/``, else None."""
    folder = os.path.dirname(os.path.abspath(script))
    for d in (folder, os.path.dirname(folder)):
        if os.path.isdir(os.path.join(d, "common")) or os.path.isdir(os.path.join(d, "dataset")):
            return d
    return None


def detect_language(script):
    """"ko" when the script's edition is the Korean one, else "en": the book tree's
    ``common/trainer.py`` (else the script itself) is read, and Hangul in it means Korean."""
    tree = book_tree(script)
    candidates = [os.path.join(tree, "common", "trainer.py")] if tree else []
    candidates.append(script)
    for path in candidates:
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            return "ko" if has_hangul(text) else "en"
    return "en"


def _run_as_main(script):
    """Run the file ``script`` as Python runs a script: its code in a fresh module named
    ``__main__`` (so that what it pickles refers to ``__main__``), the previous ``__main__`` put
    back afterwards. ``runpy.run_path`` does the same, and imports ``pkgutil`` to do it."""
    with io.open_code(script) as f:
        code = compile(f.read(), script, "exec")
    module = types.ModuleType("__main__")
    module.__file__, module.__cached__, module.__loader__ = script, None, None
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        if previous is None:
            sys.modules.pop("__main__", None)
        else:
            sys.modules["__main__"] = previous


def run(script, args=(), lang=None):
    """Run ``script`` as ``__main__`` with ``args`` as its ``sys.argv[1:]`` and fastseq served.

    ``lang`` ("ko"/"en") sets the language of the book's printed lines; None detects the
    script's edition (``detect_language``). The book tree's ``dataset/`` folder joins the
    places the data loaders search (after ``$FASTSEQ_DATA``)."""
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"fastseq.dropin: no script {script}")
    folder = os.path.dirname(script)
    set_language(lang or detect_language(script))
    set_draws(os.environ.get("FASTSEQ_DRAWS") or "book")
    tree = book_tree(script)
    if tree and os.path.isdir(os.path.join(tree, "dataset")):
        _files.flat_dirs.append(os.path.join(tree, "dataset"))
    install()
    sys.argv = [script, *args]
    for p in (os.path.dirname(folder), folder):
        if p not in sys.path:
            sys.path.insert(0, p)
    _run_as_main(script)


def main(argv=None):
    """Command line: ``python -m fastseq.dropin [--lang ko|en] SCRIPT.py [args...]``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = None
    if argv and (argv[0] == "--lang" or argv[0].startswith("--lang=")):
        if "=" in argv[0]:
            lang, argv = argv[0].split("=", 1)[1], argv[1:]
        else:
            lang, argv = (argv[1] if len(argv) > 1 else ""), argv[2:]
        if lang not in LANGUAGES:
            print(f"fastseq.dropin: --lang must be one of {', '.join(LANGUAGES)}, got {lang!r}",
                  file=sys.stderr)
            return 2
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    try:
        run(argv[0], argv[1:], lang=lang)
    except FileNotFoundError as exc:
        if str(exc).startswith("fastseq.dropin"):
            print(exc, file=sys.stderr)
            return 2
        raise
    except ImportError as exc:
        if str(exc).startswith("fastseq.dropin"):
            print(exc, file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
