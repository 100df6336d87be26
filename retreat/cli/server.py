"""`retreat server status|stop`: the course's grading server (retreat/grading/server.py), which the
first check starts and which exits by itself after an idle period."""

from __future__ import annotations

import click

from retreat.cli.common import echo_json, json_option
from retreat.course import Course


@click.group("server")
def server() -> None:
    """The grading server that makes checks fast (started by the first check; --cold bypasses it)."""


@server.command("status")
@json_option
def status_cmd(as_json: bool) -> None:
    """Whether the course's grading server runs: pid, uptime, socket, versions, checks served."""
    from retreat.cli.render import console, escape
    from retreat.grading.client import client_for, is_server, read_info

    course = Course.find()
    client = client_for(course.root, course.state_dir)
    status = client.status()
    if as_json:
        echo_json(status or {"running": None})
        return
    if status is None:
        info = read_info(client.place)
        if info is not None and is_server(info["pid"], course.state_dir):
            console.print(f"grading server {info['pid']} is {info.get('state', 'starting')} but not answering "
                          f"(log: {escape(str(client.place.log))})")
        else:
            console.print("no grading server is running; the next check starts one")
        return
    ident = status.get("identity", {})
    idle_left = max(0.0, status["idle_timeout"] - status["idle_for"])
    console.print(f"[bold]grading server[/] pid {status['pid']}, up {_duration(status['uptime'])}, "
                  f"{status['served']} checks served" + (f", {status['running']} running" if status["running"] else ""))
    console.print(f"  socket:  {escape(status['socket'])}")
    console.print(f"  log:     {escape(status['log'])}")
    console.print(f"  engine:  retreat {escape(ident.get('engine', '?'))} (code {escape(ident.get('code', '?'))}), "
                  f"torch {escape(ident.get('torch', '?'))}, pytest {escape(ident.get('pytest', '?'))}")
    console.print(f"  python:  {escape(ident.get('python', '?').splitlines()[0])}")
    console.print(f"  exits after {_duration(status['idle_timeout'])} without a check "
                  f"({_duration(idle_left)} from now)")


@server.command("stop")
def stop_cmd() -> None:
    """Stop the course's grading server (the next check starts a new one)."""
    from retreat.cli.render import console
    from retreat.grading.client import client_for

    course = Course.find()
    pid = client_for(course.root, course.state_dir).stop()
    console.print(f"stopped grading server {pid}" if pid else "no grading server was running")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
