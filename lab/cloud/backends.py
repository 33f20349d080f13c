"""MariaDB and RabbitMQ for the lab cloud: started by dcops on 127.0.0.1, data in the lab folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from dcops.core.errors import MissingDependency, OperationFailed
from dcops.lab.cloud import processes
from dcops.lab.cloud.configs import DB_USER, RABBIT_USER, Secrets, mariadb, write
from dcops.lab.cloud.layout import HOST, CloudLayout

DATABASES = (
    "keystone",
    "glance",
    "placement",
    "nova_api",
    "nova",
    "nova_cell0",
    "neutron",
    "octavia",
    "cinder",
)
RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
READY_TIMEOUT = 90.0


def program(name: str, *folders: Path) -> str:
    """A program's path, or MissingDependency naming the install script."""
    for folder in folders:
        if (folder / name).is_file():
            return str(folder / name)
    found = shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")
    if found is None:
        raise MissingDependency(
            f"{name} is not installed; the lab cloud needs its Debian packages: run "
            "scripts/install-lab-cloud.sh (as root)"
        )
    return found


def wait_port(port: int, what: str, log: Path, timeout: float = READY_TIMEOUT) -> None:
    """Wait until something accepts connections on HOST:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise OperationFailed(
        f"{what} did not open {HOST}:{port} within {timeout:.0f} s; last lines of {log}:\n"
        + processes.tail(log)
    )


def start_mariadb(layout: CloudLayout, secrets: Secrets) -> None:
    """Initialise the data folder once, start mariadbd, create the lab's databases and user."""
    cnf = layout.etc("mariadb") / "my.cnf"
    write(cnf, mariadb(layout))
    data = layout.data("mariadb")
    log = layout.log("mariadb")
    if not (data / "mysql").is_dir():
        data.mkdir(mode=0o700, parents=True, exist_ok=True)
        processes.run(
            [
                program("mariadb-install-db", Path("/usr/bin")),
                f"--defaults-file={cnf}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
            ],
            root=layout.root,
            log=log,
            env={},
        )
    processes.launch(
        [program("mariadbd", Path("/usr/sbin")), f"--defaults-file={cnf}"],
        root=layout.root,
        log=layout.log("mariadbd"),
        pid_file=layout.pid("mariadb"),
        env={},
    )
    wait_port(layout.port("mariadb"), "MariaDB", log)
    statements = [f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8" for name in DATABASES]
    statements += [
        f"CREATE USER IF NOT EXISTS '{DB_USER}'@'127.0.0.1' IDENTIFIED BY '{secrets.database}'",
        f"GRANT ALL PRIVILEGES ON *.* TO '{DB_USER}'@'127.0.0.1'",
    ]
    sql(layout, ";\n".join(statements) + ";")


def sql(layout: CloudLayout, text: str) -> None:
    """Run SQL as MariaDB's root over the lab's socket."""
    done = subprocess.run(
        [program("mariadb", Path("/usr/bin")), f"--socket={layout.run / 'mysqld.sock'}", "-uroot"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise OperationFailed(f"MariaDB refused the lab's set-up: {done.stderr.strip()}")


def rabbit_env(layout: CloudLayout) -> dict[str, str]:
    """Environment of RabbitMQ and rabbitmqctl: loopback only, files in the lab folder."""
    data = layout.data("rabbitmq")
    return {
        "HOME": str(data),
        "RABBITMQ_NODENAME": f"dcops-lab-{layout.port('rabbitmq')}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": HOST,
        "RABBITMQ_NODE_PORT": str(layout.port("rabbitmq")),
        "RABBITMQ_DIST_PORT": str(layout.port("rabbitmq-dist")),
        "RABBITMQ_MNESIA_BASE": str(data / "mnesia"),
        "RABBITMQ_LOG_BASE": str(layout.root / "log"),
        "RABBITMQ_LOGS": str(layout.log("rabbitmq")),
        "RABBITMQ_PID_FILE": str(layout.run / "rabbitmq-beam.pid"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(layout.etc("rabbitmq") / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(layout.etc("rabbitmq") / "rabbitmq"),
        "RABBITMQ_SERVER_START_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        "ERL_EPMD_ADDRESS": HOST,
        "ERL_EPMD_PORT": str(layout.port("epmd")),
    }


def start_rabbitmq(layout: CloudLayout, secrets: Secrets) -> None:
    """Start a RabbitMQ node on loopback and give the lab's services a user."""
    layout.data("rabbitmq").mkdir(mode=0o700, parents=True, exist_ok=True)
    write(layout.etc("rabbitmq") / "enabled_plugins", "[].\n")
    write(
        layout.etc("rabbitmq") / "rabbitmq.conf",
        f"listeners.tcp.default = {HOST}:{layout.port('rabbitmq')}\n"
        "loopback_users = none\nvm_memory_high_watermark.relative = 0.2\n"
        "disk_free_limit.absolute = 50MB\n",
    )
    env = rabbit_env(layout)
    processes.launch(
        [program("rabbitmq-server", RABBIT_BIN)],
        root=layout.root,
        log=layout.log("rabbitmq-server"),
        pid_file=layout.pid("rabbitmq"),
        env=env,
    )
    ctl = program("rabbitmqctl", RABBIT_BIN)
    log = layout.log("rabbitmq-server")
    pid_file = env["RABBITMQ_PID_FILE"]
    processes.run([ctl, "wait", pid_file, "--timeout", "90"], root=layout.root, log=log, env=env)
    wait_port(layout.port("rabbitmq"), "RabbitMQ", log)
    rabbitmqctl(layout, ["delete_user", RABBIT_USER], check=False)
    rabbitmqctl(layout, ["add_user", RABBIT_USER], stdin=secrets.rabbit + "\n")
    rabbitmqctl(layout, ["set_permissions", RABBIT_USER, ".*", ".*", ".*"])


def rabbitmqctl(layout: CloudLayout, args: list[str], check: bool = True, stdin: str = "") -> None:
    """One rabbitmqctl command against the lab's node (a password goes on stdin, never argv)."""
    env = processes.environment(layout.root, rabbit_env(layout))
    done = subprocess.run(
        [program("rabbitmqctl", RABBIT_BIN), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if check and done.returncode != 0:
        raise OperationFailed(f"rabbitmqctl {args[0]} failed: {done.stderr.strip()[-400:]}")
