"""The babelcast gateway, one folder per layer: ``wire`` (the wire format), ``chat`` (what
happens to a comment), ``rooms`` (this node's viewers), ``bus``, ``stores`` and ``limits``
(seams with memory and Redis backends), ``web`` (HTTP and WebSocket); ``node`` builds the parts
for a role and ``cli`` runs it. docs/architecture.md draws the layers."""
