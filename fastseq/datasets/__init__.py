"""Data sets of the book: Penn Treebank (``ptb``), the spiral toy set (``spiral``) and the
seq2seq toy sets (``sequence``). Files are found under ``$FASTSEQ_DATA``, then the user cache
(``~/.cache/fastseq``, or ``$XDG_CACHE_HOME/fastseq``), then downloaded where a canonical URL
exists, always checked against their SHA-256."""
