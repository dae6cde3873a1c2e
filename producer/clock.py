"""The simulated clock: real time, N times faster, or as fast as possible.

Simulated time never runs ahead of the real present: once a fast run catches up with now it
continues in real time, so every reading carries a timestamp that has already happened.
"""

from __future__ import annotations

import time


class SimClock:
    def __init__(self, start_ms: int, speed: float, wall=time.time):
        if speed < 0:
            raise ValueError("speed must be >= 0 (0 = as fast as possible)")
        self.start_ms = start_ms
        self.speed = speed
        self.wall = wall
        self.wall_start = wall()

    def wait_s(self, sim_ms: int) -> float:
        """Seconds to wait before emitting an event stamped ``sim_ms``."""
        now = self.wall()
        waits = [sim_ms / 1000 - now]  # never stamp the future
        if self.speed > 0:
            waits.append(self.wall_start + (sim_ms - self.start_ms) / 1000 / self.speed - now)
        return max(0.0, *waits)
