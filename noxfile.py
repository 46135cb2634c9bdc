"""Nox sessions: tests on every supported Python, typecheck, lint, demo.

Plain ``nox`` runs the default sessions (tests on 3.10-3.13, mypy --strict, ruff);
``nox -l`` lists them all.
"""

from __future__ import annotations

import collections
import glob
import os

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PYPROJECT = nox.project.load_toml("pyproject.toml")

# pyenv only puts its *global* version on PATH: its shims for python3.10, python3.12, ...
# exist but refuse to run a version that is not selected. The installed versions live
# under ~/.pyenv/versions/<x.y.z>/bin; prepend those directories so nox (and uv) find
# python3.10 ... python3.13 by name. Versions that are not installed are skipped.
for _version in PYTHONS:
    for _bindir in glob.glob(os.path.expanduser(f"~/.pyenv/versions/{_version}.*/bin")):
        os.environ["PATH"] = _bindir + os.pathsep + os.environ.get("PATH", "")

nox.options.sessions = ["tests", "typecheck", "lint"]
# CI sets CI=true, which makes nox turn a missing interpreter into an error; we want a
# Python that is not installed on this machine to be skipped, not to fail the run.
nox.options.error_on_missing_interpreters = False
# Never fetch standalone Python builds: the machines here reach package registries
# only: uv would try, fail on DNS and only then skip the session.
nox.options.download_python = "never"
# Use uv to create environments when it is installed (`pip install 'nox[uv]'`),
# otherwise fall back to virtualenv.
nox.options.default_venv_backend = "uv|virtualenv"


def _install_group(session: nox.Session, group: str) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (pytest + Hypothesis) against the installed package."""
    session.install(".")
    _install_group(session, "test")
    env: dict[str, str] = {}
    profile = os.environ.get("HYPOTHESIS_PROFILE")
    if profile:
        env["HYPOTHESIS_PROFILE"] = profile
    session.run("pytest", *session.posargs, env=env)


@nox.session(python="3.11")
def thorough(session: nox.Session) -> None:
    """Run the whole suite with the long Hypothesis profile (many more examples)."""
    session.install(".")
    _install_group(session, "test")
    session.run("pytest", *session.posargs, env={"HYPOTHESIS_PROFILE": "thorough"})


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Benchmarks against the peers and the floors; arguments go to bench/bench.py."""
    session.install(".")
    _install_group(session, "bench")
    session.run("python", "bench/bench.py", *session.posargs)


@nox.session(python="3.11")
def store_bench(session: nox.Session) -> None:
    """The stores' cost per part and per completion; arguments go to bench/store_bench.py.

    Redis: a redis-server on PATH is started for the run (``--redis URL`` names another).
    """
    session.install(".[server]")
    session.run("python", "bench/store_bench.py", *session.posargs)


@nox.session(python="3.11")
def oci_bench(session: nox.Session) -> None:
    """The /v2/ front end against distribution 2.8 (Debian's docker-registry) and a floor:
    a 100 MiB push in 10 MiB chunks, the memory of a 1 GiB PUT; arguments go to
    bench/bench_oci.py (``-- --quick``)."""
    session.install(".")
    session.run("python", "bench/bench_oci.py", *session.posargs)


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """Fuzz the wire entry and every from_wire with atheris for a bounded time.

    Arguments are libFuzzer's and replace the default ``-max_total_time=60``. The corpus
    and any crashing input are written under the session's tmp directory.
    """
    session.install(".")
    _install_group(session, "fuzz")
    tmp = session.create_tmp()
    corpus = os.path.join(tmp, "corpus")
    os.makedirs(corpus, exist_ok=True)
    session.run(
        "python",
        "fuzz/fuzz_wire.py",
        "-dict=fuzz/wire.dict",
        f"-artifact_prefix={tmp}{os.sep}",
        *(session.posargs or ["-max_total_time=60"]),
        corpus,
    )


@nox.session(python="3.11")
def mutation(session: nox.Session) -> None:
    """Mutation testing of the core modules with mutmut ([tool.mutmut]); takes long.

    mutmut works in a copy of the tree under the session's tmp directory, so its
    ``mutants/`` never lands in the work tree. Arguments go to ``mutmut run``.
    """
    import shutil

    session.install(*PYPROJECT["project"]["dependencies"])
    _install_group(session, "test")
    _install_group(session, "mutation")
    copy = os.path.join(session.create_tmp(), "tree")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(
        ".", copy, ignore=shutil.ignore_patterns(".git", ".nox", "mutants", "__pycache__")
    )
    session.chdir(copy)
    session.run("mutmut", "run", *session.posargs, env={"HYPOTHESIS_PROFILE": "mutation"})
    session.run("mutmut", "results")  # the mutants that lived, by name
    listing = session.run("mutmut", "results", "--all", "true", silent=True)
    statuses = collections.Counter(
        line.rpartition(": ")[2].strip()
        for line in (listing if isinstance(listing, str) else "").splitlines()
        if ": " in line
    )
    total = sum(statuses.values())
    if not total:
        session.error("mutmut listed no mutants")
    session.log(
        f"mutation score: {statuses['killed']} of {total} mutants killed "
        f"({statuses['killed'] / total:.1%}); "
        + ", ".join(f"{count} {status}" for status, count in statuses.most_common())
    )


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, tests and noxfile (see pyproject)."""
    session.install(".")
    _install_group(session, "typecheck")
    session.run("mypy", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    _install_group(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


#: The demo's server and client: dummy credentials, no AWS configuration of the machine.
DEMO_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@nox.session
def demo(session: nox.Session) -> None:
    """Start `serve` on a free port, push a generated layer into it with `push
    --endpoint-url` (through boto3), push it again (found by the check), and stop it."""
    import signal
    import subprocess

    session.install(".[server,push]")
    python = os.path.join(session.bin, "python")
    data = os.path.join(session.create_tmp(), "demo-data")
    server = subprocess.Popen(
        [
            python,
            "-m",
            "ecr_upload_model",
            "serve",
            "--port",
            "0",
            "--data",
            data,
            "--repository",
            "team/app",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        server.kill()
        session.error(f"serve did not start: {line!r}")
    url = line.split()[-1]
    session.log(f"serve: {line.strip()}")
    try:
        push = ["python", "-m", "ecr_upload_model", "push", "--size", "25000000"]
        push += ["--endpoint-url", url, "--repository", "team/app", "--progress", "lines"]
        session.run(*push, *session.posargs, env=DEMO_ENVIRONMENT)
        session.log("the same layer again: the check finds it, nothing is sent")
        session.run(*push, env=DEMO_ENVIRONMENT)
    finally:
        server.send_signal(signal.SIGTERM)
        session.log(f"serve stopped (exit {server.wait(timeout=60)})")


@nox.session
def replay(session: nox.Session) -> None:
    """Replay a recorded layer push through the in-memory reference registry."""
    session.install(".")
    session.run(
        "python",
        "-m",
        "ecr_upload_model",
        "replay",
        "tests/data/push-trace.jsonl",
        "--repository",
        "team/app",
        "--deterministic-ids",
        *session.posargs,
    )


@nox.session(python="3.11")
def serve_bench(session: nox.Session) -> None:
    """bench/serve_bench.py: a boto3 push into `serve` beside a floor, waitress and moto."""
    session.install(".[server]")
    _install_group(session, "serve-bench")
    session.run("python", "bench/serve_bench.py", *session.posargs)
