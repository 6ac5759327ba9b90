"""core.kde against independent computations: textbook kernel formulas, spatstat reference
values and a brute-force kernel sum at every cell centre."""

import os

import numpy as np
import pytest

from hotspot_policing.core import Canceled, kde

REDWOOD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "redwood.csv")

# Textbook 2-D kernels, written out independently of core.kde.
TEXTBOOK = {
    "quartic": lambda r, h: np.where(r < h, 3 / (np.pi * h * h) * (1 - (r / h) ** 2) ** 2, 0.0),
    "epanechnikov": lambda r, h: np.where(r < h, 2 / (np.pi * h * h) * (1 - (r / h) ** 2), 0.0),
    "triangular": lambda r, h: np.where(r < h, 3 / (np.pi * h * h) * (1 - r / h), 0.0),
    "uniform": lambda r, h: np.where(r < h, 1 / (np.pi * h * h), 0.0),
    "gaussian": lambda r, s: np.exp(-(r**2) / (2 * s * s)) / (2 * np.pi * s * s),
}


def brute_force(x, y, weights, grid, kernel, bandwidth):
    """The exact kernel sum at every cell centre, one incident at a time."""
    cx, cy = grid.centres()
    gx, gy = np.meshgrid(cx, cy)
    total = np.zeros(gx.shape)
    for xi, yi, wi in zip(x, y, weights):
        total += wi * TEXTBOOK[kernel](np.hypot(gx - xi, gy - yi), bandwidth)
    return total


def clustered(rng, n_clusters=5, per_cluster=300, noise=500, size=1000.0):
    centres = rng.random((n_clusters, 2)) * size
    points = [c + rng.normal(0, 60, (per_cluster, 2)) for c in centres] + [rng.random((noise, 2)) * size]
    points = np.concatenate(points)
    return points[:, 0], points[:, 1]


def test_textbook_kernels_match_the_module():
    r = np.linspace(0, 12, 97)
    for kernel, formula in TEXTBOOK.items():
        np.testing.assert_allclose(kde.kernel_values(kernel, r * r, 10.0), formula(r, 10.0), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kernel", kde.KERNELS)
def test_every_kernel_integrates_to_one(kernel):
    step = 0.01
    axis = np.arange(-6, 6, step) + step / 2
    gx, gy = np.meshgrid(axis, axis)
    integral = kde.kernel_values(kernel, gx**2 + gy**2, 1.0).sum() * step**2
    assert integral == pytest.approx(1.0, abs=2e-3)


def test_single_point_quartic_values():
    # METHODS.md 1.8 [DER]: h = 10, density 3/(100 pi) at r = 0, x 0.75^2 at r = 5, 0 at r >= 10.
    values = kde.kernel_values("quartic", np.array([0.0, 25.0, 100.0, 121.0]), 10.0)
    np.testing.assert_allclose(values, [0.00954930, 0.00537148, 0.0, 0.0], atol=5e-9)


def test_kernels_reproduce_spatstat_on_redwood():
    # spatstat density.ppp(redwood, sigma=0.05, at="points", leaveoneout=FALSE, edge=FALSE)
    # [REF spatstat 3.0.6, METHODS.md 1.8]; spatstat's sigma is the kernel's standard deviation.
    xy = np.loadtxt(REDWOOD, delimiter=",", skiprows=1)
    sigma = 0.05
    expected = {
        ("gaussian", sigma): [86.4806517594, 187.231548996, 195.146566379, 172.643692196, 192.74279227],
        ("quartic", 2 * np.sqrt(2) * sigma): [72.7656399816, 173.014155536, 166.272352147, 152.693252402, 162.529027885],
        ("epanechnikov", np.sqrt(6) * sigma): [67.3402248104, 168.067619905, 153.35462961, 144.866365979, 151.656976884],
    }
    for (kernel, bandwidth), values in expected.items():
        r2 = ((xy[:5, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        ours = kde.kernel_values(kernel, r2, bandwidth).sum(axis=1)
        np.testing.assert_allclose(ours, values, rtol=1e-9)


def test_automatic_bandwidth_on_redwood():
    # METHODS.md 1.8 [DER]: ArcGIS's rule on redwood gives 0.1507687697.
    xy = np.loadtxt(REDWOOD, delimiter=",", skiprows=1)
    assert kde.automatic_bandwidth(xy[:, 0], xy[:, 1]) == pytest.approx(0.1507687697, rel=1e-9)


def test_weighted_median():
    rng = np.random.default_rng(3)
    values = rng.random(101)
    assert kde.weighted_median(values, np.ones(101)) == pytest.approx(np.median(values))
    assert kde.weighted_median(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4)) == pytest.approx(2.5)
    assert kde.weighted_median(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 5.0])) == pytest.approx(3.0)


def test_automatic_cell_size_is_shorter_side_over_250():
    assert kde.automatic_cell_size(5000.0, 2500.0) == pytest.approx(10.0)


@pytest.fixture(params=["fft", "direct"])
def method(request, monkeypatch):
    """Both ways density() sums: binned FFT (many incidents) and direct (few)."""
    monkeypatch.setattr(kde, "direct_is_cheaper", lambda *args: request.param == "direct")
    return request.param


@pytest.mark.parametrize("kernel", kde.KERNELS)
@pytest.mark.parametrize("layout", ["clustered", "sparse"])
@pytest.mark.parametrize("bandwidth,cell", [(100.0, 10.0), (150.0, 13.7), (60.0, 20.0)])
def test_surface_equals_exact_kernel_sum(kernel, layout, bandwidth, cell, method):
    rng = np.random.default_rng([kde.KERNELS.index(kernel), layout == "clustered", int(bandwidth)])
    if layout == "clustered":
        x, y = clustered(rng)
    else:
        x, y = rng.random(40) * 1000, rng.random(40) * 1000
    weights = rng.uniform(0.5, 3.0, len(x))
    h = bandwidth / 2.5 if kernel == "gaussian" else bandwidth
    reach = kde.support_radius(kernel, h)
    grid = kde.grid_for_extent(x.min() - reach, y.min() - reach, x.max() + reach, y.max() + reach, cell)
    ours = kde.density(x, y, grid, kernel, h, weights)
    exact = brute_force(x, y, weights, grid, kernel, h)
    assert np.abs(ours - exact).max() <= (1e-3 if method == "fft" else 1e-6) * exact.max()


@pytest.mark.parametrize("kernel", kde.KERNELS)
def test_incidents_outside_the_extent_still_count(kernel, method):
    rng = np.random.default_rng(11)
    x, y = clustered(rng, per_cluster=100, noise=100)
    grid = kde.grid_for_extent(300.0, 250.0, 700.0, 600.0, 10.0)  # cuts through the data
    ours = kde.density(x, y, grid, kernel, 80.0, None)
    exact = brute_force(x, y, np.ones_like(x), grid, kernel, 80.0)
    assert np.abs(ours - exact).max() <= (1e-3 if method == "fft" else 1e-6) * exact.max()


def test_surface_integrates_to_total_weight():
    rng = np.random.default_rng(5)
    x, y = clustered(rng)
    weights = rng.uniform(1, 10, len(x))
    grid = kde.grid_for_extent(-200, -200, 1200, 1200, 5.0)
    surface = kde.density(x, y, grid, "quartic", 100.0, weights)
    assert surface.sum() * grid.cell**2 == pytest.approx(weights.sum(), rel=1e-3)


def test_few_incidents_are_summed_directly_many_by_fft():
    grid = kde.grid_for_extent(0, 0, 20_000, 20_000, 20.0)
    assert kde.direct_is_cheaper(1_000, "quartic", 300.0, grid, 3)
    assert not kde.direct_is_cheaper(1_000_000, "quartic", 300.0, grid, 3)


def test_cancel_stops_the_computation(method):
    x, y = clustered(np.random.default_rng(1))
    grid = kde.grid_for_extent(0, 0, 1000, 1000, 10.0)

    def cancel(fraction):
        raise Canceled()

    for kernel in kde.KERNELS:
        with pytest.raises(Canceled):
            kde.density(x, y, grid, kernel, 100.0, progress=cancel)


def test_progress_is_reported_up_to_one():
    seen = []
    x, y = clustered(np.random.default_rng(2))
    kde.density(x, y, kde.grid_for_extent(0, 0, 1000, 1000, 10.0), "quartic", 100.0, progress=seen.append)
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
