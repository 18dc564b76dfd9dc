"""The package's layout rules that import-linter (`.importlinter`, run by `make test`)
does not state: no import of the package's own modules inside a function, where it
would hide an arrow from a reader (import-linter sees it, a reader of the file's
head does not), and one `from_preset` for every task."""

import ast
import pathlib

import pytest

import keras_bert_repro as kbr
from keras_bert_repro.models import BertTask

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_bert_repro"

pytestmark = pytest.mark.backend_independent


def _imported_modules(node):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return ["." * node.level + (node.module or "")]
    return []


def _function_level_imports(tree):
    for function in ast.walk(tree):
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                for module in _imported_modules(node):
                    yield node.lineno, module


def test_the_package_imports_its_own_modules_at_the_top_of_each_file():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
                  for line, module in _function_level_imports(tree)
                  if module.startswith(("keras_bert_repro", "."))]
    assert not found, "function-level imports of the package:\n" + "\n".join(found)


def test_the_check_sees_a_function_level_import():
    tree = ast.parse("def f():\n    from keras_bert_repro.models import BertBackbone\n")
    assert list(_function_level_imports(tree)) == [(2, "keras_bert_repro.models")]


def test_one_from_preset_serves_every_task():
    tasks = (kbr.BertClassifier, kbr.BertFeatureClassifier, kbr.BertTokenClassifier,
             kbr.BertQuestionAnswerer, kbr.BertMultipleChoice, kbr.BertPretrainer)
    for task in tasks:
        assert task.from_preset.__func__ is BertTask.from_preset.__func__, task.__name__
        assert task.preprocessor_class is not None, task.__name__
    assert kbr.BertMultipleChoice.preprocessor_class is kbr.BertMultipleChoicePreprocessor
    assert kbr.BertQuestionAnswerer.preprocessor_defaults["sequence_length"] == 384
