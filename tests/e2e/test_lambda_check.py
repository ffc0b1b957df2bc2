"""`make lambda-check` itself: the runtime interface client, in a Lambda-like layout, against the
local stack. CI runs the command on the real `sam build` output; here the same machinery runs on
a build assembled from the source tree and this virtualenv's copies of the layer's pinned
packages, so that it is checked without the SAM CLI, and so that each way it can fail is seen."""

from __future__ import annotations

import re
import shutil
from importlib import metadata
from pathlib import Path

import pytest

from local.commands import bytecode, lambda_check
from local.stand_ins.function_template import function_facts

# sam build, then the build under awslambdaric in another process: left out of `make test-fast`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ["events/direct-invoke.json", "events/http-api-tally.json", "events/sqs-batch.json"]


def _pinned_distributions() -> list[str]:
    lines = (ROOT / "layers" / "dependencies" / "requirements.txt").read_text().splitlines()
    return [re.split(r"[=<>\[ ]", line.strip())[0] for line in lines if line[:1].isalnum()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder shaped as `sam build` leaves it: the template, the function, the layer."""
    if not (lambda_check.RUNTIME_DIR / "awslambdaric").is_dir():
        pytest.fail("awslambdaric is missing: `make test` installs it (.venv-lambda-check)")
    build = tmp_path_factory.mktemp("build")
    facts = function_facts()
    shutil.copy(ROOT / "template.yaml", build / "template.yaml")
    shutil.copytree(ROOT / facts.code_uri, build / facts.code_uri)
    layer = build / facts.layer_uris[0] / "python"
    for name in _pinned_distributions():
        distribution = metadata.distribution(name)
        for file in distribution.files or []:
            source = Path(distribution.locate_file(file))
            if source.is_file() and "__pycache__" not in file.parts:
                target = layer / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, target)
    bytecode.compile_artifact(bytecode.function_artifact(build / facts.code_uri))
    bytecode.compile_artifact(bytecode.layer_artifact(build / facts.layer_uris[0]))
    return build


def test_the_build_answers_as_the_source_does(built, capsys):
    assert lambda_check.main(["--build-dir", str(built), *SAMPLES]) == 0
    out = capsys.readouterr().out
    assert out.count("✓") == len(SAMPLES)
    assert "the build answers as the source does" in out


def test_a_module_left_out_of_the_build_fails_as_it_would_in_lambda(built, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    (broken / function_facts().code_uri / "forwarding" / "queue_sender.py").unlink()
    assert lambda_check.main(["--build-dir", str(broken), SAMPLES[0]]) == 1
    out = capsys.readouterr().out
    assert "init_error" in out
    assert "No module named 'forwarding.queue_sender'" in out


def test_a_package_left_out_of_the_layer_fails_too(built, tmp_path, capsys):
    """Nothing from this virtualenv leaks onto the runtime's path: a package missing from the
    layer is missing there."""
    broken = tmp_path / "broken"
    shutil.copytree(built, broken)
    shutil.rmtree(broken / function_facts().layer_uris[0] / "python" / "email_validator")
    assert lambda_check.main(["--build-dir", str(broken), SAMPLES[1]]) == 1
    assert "email_validator" in capsys.readouterr().out


def test_a_build_without_its_bytecode_fails(built, tmp_path, capsys):
    """It would run, compiling every module on each cold start: make build ships the bytecode."""
    bare = tmp_path / "bare"
    shutil.copytree(built, bare, ignore=shutil.ignore_patterns("__pycache__"))
    assert lambda_check.main(["--build-dir", str(bare), SAMPLES[0]]) == 1
    out = capsys.readouterr().out
    assert "✓" in out  # it answers as the source does
    assert re.search(r"✗ build: \d+ modules have no bytecode", out)


def test_without_a_build_it_says_to_build_first(tmp_path, capsys):
    assert lambda_check.main(["--build-dir", str(tmp_path)]) == 2
    assert "make build" in capsys.readouterr().err


def test_the_log_check_catches_what_must_not_be_logged(stack):
    samples = [(Path("x.json"), {"body": '{"email": "customer@example.com"}'})]
    clean = ['{"message": "event forwarded", "email": "c*******@example.com"}']
    assert lambda_check.check_logs(clean, stack, {}, samples) == []
    leaky = [
        "plain text, not JSON",
        f'{{"message": "key {stack.sales_api_key}"}}',
        '{"message": "GET /contacts/by-email/Customer@Example.com"}',
    ]
    problems = lambda_check.check_logs(leaky, stack, {}, samples)
    assert len(problems) == 3
    assert not any(stack.sales_api_key in problem for problem in problems)
