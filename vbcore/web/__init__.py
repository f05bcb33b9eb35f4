"""vbcore.web: the web delivery board and its HTTP API, on the tracking store (``vb web``, ``vb demo
--web``). ``app.create_app(BoardContext(...))`` builds the application; ``serve`` runs it. See
docs/architecture.md for its modules; the optional dependencies are ``vbus[web]``."""
