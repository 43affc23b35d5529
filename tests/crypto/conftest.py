# Key rotation crosses apps: it needs the HAN world and a webhook receiver.
from tests.han.conftest import alice_network, alice_premise, captured, identity  # noqa: F401 (fixtures)
from tests.webhook_receiver import receiver  # noqa: F401 (fixture)
