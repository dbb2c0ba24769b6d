"""Remote translation: gateway nodes hand translations to translator nodes through a Redis job
queue. ``client`` (gateway side: ``RemoteTranslator``), ``worker`` (translator side:
``TranslatorWorker``), ``jobs`` (keys, encodings and the ``RedisLink`` protocol both take)."""
