"""A page that raises with a server path in its message, to check what the browser is shown."""

raise RuntimeError("cannot open /srv/secret/operational.sqlite")
