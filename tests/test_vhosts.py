"""The one vhost of an installation: ``--vhost``, else the broker URL's, else ``/``; never two."""

from __future__ import annotations

import pika
import pytest

from vbcore.errors import ConfigurationError
from vbcore.transport.vhosts import masked, resolve_vhost, url_vhost, with_vhost


@pytest.mark.parametrize(
    ("url", "vhost"),
    [("amqp://h:5672", None), ("amqp://h:5672/", None), ("amqp://h/vbus", "vbus"), ("amqp://h/%2F", "/"),
     ("amqp://h/a%2Fb", "a/b")],
)  # fmt: skip
def test_a_url_names_a_vhost_only_when_its_path_does(url: str, vhost: str | None) -> None:
    assert url_vhost(url) == vhost


def test_the_option_wins_over_a_url_that_names_none_and_the_url_over_the_default() -> None:
    assert resolve_vhost("amqp://g:p@h:5672/", "vbus") == "vbus"
    assert resolve_vhost("amqp://g:p@h:5672/vbus", None) == "vbus"
    assert resolve_vhost("amqp://g:p@h:5672/", None) == "/"
    assert resolve_vhost("amqp://g:p@h:5672/vbus", "vbus") == "vbus"


def test_a_url_naming_another_vhost_than_the_option_is_refused_in_both_languages() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_vhost("amqp://g:p@h:5672/staging", "vbus")
    assert "names vhost 'staging' but --vhost (or VBUS_VHOST) says 'vbus'" in str(caught.value)
    assert "hãy chỉ ghi vhost một lần" in caught.value.describe("vi")


def test_failover_nodes_naming_different_vhosts_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="different vhosts"):
        resolve_vhost("amqp://h1/a;amqp://h2/b", None)


def test_every_node_of_the_rewritten_url_names_the_vhost_as_pika_reads_it() -> None:
    url = with_vhost("amqp://g:p@h1:5672/;amqp://g:p@h2:5672", "/")
    assert url == "amqp://g:p@h1:5672/%2F;amqp://g:p@h2:5672/%2F"
    for node in url.split(";"):
        assert pika.URLParameters(node).virtual_host == "/"
    assert pika.URLParameters(with_vhost("amqp://g:p@h/x", "a/b")).virtual_host == "a/b"


def test_masked_hides_the_password_only() -> None:
    assert masked("amqp://g22:secret@h:5672/vbus") == "amqp://g22:***@h:5672/vbus"
    assert masked("amqp://h/vbus") == "amqp://h/vbus"
