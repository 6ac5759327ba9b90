"""Spatial weights as scipy.sparse CSR matrices (docs/methods.md 2.1).

Every builder returns binary weights without the diagonal; Gi* adds its self weight with
:func:`with_self`, Local Moran row-standardises with :func:`row_standardised`.
"""

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from . import InputError

MAX_PAIRS = 50_000_000  # neighbour links held at once: about 1 GB with their sparse matrix


def distance_band(x, y, distance):
    """w_ij = 1 when 0 < d_ij <= distance (as libpysal's DistanceBand: the band is closed).
    A band that would link more than MAX_PAIRS pairs (estimated from a sample first) is an
    InputError, before memory runs out."""
    tree = cKDTree(np.column_stack([x, y]))
    sample = np.random.default_rng(0).choice(len(x), size=min(len(x), 2000), replace=False)
    per_point = tree.query_ball_point(np.column_stack([x[sample], y[sample]]), distance, return_length=True).mean() - 1
    if per_point * len(x) / 2 > MAX_PAIRS:
        raise InputError(
            f"A distance band of {distance:,.6g} gives each of the {len(x):,} features about {per_point:,.0f} neighbours "
            f"({per_point * len(x) / 2:,.0f} pairs; at most {MAX_PAIRS:,}): use a smaller distance (0 chooses one)."
        )
    pairs = tree.query_pairs(distance * (1 + 1e-12), output_type="ndarray")
    return _symmetric(pairs, len(x))


def k_nearest(x, y, k):
    """w_ij = 1 for the k nearest j of each i (not symmetric). Ties at the k-th distance
    are broken by the KD-tree's search order."""
    n = len(x)
    if k >= n:
        raise ValueError(f"k = {k} needs more than {k} features; there are {n}")
    _, neighbours = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=k + 1)
    rows = np.repeat(np.arange(n), k + 1)
    cols = neighbours.ravel()
    keep = rows != cols
    # A duplicate location can push i itself out of its own k+1 list: keep the first k others.
    rows, cols = rows[keep], cols[keep]
    first_k = (np.arange(len(rows)) - np.searchsorted(rows, rows)) < k
    return sparse.csr_matrix((np.ones(first_k.sum()), (rows[first_k], cols[first_k])), shape=(n, n))


def contiguity(vertex_x, vertex_y, owner, n, tolerance=0.0):
    """Features that share at least one vertex (within ``tolerance``): queen contiguity for
    polygons (a corner or an edge), and for street segments those meeting at a junction.

    ``vertex_*`` are all the features' vertices, ``owner`` the feature index of each."""
    pairs = cKDTree(np.column_stack([vertex_x, vertex_y])).query_pairs(tolerance, output_type="ndarray")
    a, b = owner[pairs[:, 0]], owner[pairs[:, 1]]
    keep = a != b
    shared = _symmetric(np.column_stack([a[keep], b[keep]]), n)
    shared.data[:] = 1.0  # several shared vertices are still one neighbour
    return shared


def within_steps(weights, steps):
    """Binary weights linking features up to ``steps`` links apart (e.g. segments within k
    junctions of each other), without self links."""
    reach = weights.copy()
    frontier = weights
    for _ in range(steps - 1):
        frontier = frontier @ weights
        reach = reach + frontier
    reach = (reach - sparse.diags(reach.diagonal())).tocsr()
    reach.eliminate_zeros()
    reach.data[:] = 1.0
    return reach


def with_self(weights, self_weight=1.0):
    """The weights with w_ii = self_weight (Gi*: each feature is its own neighbour)."""
    return (weights + sparse.identity(weights.shape[0], format="csr") * self_weight).tocsr()


def row_standardised(weights):
    """Each row divided by its sum (rows without neighbours stay zero)."""
    sums = np.asarray(weights.sum(axis=1)).ravel()
    scale = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)
    return sparse.diags(scale) @ weights


def cardinality(weights):
    """Number of neighbours of each feature (non-zero weights, self excluded)."""
    counts = np.diff(weights.indptr)
    return counts - (weights.diagonal() != 0)


def distance_for_one_neighbour(x, y):
    """The smallest band in which every feature has at least one neighbour: the largest
    nearest-neighbour distance (ArcGIS's default distance for Hot Spot Analysis)."""
    distances, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([x, y]), k=2)
    return float(distances[:, 1].max())


def _symmetric(pairs, n):
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    matrix.sum_duplicates()
    return matrix
