"""The browsable site: stage the executed notebooks and READMEs, build them with mkdocs-material + mkdocs-jupyter
(:mod:`helpers.site.build`), and check the result in headless Chromium (:mod:`helpers.site.check`)."""
