"""`make run` and `make test` (no notebook): what the cookbook publishes from committed results: the README block, the
decision guide, the site."""
