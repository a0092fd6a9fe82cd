"""Progress bars that cost nothing when they are not drawn.

Importing tqdm takes about 23 ms here (its version lookup reads package metadata), and
``tqdm.auto`` about 50 ms (it also imports asyncio): as long as the whole training loop of the
book's chapter-1 scripts. The book's trainer and ``eval_perplexity`` therefore import it only
for a bar that will be drawn: on a terminal, or when asked for.
"""
import sys


def shown(progress, file=None):
    """tqdm's rule for ``disable``: True/False force the bar on/off; None draws it only when
    ``file`` (default stderr) is a terminal."""
    if progress is not None:
        return bool(progress)
    stream = sys.stderr if file is None else file
    try:
        return stream.isatty()
    except (AttributeError, ValueError):        # no isatty, or a closed stream
        return False


class _Hidden:
    """The part of a tqdm bar that fastseq uses, drawing nothing; iterates over ``iterable``."""

    def __init__(self, iterable):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def progress_bar(iterable=None, progress=None, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)`` when ``shown(progress, kwargs.get("file"))``, else a
    bar that draws nothing and never imports tqdm."""
    if not shown(progress, kwargs.get("file")):
        return _Hidden(iterable)
    from tqdm.auto import tqdm
    return tqdm(iterable, **kwargs)


def write(line, file=None):
    """Print ``line`` to ``file`` (default stdout) above any bar tqdm is drawing."""
    file = sys.stdout if file is None else file
    if "tqdm" in sys.modules:
        from tqdm.auto import tqdm
        tqdm.write(line, file=file)
    else:
        print(line, file=file)
