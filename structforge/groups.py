"""Where channels_redis's pub/sub layer listens for a Channels group, so others can publish there.

That layer sends a group message as one PUBLISH, on the group's own Redis channel, of the
message in msgpack. Its `group_send` is a coroutine, so a thread outside an event loop runs one
for every send; in a worker that cost more CPU than everything else about publishing a run's live
events (docs/benchmarks.md). Knowing the channel, a Redis script can publish the same bytes.
"""

from dataclasses import dataclass

from django.conf import settings

PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"


@dataclass(frozen=True)
class PubSubTarget:
    redis_url: str
    prefix: str

    def channel(self, group: str) -> str:
        # The name channels_redis's pub/sub layer subscribes to for a group.
        return f"{self.prefix}__group__{group}"


def pubsub_target(alias: str = "default") -> PubSubTarget | None:
    """Where the layer's group messages go, when it is channels_redis's pub/sub layer on one Redis
    with plain msgpack messages.

    None for any other layer, for one sharded over several servers (then only its own
    `group_send` knows which server a group lives on), and for encrypted messages.
    """
    layer = settings.CHANNEL_LAYERS.get(alias, {})
    config = layer.get("CONFIG", {})
    hosts = config.get("hosts", [])
    if layer.get("BACKEND") != PUBSUB_LAYER or len(hosts) != 1:
        return None
    if config.get("symmetric_encryption_keys") or config.get("serializer_format", "msgpack") != "msgpack":
        return None
    host = hosts[0]
    address = host.get("address") if isinstance(host, dict) else host
    if not isinstance(address, str):
        return None
    return PubSubTarget(redis_url=address, prefix=config.get("prefix", "asgi"))
