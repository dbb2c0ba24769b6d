"""Wire protocol v1 (docs/protocol.md), free of I/O: import the module you need.

``codes`` (subprotocols, close and error codes), ``codec`` (JSON or msgpack), ``errors``
(``ProtocolError``), ``client`` (client frames and handshake values parsed and validated),
``server`` (every server frame built), ``framing`` (RFC 6455 frames for the direct send path).
"""
