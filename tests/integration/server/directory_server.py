"""A real OpenLDAP (Debian's slapd) on loopback ports, with TLS from a test CA and a test directory."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcops.server.certificates import loopback_certificate
from tests.integration.server.live_server import free_port

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SUFFIX = "dc=gdc,dc=example"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-Secret-42"
LOOKUP_DN = f"cn=dcops-lookup,{SUFFIX}"
LOOKUP_PASSWORD = "lookup-Secret-42"
PASSWORD = "Dir-Passw0rd-7"  # every directory user's password
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

# user → groups; lina is in a group dcops does not map, sunli only in one that needs TOTP.
PEOPLE = {
    "wanglei": ["fgw-staff"],
    "zhaoli": ["gdc-facility"],
    "qianwei": ["fgw-staff"],
    "sunhao": ["gdc-facility"],
    "lina": ["gdc-visitors"],
    "sunli": ["gdc-auditors"],
}
GROUP_ROLES = {
    "fgw-staff": ["department:fgw"],
    "gdc-facility": ["facility"],
    "gdc-auditors": ["auditor"],
}


def missing() -> str | None:
    """Why the directory cannot start here, or None."""
    if not SLAPD.exists() or not SLAPADD.exists():
        return "slapd is not installed (apt-get install slapd): the LDAP tests need a real OpenLDAP"
    return None


@dataclass
class Directory:
    """One slapd process: ldap:// (for StartTLS) and ldaps:// on loopback, its own CA."""

    folder: Path
    ldap_port: int = field(default_factory=free_port)
    ldaps_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def ca(self) -> Path:
        """The test CA that signed the directory's certificate."""
        return self.folder / "tls" / "ca.pem"

    @property
    def ldaps_url(self) -> str:
        """The TLS-from-the-start address."""
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    @property
    def ldap_url(self) -> str:
        """The plain address, for StartTLS."""
        return f"ldap://127.0.0.1:{self.ldap_port}"

    def start(self) -> None:
        """Write the config and the directory, start slapd and wait until it takes connections."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "db").mkdir()
        loopback_certificate(self.folder / "tls", "127.0.0.1")
        config = self.folder / "slapd.conf"
        config.write_text(self._config(), encoding="utf-8")
        data = self.folder / "data.ldif"
        data.write_text(_ldif(), encoding="utf-8")
        subprocess.run(
            [str(SLAPADD), "-f", str(config), "-l", str(data)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        log = (self.folder / "slapd.log").open("wb")
        urls = f"{self.ldap_url}/ {self.ldaps_url}/"
        self.process = subprocess.Popen(
            [str(SLAPD), "-f", str(config), "-h", urls, "-d", "0"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.folder / 'slapd.log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.ldaps_port), timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("slapd did not take connections within 60 s")

    def stop(self) -> None:
        """Stop slapd (its process group) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        shutil.rmtree(self.folder / "db", ignore_errors=True)

    def admin(self) -> Any:
        """A connection bound as the directory's administrator, to change it during a test."""
        import ssl

        import ldap3

        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca))
        server = ldap3.Server(self.ldaps_url, tls=tls, connect_timeout=10)
        return ldap3.Connection(
            server, user=ADMIN_DN, password=ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True
        )

    def site_settings(self, lookup_password_file: Path) -> str:
        """The [identity.ldap] tables for dcops.toml, pointing at this directory."""
        lines = [
            "[identity.ldap]",
            f'url = "{self.ldaps_url}"',
            f'user_dn = "uid={{user}},ou=people,{SUFFIX}"',
            f'group_base = "ou=groups,{SUFFIX}"',
            f'ca_file = "{self.ca}"',
            f'lookup_dn = "{LOOKUP_DN}"',
            f'lookup_password_file = "{lookup_password_file}"',
            "recheck_seconds = 0",
            "",
            "[identity.ldap.group_roles]",
            *(f'{group} = ["{roles[0]}"]' for group, roles in GROUP_ROLES.items()),
        ]
        return "\n".join(lines) + "\n"

    def _config(self) -> str:
        tls = self.folder / "tls"
        return "\n".join(
            [
                *(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS),
                "modulepath /usr/lib/ldap",
                "moduleload back_mdb",
                "moduleload ppolicy",
                f"pidfile {self.folder / 'slapd.pid'}",
                f"TLSCACertificateFile {tls / 'ca.pem'}",
                f"TLSCertificateFile {tls / 'server.pem'}",
                f"TLSCertificateKeyFile {tls / 'server.key'}",
                "database mdb",
                "maxsize 10485760",
                f'suffix "{SUFFIX}"',
                f'rootdn "{ADMIN_DN}"',
                f"rootpw {ADMIN_PASSWORD}",
                f"directory {self.folder / 'db'}",
                "overlay ppolicy",
                "access to attrs=userPassword by self write by anonymous auth by * none",
                "access to * by users read by * none",
                "",
            ]
        )


def _ldif() -> str:
    entries = [
        [f"dn: {SUFFIX}", "objectClass: dcObject", "objectClass: organization", "o: gdc",
         "dc: gdc"],
        [f"dn: ou=people,{SUFFIX}", "objectClass: organizationalUnit", "ou: people"],
        [f"dn: ou=groups,{SUFFIX}", "objectClass: organizationalUnit", "ou: groups"],
        [f"dn: {LOOKUP_DN}", "objectClass: organizationalRole",
         "objectClass: simpleSecurityObject", "cn: dcops-lookup",
         f"userPassword: {LOOKUP_PASSWORD}"],
    ]  # fmt: skip
    for user in PEOPLE:
        entries.append(
            [
                f"dn: uid={user},ou=people,{SUFFIX}",
                "objectClass: inetOrgPerson",
                f"uid: {user}",
                f"cn: {user}",
                f"sn: {user}",
                f"userPassword: {PASSWORD}",
            ]
        )
    groups = sorted({g for gs in PEOPLE.values() for g in gs})
    for group in groups:
        members = [u for u, gs in PEOPLE.items() if group in gs]
        entries.append(
            [
                f"dn: cn={group},ou=groups,{SUFFIX}",
                "objectClass: groupOfNames",
                f"cn: {group}",
                *(f"member: uid={u},ou=people,{SUFFIX}" for u in members),
            ]
        )
    return "\n\n".join("\n".join(e) for e in entries) + "\n"
