import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastseq import dropin

BOOK_SCRIPT = """
import sys
sys.path.append('..')
import numpy as np
from common.layers import *
from common.optimizer import SGD
from common.trainer import Trainer
from common.util import preprocess
from common.np import np as cnp
from common import config
from dataset import spiral
import common.layers

assert SoftmaxWithLoss.__module__ == 'fastseq.layers.core', SoftmaxWithLoss.__module__
assert cnp is np and config.GPU is False
corpus, w2i, i2w = preprocess('you say goodbye and i say hello.')
x, t = spiral.load_data()
W = 0.01 * np.random.randn(2, 3)
layer = Affine(W, np.zeros(3))
loss = SoftmaxWithLoss().forward(layer.forward(x), t)
print('ARGS', sys.argv[1:], 'LOSS %.4f' % loss, len(w2i))
"""


def _run(tmp_path, source, *args):
    chapter = tmp_path / "ch01"
    chapter.mkdir(exist_ok=True)
    script = chapter / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run([sys.executable, "-m", "fastseq.dropin", str(script), *args],
                          cwd=chapter, capture_output=True, text=True, timeout=300)


def test_book_style_script_runs_on_fastseq(tmp_path):
    done = _run(tmp_path, BOOK_SCRIPT, "--flag", "3")
    assert done.returncode == 0, done.stderr
    words = done.stdout.split()
    assert done.stdout.startswith("ARGS ['--flag', '3'] LOSS") and words[-1] == "7"
    assert abs(float(words[-2]) - np.log(3)) < 0.05  # near-uniform softmax over 3 classes



AVOIDABLE = "sorted(m for m in ('hashlib', 'threading', 'pkgutil') if m in sys.modules)"
CLASSES_ONLY = f"""
import sys
sys.path.append('..')
from common.time_layers import *
from common.base_model import BaseModel
from seq2seq import Seq2seq
from rnnlm_gen import RnnlmGen
print({AVOIDABLE})
Seq2seq(13, 16, 32)
print(sorted(m for m in sys.modules if m.startswith('fastseq.reference.')))
"""


def test_serving_the_book_imports_no_more_than_it_needs(tmp_path):
    """The book's scripts that only define classes do nothing but import, and a reader's run of
    them imports hashlib and threading only where NumPy's own import does: the drop-in must not
    add them (the data loaders import hashlib when they check a file, the split products
    threading when they start a helper). The fast layers and models take their compositions
    from ``fastseq._composite`` and never import the reference twins' layers, and the script
    runs without ``runpy.run_path`` (which imports pkgutil)."""
    done = _run(tmp_path, CLASSES_ONLY)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    # NumPy's own import brings some of them on some Pythons (threading on 3.10)
    numpy_alone = subprocess.run([sys.executable, "-c", f"import sys, numpy; print({AVOIDABLE})"],
                                 capture_output=True, text=True, timeout=120)
    assert first == numpy_alone.stdout.strip()
    assert second == "['fastseq.reference.models', 'fastseq.reference.seq2seq', 'fastseq.reference.util']"


def test_the_script_runs_as_main_and_the_previous_main_comes_back(tmp_path):
    script = tmp_path / "main.py"
    script.write_text("# coding: utf-8\nimport builtins, sys\nclass Thing: pass\n"
                      "builtins._fastseq_seen = (__name__, __file__, sys.modules['__main__'].Thing is Thing, '한')\n")
    before = sys.modules["__main__"]
    dropin._run_as_main(str(script))
    assert sys.modules["__main__"] is before
    import builtins
    assert builtins.__dict__.pop("_fastseq_seen") == ("__main__", str(script), True, "한")


IMPORTS_ONLY = """
import sys
import numpy as np
sys.path.append('..')
from common.layers import *
from common.time_layers import *
from common.base_model import BaseModel
from common.optimizer import Adam
from common.trainer import Trainer, RnnlmTrainer
from common.util import eval_seq2seq, preprocess
from dataset import sequence, ptb, spiral
from seq2seq import Seq2seq
from rnnlm_gen import RnnlmGen
model = Seq2seq(13, 16, 32)
print('numba' in sys.modules, 'tqdm' in sys.modules)
Sigmoid().forward(np.zeros(3))
print('numba' in sys.modules)
from fastseq import numpy_kernels
Sigmoid().forward(np.zeros(numpy_kernels.credit + 1))
print('numba' in sys.modules)
"""


def test_a_script_that_runs_no_kernel_never_imports_numba(tmp_path):
    """Building models and importing the book's modules costs no numba start-up (about a second
    of a short script), nor does a call on a tiny array (fastseq.numpy_kernels); the first
    call too large for NumPy's start-up credit imports it. Nor do they import tqdm (20-50 ms),
    which only a drawn progress bar needs."""
    done = _run(tmp_path, IMPORTS_ONLY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "False", "True"]


TINY_TRAINING = """
import sys
import numpy as np
sys.path.append('..')
from common.layers import Affine, Sigmoid, SoftmaxWithLoss, Softmax
from common.optimizer import SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam
from common.functions import sigmoid, softmax
np.random.seed(0)
x, t = np.random.randn(30, 2), np.random.randint(0, 3, 30)
layers = [Affine(np.random.randn(2, 10), np.zeros(10)), Sigmoid(), Affine(np.random.randn(10, 3), np.zeros(3))]
params = [p for layer in layers for p in layer.params]
grads = [g for layer in layers for g in layer.grads]
for opt in (SGD(), Momentum(), Nesterov(), AdaGrad(), RMSprop(), Adam()):
    for _ in range(3):
        loss_layer = SoftmaxWithLoss()
        h = x
        for layer in layers:
            h = layer.forward(h)
        loss = loss_layer.forward(h, t)
        d = loss_layer.backward()
        for layer in reversed(layers):
            d = layer.backward(d)
        opt.update(params, grads)
s = Softmax()
s.forward(h)
s.backward(h)
sigmoid(h), softmax(h)
print(np.isfinite(loss), 'numba' in sys.modules)
"""


def test_tiny_training_with_every_optimizer_never_imports_numba(tmp_path):
    """The book's chapter-1 kind of training (every optimizer, softmax, sigmoid) on arrays below
    numpy_kernels.MAX_SIZE elements never starts numba."""
    done = _run(tmp_path, TINY_TRAINING)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


GENERATION = """
import sys
import numpy as np
sys.path.append('..')
from rnnlm_gen import RnnlmGen
np.random.seed(0)
model = RnnlmGen()
words = model.generate(3, skip_ids=[4, 5])
print(len(words), len(set(words)) > 10, 'numba' in sys.modules)
model.reset_state()
xs = np.random.randint(0, 10000, (20, 35))
loss = model.forward(xs, xs)
model.backward()
print(np.isfinite(loss), 'numba' in sys.modules)
"""


def test_generating_a_hundred_words_never_imports_numba(tmp_path):
    """The book's chapter-7 generation (RnnlmGen: vocabulary 10,000, a hundred words) runs its
    LSTM steps and softmaxes within NumPy's start-up credit (fastseq.numpy_kernels), so it pays
    no numba start-up; a training step of the same model is too large for it and starts numba."""
    done = _run(tmp_path, GENERATION)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["100", "True", "False", "True", "True"]


def test_served_names_win_over_a_common_folder_on_disk(tmp_path):
    fake = tmp_path / "common"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "layers.py").write_text("raise RuntimeError('the slow book module was imported')\n")
    done = _run(tmp_path, "from common.layers import Affine\nprint(Affine.__module__)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fastseq.layers.core"


@pytest.mark.parametrize("source,name", [
    ("from common.layers import NotALayer\n", "common.layers.NotALayer"),
    ("import common.nonexistent\n", "common.nonexistent"),
])
def test_missing_name_fails_naming_it(tmp_path, source, name):
    done = _run(tmp_path, source)
    assert done.returncode == 1
    assert name in done.stderr and "fastseq" in done.stderr


CH2_SCRIPT = """
import sys
sys.path.append('..')
import numpy as np
from common.util import preprocess, create_co_matrix, ppmi
corpus, word_to_id, id_to_word = preprocess('You say goodbye and I say hello.')
W = ppmi(create_co_matrix(corpus, len(word_to_id)))
print('PPMI %.3f %.3f' % (W[0, 1], W[5, 6]))
"""


def test_chapter2_script_runs_on_fastseq_count(tmp_path):
    result = _run(tmp_path, CH2_SCRIPT)
    assert result.returncode == 0, result.stderr
    assert "PPMI 1.807 2.807" in result.stdout     # the book's printed PPMI values


CH4_SCRIPT = """
import sys
sys.path.append('..')
import numpy as np
from common.trainer import Trainer
from common.optimizer import Adam
from cbow import CBOW
from common.util import create_contexts_target, most_similar
from negative_sampling_layer import UnigramSampler
corpus = np.array([0, 1, 2, 3, 4, 1, 2, 5, 0, 1, 2, 3] * 30)
contexts, target = create_contexts_target(corpus, 2)
model = CBOW(6, 8, 2, corpus)
trainer = Trainer(model, Adam())
trainer.fit(contexts, target, max_epoch=3, batch_size=20, eval_interval=1000)
print('LOSS %.3f' % trainer.loss_list[-1], model.word_vecs.shape, UnigramSampler.__module__)
"""


def test_chapter4_cbow_script_trains_on_fastseq(tmp_path):
    result = _run(tmp_path, CH4_SCRIPT)
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert "(6, 8)" in result.stdout
    assert "fastseq.layers.negative_sampling" in result.stdout
    assert 0 < float(words[words.index("LOSS") + 1]) < 4.2   # below the untrained 6 * log 2


KOREAN_TRAIN = """
import sys
sys.path.append('..')
import numpy as np
from common.trainer import Trainer
from common.optimizer import SGD
from common.util import most_similar

class Model:
    params, grads = [], []
    def forward(self, x, t):
        return 0.5
    def backward(self):
        pass

Trainer(Model(), SGD()).fit(np.zeros((4, 1)), np.zeros(4, int), max_epoch=1, batch_size=2)
most_similar('missing', {}, {}, None)
"""


@pytest.mark.parametrize("trainer_source,args,first", [
    ("print('| 에폭 %d |')\n", [], "| 에폭 1 |  반복 1 / 2 | 시간 "),     # a Korean book tree
    ("print('| epoch %d |')\n", [], "| epoch 1 |  iter 1 / 2 | time "),   # the original's
    ("print('| epoch %d |')\n", ["--lang", "ko"], "| 에폭 1 |  반복 1 / 2 | 시간 "),
])
def test_prints_the_editions_words(tmp_path, trainer_source, args, first):
    common = tmp_path / "common"
    common.mkdir()
    (common / "trainer.py").write_text(trainer_source, encoding="utf-8")
    chapter = tmp_path / "ch01"
    chapter.mkdir()
    (chapter / "script.py").write_text(KOREAN_TRAIN, encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "fastseq.dropin", *args, "script.py"], cwd=chapter,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(first)
    assert lines[1] == ("missing(을)를 찾을 수 없습니다." if "에폭" in first else "missing is not found")


def test_cli_mistakes_get_one_line(tmp_path):
    for args, code, words in ((["missing.py"], 2, "no script"), (["--lang", "fr", "x.py"], 2, "--lang")):
        done = subprocess.run([sys.executable, "-m", "fastseq.dropin", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == code and words in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_data_in_the_book_trees_dataset_folder_is_found(tmp_path):
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "addition.txt").write_text("1+1  _2  \n2+2  _4  \n" * 10)
    chapter = tmp_path / "ch07"
    chapter.mkdir()
    (chapter / "script.py").write_text("import sys\nsys.path.append('..')\nfrom dataset import sequence\n"
                                       "(x, t), _ = sequence.load_data('addition.txt')\nprint(x.shape)\n")
    env = dict(os.environ, FASTSEQ_DATA=str(tmp_path / "nothing-here"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-m", "fastseq.dropin", "script.py"], cwd=chapter, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(18, 5)"
