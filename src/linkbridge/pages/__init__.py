"""The public HTML pages (410, notice, webmention status, proxy errors): Jinja2 templates
shipped as package data, any of which an operator may replace from `site.templates_dir`."""
