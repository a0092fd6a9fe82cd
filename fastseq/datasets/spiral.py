"""The book's spiral toy set: three interleaved spiral arms in 2-D."""
import numpy as np


def load_data(seed=1984):
    """``x (300, 2) float64, t (300, 3) int32 one-hot``; seeds NumPy's global RNG as the book does."""
    np.random.seed(seed)
    n, cls_num = 100, 3
    rate = np.tile(np.arange(n) / n, cls_num)
    arm = np.repeat(np.arange(cls_num), n)
    theta = arm * 4.0 + 4.0 * rate + np.random.randn(n * cls_num) * 0.2
    x = np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=1)
    t = np.zeros((n * cls_num, cls_num), dtype=np.int32)
    t[np.arange(n * cls_num), arm] = 1
    return x, t
