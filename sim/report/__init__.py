"""Policy comparison: running reform scenarios on common random numbers, and the report."""
