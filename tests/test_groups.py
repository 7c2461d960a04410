"""Group messages sent without an event loop reach the subscribers of channels_redis's pub/sub layer."""

import asyncio

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings

from structforge import groups

RECEIVE_TIMEOUT_S = 5


def test_published_messages_reach_a_channel_in_the_group_in_order():
    target = groups.pubsub_target()
    assert target is not None and target.redis_url == settings.REDIS_URL
    layer = get_channel_layer()
    client = redis.Redis.from_url(settings.REDIS_URL)
    messages = [{"type": "execution.events", "events": [{"seq": seq, "at": None}]} for seq in (1, 2, 3)]

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("structforge-test-group", channel)
        groups.publish(client, target, layer, [("structforge-test-group", message) for message in messages])
        groups.publish(client, target, layer, [("another-group", {"type": "execution.events", "events": []})])
        received = []
        async with asyncio.timeout(RECEIVE_TIMEOUT_S):
            for _ in messages:
                received.append(await layer.receive(channel))
        await layer.group_discard("structforge-test-group", channel)
        return received

    try:
        assert async_to_sync(scenario)() == messages
    finally:
        client.close()


def test_other_layers_and_sharded_ones_have_no_single_target(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert groups.pubsub_target() is None

    sharded = {"hosts": ["redis://127.0.0.1:6379/1", "redis://127.0.0.1:6380/1"]}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": groups.PUBSUB_LAYER, "CONFIG": sharded}}
    assert groups.pubsub_target() is None

    one_host = {"hosts": ["redis://127.0.0.1:6379/1"], "prefix": "sf"}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": groups.PUBSUB_LAYER, "CONFIG": one_host}}
    assert groups.pubsub_target() == groups.PubSubTarget("redis://127.0.0.1:6379/1", "sf")

