"""Command groups; each module has `register(cli)`."""
