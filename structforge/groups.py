"""Sending Channels group messages from a plain thread, without an event loop.

channels_redis's pub/sub layer sends a group message as one PUBLISH of the layer's serialized
message on the group's own Redis channel. Its `group_send` is a coroutine, so a thread outside
an event loop runs one for every send, and in a worker that cost more CPU than everything else
about publishing a run's live events (docs/benchmarks.md). `publish` sends the same PUBLISH
commands through a plain Redis client, any number of groups in one round trip.
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
    """Where the layer's group messages go, when it is channels_redis's pub/sub layer on one Redis.

    None for any other layer, or for one sharded over several servers (then only its own
    `group_send` knows which server a group lives on).
    """
    layer = settings.CHANNEL_LAYERS.get(alias, {})
    config = layer.get("CONFIG", {})
    hosts = config.get("hosts", [])
    if layer.get("BACKEND") != PUBSUB_LAYER or len(hosts) != 1:
        return None
    host = hosts[0]
    address = host.get("address") if isinstance(host, dict) else host
    if not isinstance(address, str):
        return None
    return PubSubTarget(redis_url=address, prefix=config.get("prefix", "asgi"))


def publish(client, target: PubSubTarget, layer, messages: list[tuple[str, dict]]) -> None:
    """Send each (group, message) in order, as `layer.group_send` would, in one round trip.

    `client` is a synchronous redis-py client connected to `target.redis_url`; `layer` serializes.
    """
    with client.pipeline(transaction=False) as pipe:
        for group, message in messages:
            pipe.publish(target.channel(group), layer.serialize(message))
        pipe.execute()
