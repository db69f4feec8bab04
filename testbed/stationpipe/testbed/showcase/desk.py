"""What the demo shows people: a DingTalk robot on a loopback port (the testbed's, checking the signed URL
and the markdown as DingTalk documents them) that the rules engine's ``dingtalk`` channel posts the river
sections' warnings and pre-warnings to, and the operators' page (预警处置台) served by the rules engine
with a demo account made at start (the users file ``stationpipe rules user add`` writes, a fresh password
printed), so a person running the demo can open the page and acknowledge a warning."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stationpipe.rules.handling.accounts import Account, Role, UsersFile, hash_password, write
from stationpipe.testbed.robots import DingTalkRobot
from stationpipe.testbed.services import free_port
from stationpipe.testbed.showcase.fleet import RULE

#: Environment variables that carry the robot's access token and secret to the rules engine.
TOKEN_ENV, SECRET_ENV = "STATIONPIPE_DEMO_DINGTALK_TOKEN", "STATIONPIPE_DEMO_DINGTALK_SECRET"
#: The demo's operator account, and the duty phone the DingTalk messages @-mention.
USER, PHONE = "demo", "13800000000"
#: Seconds the DingTalk channel collects warnings into one message.
GROUP_WINDOW = 2.0


@dataclass
class PeopleSide:
    """The DingTalk receiver and the operators' page of one demo run."""

    workdir: Path
    robot: DingTalkRobot = field(default_factory=DingTalkRobot)
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    shown: int = 0

    @property
    def users(self) -> Path:
        """The users file the engine's ``[api]`` reads."""
        return self.workdir / "users.json"

    @property
    def url(self) -> str:
        """The operators' page."""
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start the robot and write the users file with the demo account (an operator, scrypt-hashed)."""
        account = Account(name=USER, role=Role.OPERATOR, password=hash_password(self.password))
        write(self.users, UsersFile(users=(account,)))
        self.robot.start()

    def stop(self) -> None:
        """Stop the robot."""
        self.robot.stop()

    def env(self) -> dict[str, str]:
        """The robot's secrets, for the rules engine's environment."""
        return {TOKEN_ENV: self.robot.token, SECRET_ENV: self.robot.secret}

    def rules_toml(self) -> str:
        """``[delivery.dingtalk]`` (the river sections' warnings and pre-warnings) and ``[api]``."""
        return (
            f'[delivery.dingtalk]\nurl = "{self.robot.url}"\naccess_token_env = "{TOKEN_ENV}"\n'
            f'secret_env = "{SECRET_ENV}"\ngroup_window = "{GROUP_WINDOW:g}s"\n'
            f'[[delivery.dingtalk.routes]]\nname = "duty"\nrules = ["{RULE.section}", "{RULE.upstream}"]\n'
            f'recipients = ["{PHONE}"]\n'
            f'[api]\nport = {self.port}\nusers = "{self.users}"\n\n'
        )

    def messages(self) -> list[dict[str, Any]]:
        """The DingTalk messages the robot accepted (signature and format checked), once each."""
        return list(self.robot.unique().values())

    def new_lines(self) -> list[str]:
        """A log line for each DingTalk message accepted since the last call."""
        got = self.messages()
        lines = [message_line(m) for m in got[self.shown :]]
        self.shown = len(got)
        return lines

    def to_json(self) -> dict[str, Any]:
        """What the robot got: message count, refusals (a bad sign or format), each message's title."""
        got = self.messages()
        return {
            "messages": len(got),
            "refused": list(self.robot.refused),
            "markdown": all(m.get("msgtype") == "markdown" for m in got),
            "titles": [m["markdown"]["title"] for m in got],
            "texts": [m["markdown"]["text"] for m in got],
        }


def message_line(message: dict[str, Any]) -> str:
    """One accepted DingTalk message as a log line: its Chinese and English titles."""
    lines = [ln.strip() for ln in message["markdown"]["text"].splitlines() if ln.strip()]
    english = lines[1].strip("*") if len(lines) > 1 else ""
    return f"[bold magenta]钉钉 DingTalk[/] ← {message['markdown']['title']}" + (
        f" / {english}" if english else ""
    )
