"""``pofl watch``'s page: a face over :mod:`offchain.app.watch` (the server in ``server.py``, the page in
``static/``, every asset shipped in the package: it works with no network)."""
