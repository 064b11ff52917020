"""The CI recipes of docs/ci.md run as written (issue 17 §3).

Each fenced block marked ``recipe=gitlab``, ``recipe=jenkins`` or ``recipe=github`` is read
from the doc and its shell steps are run verbatim, in a fresh workspace and home per job,
with the variables that CI system sets (GitLab's ``CI_*`` and ``id_tokens``, Jenkins's
``BUILD_NUMBER``/``GIT_COMMIT`` and ``credentials()``, GitHub's ``GITHUB_*`` and
``ACTIONS_ID_TOKEN_REQUEST_*`` with ``${{ vars/secrets/inputs }}`` filled in). What a
recipe does not do itself is done here as the people around it would: the one-time set-up
its prose names, the build tree a previous job left in ``dist/``, and between the release
and the deployment jobs the acceptance, the check-in and the check-out. On folder+SQLite
each runner is bare (a Python without the client), so the recipe's install line runs and
installs depot-client from a wheelhouse built from this tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import BIN, Server, serve
from tests.e2e.test_integrity import payments_team
from tests.fixtures.oidc import Issuer, oidc_issuer

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci.md"
#: A runner's Python: the system's, outside any virtual environment of the tests.
SYSTEM_PYTHON = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or "python3"
CI_PASSWORD = "the pipeline's own long passphrase"
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
FILES = {
    "bin/app.tar.gz": b"app build " * 4000,
    "lib/core.so": b"\x7fELF core " * 300,
    "build.log": b"compiler noise\n",
}


def recipe(name: str) -> str:
    """The text of the block fenced ```<lang> recipe=<name> in docs/ci.md (exactly one)."""
    found = re.findall(
        rf"^```\w+ recipe={name}\n(.*?)^```$", DOC.read_text(), flags=re.MULTILINE | re.DOTALL
    )
    assert len(found) == 1, f"docs/ci.md has {len(found)} blocks marked recipe={name}"
    return str(found[0])


@pytest.fixture(params=["folder+sqlite", "s3+postgresql"])
def ci_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    # The tests' issuer is http:// on 127.0.0.1; a real one is https://.
    yield from serve(request, tmp_path, {"DEPOT_OIDC_ALLOW_HTTP": "true"})


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bank's package index as far as the recipes need it: the depot-client wheel,
    built from a copy of this tree (the build leaves nothing in the repository)."""
    scratch = tmp_path_factory.mktemp("client-wheel")
    ignore = shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    for part in ("client", "policies", "distributions/depot-client"):
        shutil.copytree(ROOT / part, scratch / "tree" / part, ignore=ignore)
    wheels = scratch / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
         str(scratch / "tree" / "distributions" / "depot-client")],
        check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return wheels


@pytest.fixture
def runner_image(request: pytest.FixtureRequest) -> Path | None:
    """On folder+SQLite, each job runs on a bare runner (Python, no client), so that the
    recipe's install line runs: the wheelhouse it installs from. On S3+PostgreSQL the
    runner image has the client already (``None``), and the line is skipped."""
    if request.node.callspec.params["ci_server"] != "folder+sqlite":
        return None
    path: Path = request.getfixturevalue("wheelhouse")
    return path


class Site:
    """The bank's Depot as the recipes' prose sets it up, and the people around it."""

    def __init__(self, server: Server, tmp_path: Path, issuer: Issuer, wheels: Path | None) -> None:
        self.server, self.tmp, self.issuer = server, tmp_path, issuer
        self.wheels = wheels
        self.alice, self.carol, self.victor = payments_team(server, tmp_path)
        server.admin("user", "create", "ci-payments", "--password-stdin",
                     input=CI_PASSWORD + "\n")  # fmt: skip
        server.admin("group", "add-member", "payments", "ci-payments", "--role",
                     "software_manager")  # fmt: skip
        server.create_product("payments/core", "--category", "application", "--origin",
                              "in_house", env=self.alice, approver=self.victor)  # fmt: skip
        self.key = tmp_path / "provenance-key.pem"
        public = server.depot("provenance", "keygen", "-o", str(self.key), env=self.alice)
        server.depot("provenance", "key", "add", "payments", "--name", "release-pipelines",
                     "--public", public.stdout.strip(), env=self.alice)  # fmt: skip
        for claims in (("project_path=payments/core", "ref=main"),
                       ("repository=bank/payments-core", "ref=refs/heads/main")):  # fmt: skip
            server.depot("token", "oidc", "add", "--group", "payments", "--issuer", issuer.url,
                         "--audience", "depot", *(f"--claim={c}" for c in claims),
                         env=self.alice)  # fmt: skip
        self.group_token = server.depot_json("token", "create", "--group", "payments", "--scope",
                                             "upload", "--name", "jenkins",
                                             env=self.alice)["token"]  # fmt: skip
        self.variables = {
            "DEPOT_URL": server.url,
            "DEPOT_ROOT_FINGERPRINT": server.fingerprint,
            "DEPOT_ACCEPTANCE_OFFICER": "carol",
        }
        self.jobs = 0

    def workspace(self, with_build: bool) -> tuple[Path, dict[str, str]]:
        """A fresh runner: its workspace (with the build tree in dist/ if asked) and the
        environment every runner has (a HOME; a PATH where the client is installed, or on
        a bare runner a Python without it and the package index it installs from)."""
        self.jobs += 1
        root = self.tmp / f"job-{self.jobs}"
        work, home, temp = root / "workspace", root / "home", root / "tmp"
        for folder in (work, home, temp):
            folder.mkdir(parents=True)
        if with_build:
            for name, data in FILES.items():
                (work / "dist" / name).parent.mkdir(parents=True, exist_ok=True)
                (work / "dist" / name).write_bytes(data)
        env = {"HOME": str(home), "TMPDIR": str(temp), "LANG": "C.UTF-8"}
        if self.wheels is None:
            return work, env | {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin"}
        python = root / "python"
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(python)], check=True, timeout=300)
        # The machine's own pip settings stand for the runner's mirror of the registry.
        index = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
        links = " ".join(filter(None, (str(self.wheels), index.get("PIP_FIND_LINKS"))))
        return work, env | index | {
            "PATH": f"{python / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "PIP_FIND_LINKS": links,
        }

    def installed(self, work: Path) -> None:
        """On a bare runner, the job's `depot` is the one its install line put there."""
        if self.wheels is not None:
            assert (work.parent / "python" / "bin" / "depot").is_file()

    def key_file(self, work: Path) -> str:
        """A CI system's secret file: a copy of the key outside the workspace."""
        path = work.parent / "secret-provenance-key.pem"
        shutil.copy(self.key, path)
        return str(path)

    def after_release(self, version: str) -> None:
        """Acceptance (carol), check-in (alice asks, victor approves) and the check-out of
        ci-payments (it asks, victor approves): what happens between the two jobs."""
        ref = f"payments/core@{version}"
        s = self.server
        report = self.tmp / "report.txt"
        report.write_text("all tests pass\n")
        s.depot("accept", ref, "--report", str(report), env=self.carol)
        request = s.depot_json("checkin", "request", ref, "--notes", "release", env=self.alice)
        s.depot("approve", str(request["id"]), env=self.victor)
        ci = {"DEPOT_CONFIG_DIR": str(self.tmp / "cli-ci-payments")}
        s.depot("login", "--server", s.url, "--user", "ci-payments", "--password-stdin",
                input=CI_PASSWORD + "\n", env=ci)  # fmt: skip
        checkout = s.depot_json("checkout", "request", ref, "--purpose", "deploy", env=ci)
        s.depot("approve", str(checkout["id"]), env=self.victor)

    def check_release(self, work: Path, version: str, builder: str) -> None:
        """What the release job left: the push summary, the version delivered for
        acceptance with its provenance signed."""
        self.installed(work)
        pushed = json.loads((work / "depot-push.json").read_text())
        assert pushed["ref"] == f"payments/core@{version}"
        assert sorted(f["name"] for f in pushed["files"]) == ["bin/app.tar.gz", "lib/core.so"]
        assert pushed["provenance"]["builder_id"] == builder
        shown = self.server.depot_json("ls", f"payments/core@{version}", env=self.alice)
        assert shown["state"] == "submitted", shown["state"]
        assert shown["provenance"]["build_fields"] == "signed"

    def check_deploy(self, work: Path, version: str) -> None:
        self.installed(work)
        pulled = json.loads((work / "depot-pull.json").read_text())
        assert pulled["verified"] is True and pulled["ref"] == f"payments/core@{version}"
        assert len(pulled["signed"]["provenance"]) == 1
        for name in ("bin/app.tar.gz", "lib/core.so"):
            assert (work / "deploy" / name).read_bytes() == FILES[name]


def run(script: str, cwd: Path, env: dict[str, str], shell: list[str]) -> None:
    """Run one shell step as the CI system does; a failing step fails the test with its log."""
    path = cwd.parent / "step.sh"
    path.write_text(script)
    done = subprocess.run([*shell, str(path)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, (
        f"step failed ({done.returncode}):\n{script}\n{done.stdout}\n{done.stderr}"
    )


# -- GitLab CI ---------------------------------------------------------------------------


def gitlab_job(site: Site, config: dict[str, Any], name: str, extra: dict[str, str]) -> Path:
    job = config[name]
    work, env = site.workspace(with_build=name == "release")
    project = f"{site.issuer.url}/payments/core"
    env |= {
        "CI": "true", "GITLAB_CI": "true", "CI_SERVER_URL": site.issuer.url,
        "CI_PROJECT_PATH": "payments/core", "CI_PROJECT_URL": project,
        "CI_PIPELINE_ID": "4711", "CI_JOB_ID": "90210", "CI_JOB_URL": f"{project}/-/jobs/90210",
        "CI_COMMIT_SHA": COMMIT, "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main",
        "CI_RUNNER_ID": "17", "CI_JOB_TOKEN": "glcbt-64_not-for-depot",
        "CI_PROJECT_DIR": str(work), "CI_BUILDS_DIR": str(work.parent),
        **site.variables, "DEPOT_CI_PASSWORD": CI_PASSWORD,
        "DEPOT_PROVENANCE_KEY": site.key_file(work),  # a File variable: its path
        **extra,
    }  # fmt: skip
    for variable, spec in job.get("id_tokens", {}).items():
        env[variable] = site.issuer.token(datetime.now(UTC), aud=spec["aud"])
    lines = [*config["default"]["before_script"], *job["script"]]
    run(
        "set -eo pipefail\n" + "\n".join(lines) + "\n", work, env, ["bash", "--noprofile", "--norc"]
    )
    return work


def test_the_gitlab_recipe(ci_server: Server, runner_image: Path | None, tmp_path: Path) -> None:
    config = yaml.safe_load(recipe("gitlab"))
    assert config["stages"] == ["release", "deploy"]
    with oidc_issuer() as issuer:
        site = Site(ci_server, tmp_path, issuer, runner_image)
        work = gitlab_job(site, config, "release", {})
        site.check_release(work, "2.5.0-rc.4711", f"{issuer.url}/runners/17")
        site.after_release("2.5.0-rc.4711")
        deployed = gitlab_job(site, config, "deploy", {"DEPLOY_VERSION": "2.5.0-rc.4711"})
        site.check_deploy(deployed, "2.5.0-rc.4711")


# -- Jenkins -----------------------------------------------------------------------------


def jenkins_stages(text: str) -> dict[str, tuple[dict[str, str], list[str]]]:
    """Each stage of a declarative Jenkinsfile: its ``credentials()`` bindings and its
    ``sh '''…'''`` scripts (Groovy's triple single quotes: no interpolation; the recipe uses
    no backslash, which Groovy would read as an escape)."""
    stages: dict[str, tuple[dict[str, str], list[str]]] = {}
    parts = re.split(r"^\s*stage\('([^']+)'\)\s*\{$", text, flags=re.MULTILINE)
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        bindings = dict(re.findall(r"^\s*(\w+) = credentials\('([^']+)'\)$", body, re.MULTILINE))
        scripts = [textwrap.dedent(s) for s in re.findall(r"sh '''(.*?)'''", body, re.DOTALL)]
        assert all("\\" not in s for s in scripts), f"a backslash in stage {name}"
        stages[name] = (bindings, scripts)
    return stages


def jenkins_build(site: Site, stages: dict[str, Any], names: list[str], number: str,
                  params: dict[str, str]) -> Path:  # fmt: skip
    work, env = site.workspace(with_build="Push to Depot" in names)
    jenkins = "https://jenkins.bank.example/"
    env |= {
        "JENKINS_URL": jenkins, "JENKINS_HOME": "/var/lib/jenkins", "BUILD_NUMBER": number,
        "BUILD_ID": number, "BUILD_URL": f"{jenkins}job/payments-core/{number}/",
        "JOB_NAME": "payments-core", "NODE_NAME": "agent-3", "WORKSPACE": str(work),
        "GIT_COMMIT": COMMIT, "GIT_URL": "https://git.bank.example/payments/core.git",
        "GIT_BRANCH": "origin/main", **site.variables, **params,
    }  # fmt: skip
    credentials = {
        "depot-upload-token": site.group_token,
        "depot-provenance-key": site.key_file(work),  # a secret file: its path
        "depot-ci-password": CI_PASSWORD,
    }
    for name in names:
        bindings, scripts = stages[name]
        stage_env = env | {var: credentials[cid] for var, cid in bindings.items()}
        for script in scripts:
            run(script, work, stage_env, ["/bin/sh", "-xe"])
    return work


def test_the_jenkins_recipe(ci_server: Server, runner_image: Path | None, tmp_path: Path) -> None:
    text = recipe("jenkins")
    assert text.startswith("pipeline {")
    stages = jenkins_stages(text)
    assert list(stages) == ["Push to Depot", "Request acceptance", "Deploy"]
    with oidc_issuer() as issuer:
        site = Site(ci_server, tmp_path, issuer, runner_image)
        work = jenkins_build(site, stages, ["Push to Depot", "Request acceptance"], "512",
                             {"DEPLOY_VERSION": ""})  # fmt: skip
        site.check_release(work, "2.5.0-rc.512", "https://jenkins.bank.example/computer/agent-3")
        site.after_release("2.5.0-rc.512")
        deployed = jenkins_build(site, stages, ["Deploy"], "513",
                                 {"DEPLOY_VERSION": "2.5.0-rc.512"})  # fmt: skip
        site.check_deploy(deployed, "2.5.0-rc.512")


# -- GitHub Actions ----------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(vars|secrets|inputs)\.(\w+)\s*\}\}")


def github_job(site: Site, workflow: dict[str, Any], name: str, inputs: dict[str, str]) -> Path:
    job = workflow["jobs"][name]
    work, env = site.workspace(with_build=name == "release")
    contexts = {
        "vars": site.variables,
        "secrets": {"DEPOT_CI_PASSWORD": CI_PASSWORD,
                    "DEPOT_PROVENANCE_KEY": site.key.read_text()},
        "inputs": inputs,
    }  # fmt: skip

    def evaluate(value: Any) -> str:
        return EXPRESSION.sub(lambda m: contexts[m[1]].get(m[2], ""), str(value))

    server = "https://github.com"
    env |= {
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_SHA": COMMIT, "GITHUB_RUN_ID": "7031",
        "GITHUB_RUN_NUMBER": "88", "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_REPOSITORY": "bank/payments-core", "GITHUB_SERVER_URL": server,
        "GITHUB_REF": "refs/heads/main", "GITHUB_WORKSPACE": str(work),
        "RUNNER_NAME": "bank-runner-2", "RUNNER_TEMP": str(work.parent / "tmp"),
    }  # fmt: skip
    if workflow["permissions"].get("id-token") == "write":
        env |= {
            "ACTIONS_ID_TOKEN_REQUEST_URL": site.issuer.actions_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": site.issuer.actions_request_token,
        }
    env |= {k: evaluate(v) for k, v in job.get("env", {}).items()}
    for step in job["steps"]:
        if "uses" in step:
            # The one action the recipe uses: the build tree of the build job, in dist/.
            assert step["uses"].startswith("actions/download-artifact@"), step["uses"]
            assert (work / step["with"]["path"]).is_dir()
            continue
        step_env = env | {k: evaluate(v) for k, v in step.get("env", {}).items()}
        run(step["run"], work, step_env, ["bash", "--noprofile", "--norc", "-eo", "pipefail"])
    return work


def test_the_github_actions_recipe(
    ci_server: Server, runner_image: Path | None, tmp_path: Path
) -> None:
    workflow = yaml.safe_load(recipe("github"))
    with oidc_issuer() as issuer:
        issuer.actions_claims.update(
            sub="repo:bank/payments-core:ref:refs/heads/main",
            repository="bank/payments-core", ref="refs/heads/main", project_path="",
        )  # fmt: skip
        site = Site(ci_server, tmp_path, issuer, runner_image)
        work = github_job(site, workflow, "release", {"deploy_version": ""})
        runner = "https://github.com/bank/payments-core/actions/runner/bank-runner-2"
        site.check_release(work, "2.5.0-rc.7031", runner)
        site.after_release("2.5.0-rc.7031")
        deployed = github_job(site, workflow, "deploy", {"deploy_version": "2.5.0-rc.7031"})
        site.check_deploy(deployed, "2.5.0-rc.7031")


def test_the_recipes_are_in_the_doc() -> None:
    for name in ("gitlab", "jenkins", "github"):
        assert re.search(r"depot (--json )?push ", recipe(name)), name
        assert "--provenance" in recipe(name) and "pip install --quiet depot-client" in recipe(name)
    assert os.path.exists(DOC)
