"""Run an unmodified script written for the book's layout with fastseq's modules in its place.

    python -m fastseq.dropin SCRIPT.py [args...]

The book's scripts import ``common.layers``, ``common.optimizer``, ``dataset.ptb`` and so on,
with the script's folder and its parent on ``sys.path``. This runner puts both folders on
``sys.path`` and serves fastseq's modules under the book's names (ahead of any ``common/``
folder on disk), then runs the script as ``__main__``. A module or name the script imports that
fastseq does not provide yet raises ``ImportError`` naming it.
"""
import importlib
import importlib.abc
import importlib.util
import os
import runpy
import sys
import types

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


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers imports of the book's module names before the normal path search."""

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


def run(script, args=()):
    """Run ``script`` as ``__main__`` with ``args`` as its ``sys.argv[1:]`` and fastseq served."""
    script = os.path.abspath(script)
    if not os.path.isfile(script):
        raise FileNotFoundError(f"fastseq.dropin: no script {script}")
    folder = os.path.dirname(script)
    install()
    sys.argv = [script, *args]
    for p in (os.path.dirname(folder), folder):
        if p not in sys.path:
            sys.path.insert(0, p)
    runpy.run_path(script, run_name="__main__")


def main(argv=None):
    """Command line: ``python -m fastseq.dropin SCRIPT.py [args...]``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    try:
        run(argv[0], argv[1:])
    except ImportError as exc:
        if str(exc).startswith("fastseq.dropin"):
            print(exc, file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
