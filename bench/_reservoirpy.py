"""reservoirpy (0.4) built with the very matrices of a fastseq reservoir, for side-by-side runs;
None where reservoirpy is not installed."""
import numpy as np

try:
    import reservoirpy
    from reservoirpy.nodes import Reservoir, Ridge
except ImportError:
    reservoirpy = None


def reservoir_like(layer):
    """A reservoirpy Reservoir with ``layer``'s W (sparse), Win, bias and leak rate."""
    if reservoirpy is None:
        return None
    return Reservoir(W=layer.W.tocsr(), Win=layer.Win, bias=layer.bias, lr=layer.leak, dtype=layer.dtype)


def states(node, xs):
    """xs (T, D) → reservoirpy's states (T, H), from the node's current state."""
    return np.asarray(node.run(xs))


def ridge(value):
    return None if reservoirpy is None else Ridge(ridge=value)
