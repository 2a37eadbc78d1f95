"""Which environment variables Kefu's code reads, and whether each read has a fallback.

A pure scan of Python source (``ast``), no imports. A read is one of

- ``X.get("NAME")``, ``os.getenv("NAME")``, ``X["NAME"]`` (load),
- any other call with the name as an argument, e.g. ``_env_or(credentials, "key", "NAME", default)``,

where ``NAME`` is a string constant, or a module-level constant holding one, that looks like a
Kefu setting (``KEFU_*``, ``WECHAT_*``, ``WECOM_*``). A read *has a fallback* when

1. ``get``/``getenv`` has a second argument that is not ``None`` (``""`` counts: "absent = empty");
2. it is the left side of ``or`` with a real fallback (``or None`` does not count);
3. it is used as a condition (``if env.get("NAME"):``, ``while``, ``x if env.get(...) else y``),
   or it is a subscript inside an ``if`` that tested the same name;
4. it is an argument of a call that has a later argument (``_flag(env.get("NAME"), False)``);
5. the name is passed to a helper call with a later argument (the helper's default); a name that
   is only a label (another argument of the same call reads it) is not a read.

Everything else has no fallback: a deployment must set the variable, unless it is deliberately
optional (listed with a reason by the caller).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Set

SETTING = re.compile(r"^(KEFU|WECHAT|WECOM)_[A-Z0-9_]+$")
GETTERS = {"get", "getenv"}


@dataclass(frozen=True)
class EnvRead:
    name: str
    path: str
    line: int
    has_fallback: bool


def _parents(tree: ast.AST) -> Dict[ast.AST, ast.AST]:
    parents: Dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _module_constants(tree: ast.Module) -> Dict[str, str]:
    """Module-level ``NAME_ENV = "KEFU_..."`` assignments."""
    out: Dict[str, str] = {}
    for node in tree.body:
        targets: List[ast.expr] = []
        value: Optional[ast.expr] = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if isinstance(value, ast.Constant) and isinstance(value.value, str) and SETTING.match(value.value):
            for target in targets:
                if isinstance(target, ast.Name):
                    out[target.id] = value.value
    return out


def _setting(node: ast.AST, constants: Dict[str, str]) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and SETTING.match(node.value):
        return node.value
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return None


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _in_condition(node: ast.AST, parents: Dict[ast.AST, ast.AST]) -> bool:
    """``node`` is (part of) the test of an if/while/ternary, through not/and/or/compare."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, (ast.If, ast.While, ast.IfExp)) and parent.test is child:
            return True
        if not isinstance(parent, (ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Attribute)):
            return False
        if isinstance(parent, ast.Call) and child is parent.func:
            return False
        child, parent = parent, parents.get(parent)
    return False


def _guarded_by_if(node: ast.AST, name: str, parents: Dict[ast.AST, ast.AST], constants: Dict[str, str]) -> bool:
    parent = parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.If):
            for sub in ast.walk(parent.test):
                if isinstance(sub, ast.Call) and sub.args and _setting(sub.args[0], constants) == name:
                    return True
        parent = parents.get(parent)
    return False


def _call_gives_fallback(expr: ast.AST, parents: Dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(expr)
    if isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or):
        index = parent.values.index(expr)  # type: ignore[arg-type]
        rest = parent.values[index + 1 :]
        if rest and not all(_is_none(v) for v in rest):
            return True
    if _in_condition(expr, parents):
        return True
    if isinstance(parent, ast.Call) and expr in parent.args:
        position = parent.args.index(expr)  # type: ignore[arg-type]
        if position < len(parent.args) - 1 or parent.keywords:
            return True
    return False


def _label(call: ast.Call, arg: ast.AST, name: str, constants: Dict[str, str]) -> bool:
    """The name is only a label: another argument of the same call reads it already, as in
    ``int_setting(setting(credentials, "key", "NAME", default), "NAME")``."""
    for other in call.args:
        if other is arg:
            continue
        for sub in ast.walk(other):
            if isinstance(sub, ast.Call) and any(_setting(a, constants) == name for a in sub.args):
                return True
    return False


def reads_in_source(source: str, path: str = "<source>") -> List[EnvRead]:
    tree = ast.parse(source, filename=path)
    parents = _parents(tree)
    constants = _module_constants(tree)
    reads: List[EnvRead] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            func_name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if func_name in GETTERS:
                name = _setting(node.args[0], constants)
                if name is None:
                    continue
                has_default = len(node.args) > 1 and not _is_none(node.args[1])
                reads.append(EnvRead(name, path, node.lineno, has_default or _call_gives_fallback(node, parents)))
                continue
            for position, arg in enumerate(node.args):
                name = _setting(arg, constants)
                if name is None or _label(node, arg, name, constants):
                    continue
                later = position < len(node.args) - 1 or bool(node.keywords)
                reads.append(EnvRead(name, path, node.lineno, later))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            name = _setting(node.slice, constants)
            if name is None:
                continue
            fallback = _call_gives_fallback(node, parents) or _guarded_by_if(node, name, parents, constants)
            reads.append(EnvRead(name, path, node.lineno, fallback))
    return reads


def reads_in_tree(root: Path, packages: Iterable[str]) -> List[EnvRead]:
    reads: List[EnvRead] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            reads.extend(reads_in_source(path.read_text(encoding="utf-8"), str(path.relative_to(root))))
    return reads


def without_fallback(reads: Iterable[EnvRead]) -> Set[str]:
    """Names read at least once with no fallback."""
    return {r.name for r in reads if not r.has_fallback}


def all_names(reads: Iterable[EnvRead]) -> Set[str]:
    return {r.name for r in reads}
