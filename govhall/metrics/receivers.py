"""Signal receivers that keep the figures current (written by the metrics work)."""
