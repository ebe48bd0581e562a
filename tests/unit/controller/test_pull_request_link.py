"""A pull request's address goes into status only whole: a host that answers an address longer
than status holds gets none recorded (the number still names the pull request), instead of a
status write that would fail validation on every retry."""

from __future__ import annotations

from ferryman.api import status
from ferryman.controller.strategies import pull_request


def test_an_address_status_can_hold_is_kept() -> None:
    url = "https://git.example.com/" + "a" * (status.MAX_URL_LENGTH - 24)
    assert len(url) == status.MAX_URL_LENGTH
    assert pull_request._link(url) == url
    assert status.PromotionResult(url=pull_request._link(url), number=7).url == url


def test_a_longer_address_is_left_out_not_cut() -> None:
    url = "https://git.example.com/" + "a" * status.MAX_URL_LENGTH
    assert pull_request._link(url) is None
    assert status.PromotionResult(url=pull_request._link(url), number=7).number == 7
    assert pull_request._link(None) is None
