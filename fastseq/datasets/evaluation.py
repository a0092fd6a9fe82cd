"""Word-vector evaluation sets: the word2vec analogy questions (``questions-words.txt``,
Mikolov et al. 2013) and WordSim-353 (``wordsim353.tsv``), found under ``$FASTSEQ_DATA/eval``,
then the user cache, then downloaded from gensim's test data and checked by SHA-256."""
from fastseq.datasets._files import find_file

URL = "https://raw.githubusercontent.com/RaRe-Technologies/gensim/develop/gensim/test/test_data/{}"
SHA256 = {
    "questions-words.txt": "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36",
    "wordsim353.tsv": "f92a022fc2537793a15bc3a8c162ebcd74990e033a228bb6388cb71e4c0b1e1d",
}


def path(name):
    """Path of a verified copy of one evaluation file (a key of ``SHA256``)."""
    if name not in SHA256:
        raise ValueError(f"evaluation.path: name must be one of {sorted(SHA256)}, got {name!r}")
    return find_file("eval", name, SHA256[name], URL.format(name))


def load_analogies(file=None):
    """``{section: [(a, b, c, d), ...]}`` from an analogy file (``: section`` headers, four
    words a line), words lower-cased; the packaged questions-words.txt when ``file`` is None."""
    sections, current = {}, None
    with open(file or path("questions-words.txt"), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                current = line[1:].strip()
                sections.setdefault(current, [])
                continue
            words = line.lower().split()
            if len(words) != 4 or current is None:
                raise ValueError(f"{file or 'questions-words.txt'}:{lineno}: expected four words after a "
                                 f"': section' header, got {line!r}")
            sections[current].append(tuple(words))
    return sections


def load_word_pairs(file=None):
    """``[(word1, word2, score), ...]`` from a tab-separated similarity file (``#`` comments),
    words lower-cased; the packaged wordsim353.tsv when ``file`` is None."""
    pairs = []
    with open(file or path("wordsim353.tsv"), encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            try:
                pairs.append((parts[0].lower(), parts[1].lower(), float(parts[2])))
            except (IndexError, ValueError):
                raise ValueError(f"{file or 'wordsim353.tsv'}:{lineno}: expected 'word1<TAB>word2<TAB>score', "
                                 f"got {line.rstrip()!r}") from None
    return pairs
