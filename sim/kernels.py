"""The one compiled kernel: the residents' daily update, fused, for large populations (MODEL §11).

At Tianjin's scale the residents' update is almost all of a day's time: two sparse products
over 111 M ties plus a dozen whole-array operations. This numba kernel reads each resident's
ties once, computes both neighbour means and the new state in one parallel pass, and gives
bit-for-bit the same result as the numpy code in ``Population.daily_update_numpy`` (same
float32 operations in the same order; each row is summed sequentially, so the number of
threads cannot change the result). Small populations use the numpy code and never pay the
compilation.
"""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a declared dependency; numpy is the fallback
    numba = None


def available() -> bool:
    return numba is not None


if numba is not None:

    @numba.njit(parallel=True, cache=True, fastmath=False)
    def _daily_update(indptr, indices, inv_degree, grievance, trust, threshold, mobilised,
                      new_grievance, new_mobilised, spread, keep, boost):
        one = np.float32(1.0)
        zero = np.float32(0.0)
        for i in numba.prange(len(indptr) - 1):
            sum_g = zero
            sum_m = zero
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                sum_g += grievance[j]
                sum_m += np.float32(mobilised[j])
            mean_g = sum_g * inv_degree[i]
            share = sum_m * inv_degree[i]
            g = grievance[i]
            distrust = one - trust[i]
            pull = mean_g - g
            pull *= distrust
            pull *= spread
            if pull < zero:
                pull = zero
            g = g * keep
            g += pull
            if g < zero:
                g = zero
            elif g > one:
                g = one
            new_grievance[i] = g
            share *= -boost
            share += one
            share *= threshold[i]
            new_mobilised[i] = distrust * g > share


def daily_update(pop, spread: float, decay: float, boost: float, threads: int) -> None:
    """Run the fused kernel on a ``Population`` in place (``numba`` must be available)."""
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    A = pop.network
    new_g = np.empty_like(pop.grievance)
    new_m = np.empty_like(pop.mobilised)
    _daily_update(A.indptr, A.indices, pop._inv_degree, pop.grievance, pop.trust, pop.threshold,
                  pop.mobilised, new_g, new_m, np.float32(spread), np.float32(1.0 - decay), np.float32(boost))
    pop.grievance[:] = new_g
    pop.mobilised = new_m
