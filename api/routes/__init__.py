"""The web application's routes, one module per resource; each route declares who may call it
(``api.deps``: ``public`` or a role)."""
