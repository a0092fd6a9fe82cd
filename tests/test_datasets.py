import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from fastseq.datasets import _files, ptb, sequence, spiral


def test_ptb_matches_book_counts_and_vocabulary():
    train, w2i, i2w = ptb.load_data("train")
    val, _, _ = ptb.load_data("val")
    test, _, _ = ptb.load_data("test")
    assert (len(train), len(val), len(test)) == (929589, 73760, 82430)
    assert len(w2i) == 10000 and train.dtype == np.int32
    assert [i2w[i] for i in range(3)] == ["aer", "banknote", "berlitz"]
    assert train.max() == 9999 and i2w[int(train[24])] == "<eos>"
    # the book's rule: ids in order of first appearance in the train text, '\n' -> '<eos>'
    text = Path(os.environ["FASTSEQ_DATA"], "ptb", "ptb.valid.txt").read_text()
    words = text.replace("\n", "<eos>").strip().split()
    np.testing.assert_array_equal(val, [w2i[w] for w in words])
    first_seen = np.unique(train, return_index=True)[1]
    assert np.all(np.diff(first_seen) > 0)


def _isolated(monkeypatch, tmp_path, data_dir):
    monkeypatch.setenv("FASTSEQ_DATA", str(data_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(ptb, "URL", (tmp_path / "offline" / "ptb.{}.txt").as_uri())


def test_ptb_refuses_truncated_file_and_says_where_it_looked(monkeypatch, tmp_path):
    data = tmp_path / "data" / "ptb"
    data.mkdir(parents=True)
    src = Path(os.environ["FASTSEQ_DATA"], "ptb")
    for split in ("train", "valid", "test"):
        shutil.copy(src / f"ptb.{split}.txt", data)
    with open(data / "ptb.test.txt", "r+b") as f:
        f.truncate(1000)
    _isolated(monkeypatch, tmp_path, tmp_path / "data")
    with pytest.raises(_files.DataNotFoundError) as err:
        ptb.load_data("test")
    msg = str(err.value)
    assert "does not match" in msg and "FASTSEQ_DATA" in msg and "download" in msg
    assert len(ptb.load_data("valid")[0]) == 73760  # intact splits still load


def test_ptb_downloads_into_cache_with_hash_check(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    src = Path(os.environ["FASTSEQ_DATA"], "ptb")
    for split in ("train", "test"):
        shutil.copy(src / f"ptb.{split}.txt", mirror)
    _isolated(monkeypatch, tmp_path, tmp_path / "empty")
    monkeypatch.setattr(ptb, "URL", mirror.as_uri() + "/ptb.{}.txt")
    corpus, _, _ = ptb.load_data("test")
    assert len(corpus) == 82430
    cached = tmp_path / "cache" / "fastseq" / "ptb"
    assert (cached / "ptb.test.txt").exists() and list(cached.glob("ptb.test.*.npy"))
    assert not list(cached.glob("*.part"))
    # the checked parsed copy serves without the text
    (cached / "ptb.test.txt").unlink()
    again, _, _ = ptb.load_data("test")
    np.testing.assert_array_equal(again, corpus)
    # a parsed copy whose bytes changed is not used; a tampered mirror is refused, and nothing is left behind
    npy = next(cached.glob("ptb.test.*.npy"))
    data = bytearray(npy.read_bytes())
    data[-1] ^= 1
    npy.write_bytes(bytes(data))
    (mirror / "ptb.test.txt").write_text("tampered")
    with pytest.raises(_files.DataNotFoundError, match="SHA-256"):
        ptb.load_data("test")
    assert not (cached / "ptb.test.txt").exists() and not list(cached.glob("*.part"))


def test_ptb_from_fastseq_data_writes_no_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    corpus, w2i, _ = ptb.load_data("valid")
    assert len(corpus) == 73760 and len(w2i) == 10000
    assert not (tmp_path / "cache").exists()


def _book_saved_parse(folder, corpus, word_to_id, id_to_word):
    """Write what the book's dataset/ptb.py saves after its first run: the pickled pair of
    dictionaries and the corpus as an int64 .npy."""
    import pickle
    folder.mkdir(exist_ok=True)
    with open(folder / "ptb.vocab.pkl", "wb") as f:
        pickle.dump((word_to_id, id_to_word), f)
    np.save(folder / "ptb.valid.npy", np.asarray(corpus, dtype=np.int64))


def test_ptb_under_the_drop_in_reads_the_books_saved_parse_as_the_book_does(monkeypatch, tmp_path):
    corpus, w2i, i2w = ptb.load_data("valid")
    book = tmp_path / "dataset"
    _book_saved_parse(book, corpus[:1000], w2i, i2w)          # a saved corpus unlike the text: the book reads it
    monkeypatch.setattr(_files, "flat_dirs", [str(book)])
    saved, saved_w2i, saved_i2w = ptb.load_data("val")
    assert saved.dtype == np.int32 and saved_w2i == w2i and saved_i2w == i2w
    np.testing.assert_array_equal(saved, corpus[:1000])
    assert sorted(p.name for p in book.iterdir()) == ["ptb.valid.npy", "ptb.vocab.pkl"]    # nothing written
    # a split the book has not saved is parsed from the text, then saved as the book saves it
    test, _, _ = ptb.load_data("test")
    assert len(test) == 82430
    np.testing.assert_array_equal(np.load(book / "ptb.test.npy"), test)
    assert np.load(book / "ptb.test.npy").dtype == np.int64


def test_ptb_under_the_drop_in_saves_the_books_files_in_the_books_formats(monkeypatch, tmp_path, capsys):
    import pickle
    book = tmp_path / "dataset"
    book.mkdir()
    monkeypatch.setattr(_files, "flat_dirs", [str(book)])
    corpus, w2i, i2w = ptb.load_data("train")
    assert "dataset.ptb: saved" in capsys.readouterr().err
    with open(book / "ptb.vocab.pkl", "rb") as f:
        assert pickle.load(f) == (w2i, i2w)                 # what the book's load_vocab reads
    saved = np.load(book / "ptb.train.npy")
    assert saved.dtype == np.int64
    np.testing.assert_array_equal(saved, corpus)
    again, again_w2i, _ = ptb.load_data("train")            # now read back, not parsed
    np.testing.assert_array_equal(again, corpus)
    assert again_w2i == w2i and capsys.readouterr().err == ""
    # beside a vocabulary that is not PTB's own, no split's ids are saved
    small = {w: i for w, i in w2i.items() if i < 100}
    _book_saved_parse(book, corpus[corpus < 100][:50], small, {i: w for w, i in small.items()})
    (book / "ptb.valid.npy").unlink()
    ptb.load_data("test")
    assert not (book / "ptb.test.npy").exists()


def test_ptb_refuses_a_damaged_or_foreign_book_parse_without_running_it(monkeypatch, tmp_path):
    import pickle
    corpus, w2i, i2w = ptb.load_data("valid")
    book = tmp_path / "dataset"
    monkeypatch.setattr(_files, "flat_dirs", [str(book)])
    _book_saved_parse(book, corpus, w2i, i2w)
    ran = tmp_path / "ran"

    class Payload:                      # unpickling it would create a file
        def __reduce__(self):
            return (open, (str(ran), "w"))

    (book / "ptb.vocab.pkl").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match="ptb.vocab.pkl is not the book's saved vocabulary.*delete it"):
        ptb.load_data("valid")
    assert not ran.exists()
    bad = dict(i2w)
    bad[5] = "something else"
    _book_saved_parse(book, corpus, w2i, bad)
    with pytest.raises(ValueError, match="consistent vocabulary"):
        ptb.load_data("valid")
    small = {w: i for w, i in w2i.items() if i < 100}
    _book_saved_parse(book, corpus, small, {i: w for w, i in small.items()})
    with pytest.raises(ValueError, match="ptb.valid.npy is not a 1-D array of ids below 100"):
        ptb.load_data("valid")


def test_ptb_bad_split_name():
    with pytest.raises(ValueError, match="data_type must be"):
        ptb.load_data("dev")


def _spiral_book_loop(seed=1984):
    np.random.seed(seed)
    N, DIM, CLS = 100, 2, 3
    x = np.zeros((N * CLS, DIM))
    t = np.zeros((N * CLS, CLS), dtype=np.int32)
    for j in range(CLS):
        for i in range(N):
            rate = i / N
            theta = j * 4.0 + 4.0 * rate + np.random.randn() * 0.2
            x[N * j + i] = [rate * np.sin(theta), rate * np.cos(theta)]
            t[N * j + i, j] = 1
    return x, t


def test_spiral_equals_book_loop():
    x, t = spiral.load_data()
    bx, bt = _spiral_book_loop()
    np.testing.assert_allclose(x, bx, rtol=1e-12)
    np.testing.assert_array_equal(t, bt)


def test_sequence_addition_split_and_vocab():
    (x_train, t_train), (x_test, t_test) = sequence.load_data("addition.txt")
    assert x_train.shape == (45000, 7) and t_train.shape == (45000, 5) and x_test.shape == (5000, 7)
    c2i, i2c = sequence.get_vocab()
    assert all(i2c[int(c)] == "_" for c in t_train[:, 0])
    q = "".join(i2c[int(c)] for c in x_train[0]).strip()
    a = "".join(i2c[int(c)] for c in t_train[0, 1:]).strip()
    left, right = q.split("+")
    assert int(left) + int(right) == int(a)


def test_own_vocabulary_does_not_depend_on_what_was_loaded_before():
    sequence.load_data("addition.txt")
    shared_before = dict(sequence.get_vocab()[1])
    train, test, own = sequence.load_data_own_vocab("date.txt")
    assert sequence.get_vocab()[1] == shared_before                     # left as it was
    assert set(own) == set(range(len(own))) and int(max(train[0].max(), train[1].max())) == len(own) - 1
    sequence.get_vocab()[0].clear()
    sequence.get_vocab()[1].clear()
    fresh = sequence.load_data("date.txt")
    assert sequence.get_vocab()[1] == own
    np.testing.assert_array_equal(fresh[0][0], train[0])
    for table in sequence.get_vocab():                                   # other tests' vocabulary back
        table.clear()
    sequence.get_vocab()[1].update(shared_before)
    sequence.get_vocab()[0].update({c: i for i, c in shared_before.items()})


def _load_by_loop(path, char_to_id):
    """The ids of every line by a plain per-character loop, growing ``char_to_id`` as it goes."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        for c in line:
            char_to_id.setdefault(c, len(char_to_id))
        rows.append([char_to_id[c] for c in line])
    return np.array(rows)


@pytest.mark.parametrize("first, then", [("addition.txt", "date.txt"), ("date.txt", "addition.txt")])
def test_sequence_ids_and_vocabulary_equal_a_per_character_loop(first, then):
    saved = [dict(table) for table in sequence.get_vocab()]
    try:
        for table in sequence.get_vocab():
            table.clear()
        want_vocab = {}
        for name in (first, then):      # the second file finds part of its vocabulary known
            (x, t), (xt, tt) = sequence.load_data(name, seed=7)
            want = _load_by_loop(sequence._resolve(name), want_vocab)
            order = np.arange(len(want))
            np.random.seed(7)
            np.random.shuffle(order)                # the book's shuffle
            np.testing.assert_array_equal(np.concatenate([np.hstack([x, t]), np.hstack([xt, tt])]), want[order])
            assert sequence.get_vocab()[0] == want_vocab
            assert sequence.get_vocab()[1] == {i: c for c, i in want_vocab.items()}
    finally:
        for table, old in zip(sequence.get_vocab(), saved):
            table.clear()
            table.update(old)


@pytest.mark.parametrize("text, match", [("", "is empty"), ("1+2_3\n45\n", r":2 has no '_'"),
                                         ("1+2_3\n1+22_3\n", "fixed-width"), ("1+2_3\n12_3 \n", "fixed-width")])
def test_sequence_refuses_malformed_files_saying_where(tmp_path, text, match):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        sequence.load_data(str(path))


def test_generate_addition_round_trips(tmp_path):
    path = sequence.generate_addition(tmp_path / "add.txt", 200, seed=1)
    (x, t), (xt, tt) = sequence.load_data(str(path), seed=None)
    assert x.shape == (180, 7) and t.shape == (180, 5) and len(xt) == 20
    _, i2c = sequence.get_vocab()
    for row_q, row_a in zip(x, t):
        q = "".join(i2c[int(c)] for c in row_q)
        a = "".join(i2c[int(c)] for c in row_a[1:])
        left, right = q.split("+")
        assert int(left) + int(right) == int(a)


def test_sequence_missing_file_is_clear():
    with pytest.raises(FileNotFoundError, match="nope.txt not found"):
        sequence.load_data("nope.txt")
