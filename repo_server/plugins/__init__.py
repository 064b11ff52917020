"""The business modules, each a plugin that reaches the core only through
:mod:`repo_server.plugin_api` (an import contract checks it): ``product_service``
(after-sales tickets and complaints) and ``quality`` (quality issues, quarantines, the
quality archive and the supplier register). See docs/plugins.md."""
