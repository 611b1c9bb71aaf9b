"""The rules behind staff accounts and throttling, as pure functions: the password policy,
the backoff after failed sign-ins, and which address a request comes from."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from pipeline.accounts import (
    AccountError,
    Throttled,
    check_password,
    common_passwords,
    password_problem,
    vi_wait,
)
from pipeline.config import Settings
from pipeline.throttle import ACCOUNT, ADDRESS, Backoff, client_address, seconds_until


@pytest.mark.parametrize("password, username, problem", [
    ("ngắn-quá", None, "password_too_short"),
    ("123456789", None, "password_too_short"),
    ("1234567890", None, "password_too_common"),  # the example
    ("matkhau123", None, "password_too_common"),
    ("mậtkhẩu1234", None, "password_too_common"),  # marks do not hide it
    ("MATKHAU@2024", None, "password_too_common"),  # nor capitals and a common ending
    ("123456789a", None, "password_too_common"),
    ("anhyeuem123", None, "password_too_common"),
    ("password12345", None, "password_too_common"),  # a common word with digits added
    ("qwertyuiop", None, "password_too_common"),
    ("aaaaaaaaaaaa", None, "password_too_common"),
    ("abababababab", None, "password_too_common"),
    ("lan.nguyen", "lan.nguyen", "password_has_username"),  # the example
    ("LAN.NGUYEN-2024", "lan.nguyen", "password_has_username"),
    ("xin-chao-minh-oi", "minh", "password_has_username"),
    ("Nguyễn-Văn-Hải-99", "hai", "password_has_username"),  # folded: Hải contains hai
    ("mật-khẩu-đủ-dài-1", "lan", None),
    ("an-toan-hon-nhieu", "an", None),  # a 2-letter name inside is not refused
    ("sông Hồng mùa lũ 1971", "lan", None),
    ("Thu-Duc-2024!x", None, None),
])
def test_the_password_policy(password, username, problem):
    assert password_problem(password, username) == problem


def test_policy_failures_say_why_in_english_and_vietnamese():
    with pytest.raises(AccountError) as short:
        check_password("ngắn", "lan")
    assert short.value.code == "password_too_short" and "10 characters" in short.value.message
    assert short.value.vi == "Mật khẩu phải có ít nhất 10 ký tự."
    with pytest.raises(AccountError) as common:
        check_password("matkhau123", "lan")
    assert "phổ biến" in common.value.vi
    with pytest.raises(AccountError) as named:
        check_password("lan-lan-lan-2024", "lan")
    assert "tên đăng nhập" in named.value.vi
    check_password("mật-khẩu-đủ-dài-1", "lan")  # nothing raised


def test_the_common_password_list_ships_with_the_code():
    common = common_passwords()
    assert len(common) > 15000
    assert {"123456", "password", "matkhau123", "123456789a", "anhyeuem"} <= common


def test_backoff_is_free_then_doubles_up_to_its_cap():
    b = Backoff(free=3, base=2.0, cap=20.0, window=60.0)
    assert [b.wait(n) for n in range(1, 8)] == [0, 0, 2, 4, 8, 16, 20]
    assert b.wait(10**6) == 20.0  # no overflow far past the cap
    assert ACCOUNT.wait(ACCOUNT.free - 1) == 0 < ACCOUNT.wait(ACCOUNT.free)
    assert ADDRESS.free > ACCOUNT.free  # an office behind one address is not locked out first
    assert ACCOUNT.wait(30) == ACCOUNT.cap  # 30 wrong passwords: held back the longest


def test_waits_are_whole_seconds_rounded_up_and_said_in_vietnamese():
    t = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert seconds_until(t + dt.timedelta(seconds=1.2), t) == 2
    assert seconds_until(t + dt.timedelta(milliseconds=1), t) == 1
    assert seconds_until(t - dt.timedelta(seconds=5), t) == 0
    assert seconds_until(None, t) == 0
    assert [vi_wait(n) for n in (1, 59, 60, 61, 900)] == [
        "1 giây", "59 giây", "1 phút", "2 phút", "15 phút"]
    assert "2 phút" in Throttled(90).vi and Throttled(90).retry_after == 90


def _rt(proxies: str = ""):
    return SimpleNamespace(settings=Settings(trusted_proxies=proxies))


def test_forwarded_addresses_count_only_behind_a_trusted_proxy():
    spoofed = "1.2.3.4, 5.6.7.8"
    assert client_address(_rt(), "127.0.0.1", spoofed) == "127.0.0.1"  # default: trust none
    assert client_address(_rt("10.0.0.0/8"), "127.0.0.1", spoofed) == "127.0.0.1"
    behind = _rt("127.0.0.1, 10.0.0.0/8")
    assert client_address(behind, "127.0.0.1", "203.0.113.9") == "203.0.113.9"
    # what the client wrote before the proxies is not believed: the right-most untrusted hop
    assert client_address(behind, "127.0.0.1", "1.2.3.4, 203.0.113.9, 10.1.1.1") == \
        "203.0.113.9"
    assert client_address(behind, "127.0.0.1", "10.2.2.2, 10.1.1.1") == "10.2.2.2"
    assert client_address(behind, "127.0.0.1", "not-an-ip, 203.0.113.9") == "203.0.113.9"
    assert client_address(behind, "127.0.0.1", "203.0.113.9, garbage") == "127.0.0.1"
    assert client_address(behind, "127.0.0.1", None) == "127.0.0.1"
    assert client_address(behind, None, None) == "unknown"
    assert client_address(_rt("::1"), "::1", "2001:db8::7") == "2001:db8::7"


def test_a_trusted_proxy_setting_must_be_addresses():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not an IP address"):
        Settings(trusted_proxies="127.0.0.1, proxy.example")
    assert len(Settings(trusted_proxies=" 127.0.0.1 ,10.0.0.0/8,").proxy_networks) == 2
