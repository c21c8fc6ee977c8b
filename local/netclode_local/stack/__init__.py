"""Local mode: the whole Netclode on one machine, no cluster (`netclode up`)."""
