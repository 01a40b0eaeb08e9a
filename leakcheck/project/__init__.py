"""Project-level stages: module names, the cheap index that links modules, call linking."""
