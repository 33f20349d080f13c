"""Scrubbing device configs: secret values go, everything else stays for the diff."""

from __future__ import annotations

from dcops.lab.configs import SCRUBBED, scrub

RUNNING = """Building configuration...

Current configuration:
!
frr version 8.4.4
hostname leaf-1
enable password s3cret-enable
password vty-pass
!
interface swp1
 ip ospf authentication-key ospf-key-1
 ip ospf message-digest-key 1 md5 md5-key-2
exit
!
router bgp 65101
 neighbor 10.255.0.0 remote-as 65000
 neighbor 10.255.0.0 password bgp-secret
exit
snmp-server community public-ro RO
key chain k
 key 1
  key-string chain-secret
end
"""


def test_scrub_removes_every_secret_value_and_keeps_the_rest() -> None:
    out = scrub(RUNNING)
    for secret in (
        "s3cret-enable",
        "vty-pass",
        "ospf-key-1",
        "md5-key-2",
        "bgp-secret",
        "public-ro",
        "chain-secret",
    ):
        assert secret not in out
    assert f" neighbor 10.255.0.0 password {SCRUBBED}" in out.splitlines()
    assert f"snmp-server community {SCRUBBED} RO" in out.splitlines()
    assert " neighbor 10.255.0.0 remote-as 65000" in out.splitlines()
    assert "Building configuration" not in out
    assert out.startswith("!\nfrr version 8.4.4\nhostname leaf-1\n")


def test_scrub_is_stable() -> None:
    assert scrub(scrub(RUNNING)) == scrub(RUNNING)
