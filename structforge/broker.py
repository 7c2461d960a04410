"""kombu's Redis transport, keeping one client per channel for the commands it sends.

The stock channel builds a new `redis.Redis` around its connection pool for every publish and
every acknowledgement; with redis-py 8 that constructor costs about half a millisecond of CPU
(it fills a table of response callbacks each time), paid once per run by the web process and
again by the worker. A `redis.Redis` borrows a pooled connection for each command, so one
instance can serve every thread; the blocking reads keep their own client, as before.
"""

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _command_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        if self._command_client is None:
            self._command_client = super()._create_client()
        return self._command_client


class Transport(kombu_redis.Transport):
    Channel = Channel
