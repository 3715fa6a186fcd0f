"""`make run` and `make test` (no notebook): The browsable site: stage the executed notebooks and READMEs, build them
with mkdocs-material + mkdocs-jupyter (:mod:`helpers.publish.site.build`), and check the result in headless Chromium
(:mod:`helpers.publish.site.check`)."""
