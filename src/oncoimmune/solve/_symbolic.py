"""Analytic Jacobians generated from a model's right-hand side.

The right-hand side of a model is plain Python (see :mod:`oncoimmune.models`). This module
*interprets* its syntax tree, statement by statement, into sympy expressions: assignments,
tuple unpacking of ``y`` and ``p``, ``if``/``elif``/``else`` (merged into ``Piecewise``),
conditional expressions, arithmetic, comparisons and a fixed list of ``math``/``numpy``
functions. Nothing is executed: constructs outside that list (loops, calls to other functions,
attribute access other than ``math.f``/``np.f``) make :func:`jacobian_source` return ``None``, and
the engine falls back to a forward-difference Jacobian for that model.

The Jacobian ``dF/dy`` is then differentiated symbolically, common subexpressions are
eliminated, and the result is printed as numba-compatible Python source that is compiled into the
model's kernel (:mod:`oncoimmune.solve._compile`).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from oncoimmune.models._base import Model

__all__ = ["UnsupportedSyntax", "jacobian_source", "rhs_expressions"]


class UnsupportedSyntax(Exception):
    """The right-hand side uses a construct the symbolic interpreter does not model."""


def _sympy():
    import sympy

    return sympy


_FUNCS = {
    "exp": lambda sp: sp.exp,
    "log": lambda sp: sp.log,
    "expm1": lambda sp: lambda x: sp.exp(x) - 1,
    "log1p": lambda sp: lambda x: sp.log(1 + x),
    "sqrt": lambda sp: sp.sqrt,
    "sin": lambda sp: sp.sin,
    "cos": lambda sp: sp.cos,
    "tanh": lambda sp: sp.tanh,
    "pow": lambda sp: lambda a, b: a**b,
}
_MODULES = {"math", "np", "numpy"}


class _Interpreter:
    def __init__(self, model: Model) -> None:
        self.sp = _sympy()
        self.model = model
        source = textwrap.dedent(inspect.getsource(model.rhs))
        fn = ast.parse(source).body[0]
        if not isinstance(fn, ast.FunctionDef):  # pragma: no cover - guarded by the model contract
            raise UnsupportedSyntax("rhs is not a function definition")
        self.fn = fn
        self.yname, self.pname, self.dyname = (a.arg for a in fn.args.args)
        self.ysyms = [self.sp.Symbol(n, real=True) for n in model.state_names]
        self.psyms = [self.sp.Symbol(n, real=True) for n in model.parameter_names]

    def run(self) -> list[Any]:
        env: dict[str, Any] = {}
        out: dict[int, Any] = {}
        self._block(self.fn.body, env, out)
        n = self.model.n_states
        missing = [k for k in range(n) if k not in out]
        if missing:
            raise UnsupportedSyntax(f"rhs does not assign dy{missing}")
        return [out[k] for k in range(n)]

    # -- statements -------------------------------------------------------------------------
    def _block(self, body: list[ast.stmt], env: dict[str, Any], out: dict[int, Any]) -> None:
        for stmt in body:
            self._stmt(stmt, env, out)

    def _stmt(self, stmt: ast.stmt, env: dict[str, Any], out: dict[int, Any]) -> None:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return  # docstring
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise UnsupportedSyntax("chained assignment")
            self._assign(stmt.targets[0], stmt.value, env, out)
            return
        if isinstance(stmt, ast.AugAssign):
            current = self._expr(stmt.target, env)
            value = self._binop(stmt.op, current, self._expr(stmt.value, env))
            self._store(stmt.target, value, env, out)
            return
        if isinstance(stmt, ast.If):
            cond = self._expr(stmt.test, env)
            env_a, out_a = dict(env), dict(out)
            env_b, out_b = dict(env), dict(out)
            self._block(stmt.body, env_a, out_a)
            self._block(stmt.orelse, env_b, out_b)
            for name in set(env_a) | set(env_b):
                if name in env_a and name in env_b:
                    env[name] = self._merge(cond, env_a[name], env_b[name])
                # a name bound in one branch only is unusable after the if: drop it
                elif name in env:
                    del env[name]
            for k in set(out_a) | set(out_b):
                if k in out_a and k in out_b:
                    out[k] = self._merge(cond, out_a[k], out_b[k])
                else:
                    raise UnsupportedSyntax(f"dy[{k}] assigned in one branch only")
            return
        raise UnsupportedSyntax(type(stmt).__name__)

    def _merge(self, cond: Any, a: Any, b: Any) -> Any:
        sp = self.sp
        if cond is sp.true:
            return a
        if cond is sp.false:
            return b
        if a == b:
            return a
        return sp.Piecewise((a, cond), (b, True))

    def _assign(self, target: ast.expr, value: ast.expr, env: dict[str, Any], out: dict[int, Any]) -> None:
        if isinstance(target, ast.Tuple):
            if isinstance(value, ast.Name) and value.id in (self.yname, self.pname):
                syms = self.ysyms if value.id == self.yname else self.psyms
                if len(target.elts) != len(syms):
                    raise UnsupportedSyntax("unpacking length")
                vals = syms
            elif isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts):
                vals = [self._expr(v, env) for v in value.elts]
            else:
                raise UnsupportedSyntax("tuple assignment")
            for t, v in zip(target.elts, vals, strict=True):
                self._store(t, v, env, out)
            return
        if isinstance(value, ast.Name) and value.id in (self.yname, self.pname):
            syms = self.ysyms if value.id == self.yname else self.psyms
            if len(syms) != 1:
                raise UnsupportedSyntax("unpacking length")
            self._store(target, syms[0], env, out)
            return
        self._store(target, self._expr(value, env), env, out)

    def _store(self, target: ast.expr, value: Any, env: dict[str, Any], out: dict[int, Any]) -> None:
        if isinstance(target, ast.Name):
            if target.id in (self.yname, self.pname, self.dyname):
                raise UnsupportedSyntax("rebinding an argument")
            env[target.id] = value
            return
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == self.dyname:
            k = self._int_index(target.slice)
            out[k] = value
            return
        raise UnsupportedSyntax("assignment target")

    def _int_index(self, node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            if not 0 <= node.value < self.model.n_states:
                raise UnsupportedSyntax("index out of range")
            return node.value
        raise UnsupportedSyntax("non-constant index")

    # -- expressions ------------------------------------------------------------------------
    def _expr(self, node: ast.expr, env: dict[str, Any]) -> Any:
        sp = self.sp
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                return sp.true if node.value else sp.false
            if isinstance(node.value, (int, float)):
                return sp.Float(node.value) if isinstance(node.value, float) else sp.Integer(node.value)
            raise UnsupportedSyntax("constant")
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            raise UnsupportedSyntax(f"name {node.id}")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id == self.yname:
                return self.ysyms[self._int_index(node.slice)]
            if node.value.id == self.pname:
                k = node.slice
                if isinstance(k, ast.Constant) and isinstance(k.value, int) and 0 <= k.value < len(self.psyms):
                    return self.psyms[k.value]
            raise UnsupportedSyntax("subscript")
        if isinstance(node, ast.BinOp):
            return self._binop(node.op, self._expr(node.left, env), self._expr(node.right, env))
        if isinstance(node, ast.UnaryOp):
            v = self._expr(node.operand, env)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return v
            if isinstance(node.op, ast.Not):
                return sp.Not(v)
            raise UnsupportedSyntax("unary operator")
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise UnsupportedSyntax("chained comparison")
            a, b = self._expr(node.left, env), self._expr(node.comparators[0], env)
            ops = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Eq: sp.Eq, ast.NotEq: sp.Ne}
            op = ops.get(type(node.ops[0]))
            if op is None:
                raise UnsupportedSyntax("comparison")
            return op(a, b)
        if isinstance(node, ast.BoolOp):
            vals = [self._expr(v, env) for v in node.values]
            return sp.And(*vals) if isinstance(node.op, ast.And) else sp.Or(*vals)
        if isinstance(node, ast.IfExp):
            return self._merge(self._expr(node.test, env), self._expr(node.body, env), self._expr(node.orelse, env))
        if isinstance(node, ast.Call):
            fname = None
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                if node.func.value.id in _MODULES:
                    fname = node.func.attr
            elif isinstance(node.func, ast.Name) and node.func.id == "abs":
                fname = "abs"
            if node.keywords:
                raise UnsupportedSyntax("keyword arguments")
            args = [self._expr(a, env) for a in node.args]
            if fname == "abs":
                return sp.Abs(*args)
            if fname in _FUNCS:
                return _FUNCS[fname](sp)(*args)
            raise UnsupportedSyntax(f"call {ast.dump(node.func)}")
        raise UnsupportedSyntax(type(node).__name__)

    def _binop(self, op: ast.operator, a: Any, b: Any) -> Any:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.Pow):
            return a**b
        raise UnsupportedSyntax("binary operator")


def rhs_expressions(model: Model) -> list[Any] | None:
    """The right-hand side as sympy expressions in the state and parameter symbols, or ``None``."""
    try:
        return _Interpreter(model).run()
    except (UnsupportedSyntax, OSError, TypeError):
        return None


def jacobian_source(model: Model, name: str = "_model_jac") -> str | None:
    """Python source of ``name(y, p, J)`` writing ``dF/dy`` into ``J``, or ``None`` if unsupported."""
    sp = _sympy()
    exprs = rhs_expressions(model)
    if exprs is None:
        return None
    interp_y = [sp.Symbol(n, real=True) for n in model.state_names]
    n = model.n_states
    entries: list[tuple[int, int, Any]] = []
    for i in range(n):
        for j in range(n):
            d = sp.diff(exprs[i], interp_y[j])
            if d != 0:
                entries.append((i, j, d))
    bad = (sp.Heaviside, sp.DiracDelta, sp.Derivative, sp.Subs, sp.sign)
    if any(e.has(*bad) for _, _, e in entries):
        return None
    used = {*model.state_names, *model.parameter_names}
    counter = 0

    def fresh():
        nonlocal counter
        while True:
            s = f"_cse{counter}"
            counter += 1
            if s not in used:
                yield sp.Symbol(s, real=True)

    replacements, reduced = sp.cse([e for _, _, e in entries], symbols=fresh(), optimizations="basic")
    printer = _Printer()
    lines = [f"def {name}(y, p, J):"]
    lines.append(f"    {', '.join(model.state_names)}{',' if n == 1 else ''} = y")
    names = model.parameter_names
    lines.append(f"    {', '.join(names)}{',' if len(names) == 1 else ''} = p")
    for i in range(n):
        for j in range(n):
            lines.append(f"    J[{i}, {j}] = 0.0")
    for sym, expr in replacements:
        lines.append(f"    {sym} = {printer.doprint(expr)}")
    for (i, j, _), expr in zip(entries, reduced, strict=True):
        lines.append(f"    J[{i}, {j}] = {printer.doprint(expr)}")
    return "\n".join(lines) + "\n"


def _make_printer():
    from sympy.printing.pycode import PythonCodePrinter

    class Printer(PythonCodePrinter):
        """Python for numba: math functions, Piecewise as conditional expressions, floats exact."""

        def _print_Piecewise(self, expr):
            parts = []
            for e, c in expr.args[:-1]:
                parts.append(f"({self._print(e)}) if ({self._print(c)}) else ")
            last_e, last_c = expr.args[-1]
            if last_c is not True and str(last_c) != "True":
                tail = f"({self._print(last_e)}) if ({self._print(last_c)}) else math.nan"
            else:
                tail = f"({self._print(last_e)})"
            return "(" + "".join(parts) + tail + ")"

        def _print_Float(self, expr):
            return repr(float(expr))

        def _print_Rational(self, expr):
            return f"({float(expr.p)!r}/{float(expr.q)!r})"

        def _print_Integer(self, expr):
            return repr(float(expr))

        def _print_Pow(self, expr, rational=False):
            base, exp = expr.as_base_exp()
            if exp.is_Integer and 1 <= abs(int(exp)) <= 3:
                b = self.parenthesize(base, 1000)
                prod = "*".join([b] * abs(int(exp)))
                return f"({prod})" if exp > 0 else f"(1.0/({prod}))"
            if exp == _sympy().Rational(1, 2):
                return f"math.sqrt({self._print(base)})"
            return f"({self._print(base)})**({self._print(exp)})"

    return Printer


class _Printer:
    def __init__(self) -> None:
        self._p = _make_printer()({"fully_qualified_modules": True, "standard": "python3"})

    def doprint(self, expr: Any) -> str:
        return self._p.doprint(expr)
