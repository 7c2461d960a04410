"""Where channels_redis's pub/sub layer listens, read from the settings (the publishing itself is
tested through executions.live, against the layer's own subscriptions)."""

from structforge import groups


def test_the_pubsub_layer_on_one_redis_is_a_target(settings):
    one_host = {"hosts": [{"address": "redis://127.0.0.1:6379/1"}], "prefix": "sf"}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": groups.PUBSUB_LAYER, "CONFIG": one_host}}

    target = groups.pubsub_target()

    assert target == groups.PubSubTarget("redis://127.0.0.1:6379/1", "sf")
    assert target.channel("execution-7") == "sf__group__execution-7"


def test_other_layers_sharded_or_encrypted_ones_are_not(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert groups.pubsub_target() is None

    for config in (
        {"hosts": ["redis://127.0.0.1:6379/1", "redis://127.0.0.1:6380/1"]},
        {"hosts": ["redis://127.0.0.1:6379/1"], "symmetric_encryption_keys": ["secret"]},
        {"hosts": ["redis://127.0.0.1:6379/1"], "serializer_format": "json"},
    ):
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": groups.PUBSUB_LAYER, "CONFIG": config}}
        assert groups.pubsub_target() is None, config
