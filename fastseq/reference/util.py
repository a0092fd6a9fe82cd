"""The book's gradient helpers: ``clip_grads`` and ``remove_duplicate``; ``collect_params``."""
import numpy as np


def collect_params(obj, layers):
    """Set ``obj.params`` / ``obj.grads`` to the layers' lists concatenated, as the book's models do."""
    obj.params, obj.grads = [], []
    for layer in layers:
        obj.params += layer.params
        obj.grads += layer.grads


def clip_grads(grads, max_norm):
    """Scale every gradient in place so that their global L2 norm is at most ``max_norm``."""
    total_norm = 0
    for grad in grads:
        total_norm += np.sum(grad ** 2)
    total_norm = np.sqrt(total_norm)
    rate = max_norm / (total_norm + 1e-6)
    if rate < 1:
        for grad in grads:
            grad *= rate


def remove_duplicate(params, grads):
    """Fold shared parameters (the same object, or a transposed equal matrix) into one entry,
    adding their gradients. Returns new lists; the input lists are not changed."""
    params, grads = params[:], grads[:]
    while True:
        found = False
        n = len(params)
        for i in range(0, n - 1):
            for j in range(i + 1, n):
                if params[i] is params[j]:
                    grads[i] += grads[j]
                    found = True
                    params.pop(j)
                    grads.pop(j)
                elif params[i].ndim == 2 and params[j].ndim == 2 and \
                        params[i].T.shape == params[j].shape and np.all(params[i].T == params[j]):
                    grads[i] += grads[j].T
                    found = True
                    params.pop(j)
                    grads.pop(j)
                if found:
                    break
            if found:
                break
        if not found:
            break
    return params, grads
