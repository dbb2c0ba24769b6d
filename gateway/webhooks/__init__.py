"""Outbound webhooks: events of the chat (comments published, questions asked, comments
blocked or deleted, users muted) signed as the Standard Webhooks specification says and
delivered to the platform's endpoints through their own queues, never on the comment's path.

``endpoints`` (what an endpoint is, validated; the endpoints file), ``payloads`` (each event's
JSON), ``delivery`` (one queue and one task per endpoint: retries with exponential backoff, a
dead-letter list, the log of recent deliveries) and ``dispatcher`` (the chat's event sink:
orders events per room and hands them to the endpoints that want them). docs/webhooks.md."""
