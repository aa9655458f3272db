"""PyTorch model references for the CLI: ``torchvision:NAME``, ``timm:NAME`` and
``path/to/file.py:factory``, built without pretrained weights and imported with ``from_torch``.

``load_torch_ref(ref, input_size=None, args=None, skip_unsupported=False)`` returns the graph.
``args`` are the factory's keyword arguments, as the CLI's ``--set name=value`` strings (coerced:
``true``/``false`` -> bool, ``none`` -> None, integers, floats, comma lists -> lists, anything
else a string) or already typed values from Python. torchvision and timm are imported only when
a reference names them; a missing package is one line naming what to install.
"""
from __future__ import annotations

import difflib
import hashlib
import inspect
import os
import re
import sys

from .torch_import import TorchImportError, from_torch, require_torch
from .validate import short

_FILE_REF = re.compile(r"^(?P<path>.+\.py):(?P<factory>[A-Za-z_][A-Za-z0-9_]*)$")
PREFIXES = ("torchvision:", "timm:")


def is_torch_ref(ref) -> bool:
    """Whether ``ref`` names a PyTorch model (``torchvision:``, ``timm:`` or ``file.py:factory``)."""
    return isinstance(ref, str) and (ref.startswith(PREFIXES) or bool(_FILE_REF.match(ref)))


def coerce(value):
    """A ``--set`` string as a Python value (see the module docstring); other types pass through."""
    if not isinstance(value, str):
        return value
    v = value.strip()
    if "," in v:
        return [coerce(p) for p in v.split(",") if p.strip()]
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return v


def coerce_args(args, ref: str) -> dict:
    if not args:
        return {}
    if not isinstance(args, dict):
        raise TorchImportError(f"{ref}: factory arguments must be a mapping name -> value, got {type(args).__name__}")
    out = {}
    for k, v in args.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise TorchImportError(f"{ref}: argument name {short(k)} is not a Python identifier (--set name=value)")
        out[k] = coerce(v)
    return out


def _describe(kwargs) -> str:
    return ", ".join(f"{str(k)[:40]}={short(v)} ({type(v).__name__})" for k, v in kwargs.items())


def _input_size(input_size, channels: int = 3, default=(224, 224)):
    if input_size is None:
        return (channels,) + tuple(default)
    if isinstance(input_size, int) and not isinstance(input_size, bool):
        return (channels, input_size, input_size)
    if isinstance(input_size, (tuple, list)) and len(input_size) == 2:
        return (channels,) + tuple(input_size)
    return tuple(input_size) if isinstance(input_size, (tuple, list)) else input_size


def _call(factory, kwargs, ref: str, what: str):
    try:
        return factory(**kwargs)
    except TypeError as e:
        accepted = ""
        try:
            params = [p for p in inspect.signature(factory).parameters.values()
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
            accepted = f"; it accepts {', '.join(p.name for p in params) or 'no arguments'}"
        except (TypeError, ValueError):
            pass
        raise TorchImportError(f"{ref}: {what} rejected the arguments {_describe(kwargs) or '(none)'}: "
                               f"{' '.join(str(e).split())[:200]}{accepted}") from None
    except SystemExit as e:
        raise TorchImportError(f"{ref}: {what} called sys.exit({short(e.code, 40)})") from None
    except Exception as e:  # the user's or the package's own code: one line, the exception named
        raise TorchImportError(f"{ref}: {what} failed: {type(e).__name__}: {' '.join(str(e).split())[:200]}") from None


def _torchvision(name: str, kwargs: dict, ref: str):
    try:
        import torchvision
    except ImportError:
        raise TorchImportError(f"{ref} needs torchvision: pip install torchvision (a build matching your torch; "
                               f"costmodel does not depend on it)") from None
    models = torchvision.models
    known = sorted(models.list_models(module=models))
    if name not in known:
        close = difflib.get_close_matches(name, known, n=4)
        raise TorchImportError(f"{ref}: torchvision has no classification model {short(name)}"
                               + (f"; did you mean {', '.join(close)}?" if close else "")
                               + f" ({len(known)} models: torchvision.models.list_models())")
    return _call(lambda **kw: models.get_model(name, weights=None, **kw), kwargs, ref, f"torchvision {name}")


def _timm(name: str, kwargs: dict, ref: str):
    try:
        import timm
    except ImportError:
        raise TorchImportError(f"{ref} needs timm: pip install timm (it also needs torchvision; costmodel does "
                               f"not depend on either)") from None
    if not timm.is_model(name):
        close = difflib.get_close_matches(name, timm.list_models(), n=4)
        raise TorchImportError(f"{ref}: timm has no model {short(name)}"
                               + (f"; did you mean {', '.join(close)}?" if close else "") + " (timm.list_models())")
    return _call(lambda **kw: timm.create_model(name, pretrained=False, **kw), kwargs, ref, f"timm {name}")


def _user_error(e: BaseException, full: str, path: str) -> str:
    """'file.py:12 failed: NameError: ...' (the deepest line of the user's file in the traceback),
    one line, bounded: the file's traceback never reaches the terminal."""
    tb, line = e.__traceback__, getattr(e, "lineno", None) if isinstance(e, SyntaxError) else None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == full:
            line = tb.tb_lineno
        tb = tb.tb_next
    where = f"{path}:{line}" if line else path
    if isinstance(e, SystemExit):
        return f"{where} called sys.exit({short(e.code, 40)})"
    text = getattr(e, "msg", None) if isinstance(e, SyntaxError) else None
    return f"{where} failed: {type(e).__name__}: {' '.join(str(text or e).split())[:200]}".rstrip(": ")


def _read_source(path: str, ref: str) -> bytes:
    """The bytes of a reference's Python file: a missing file, a FIFO, a directory or a device is
    reported before PyTorch is needed (and a FIFO is never waited on)."""
    from .fileio import read_bytes
    if not os.path.exists(path):
        raise TorchImportError(f"{ref}: no such file {short(path)} (a reference is path/to/file.py:factory)")
    return read_bytes(path, "Python file", TorchImportError)


def _from_file(path: str, source: bytes, factory: str, kwargs: dict, ref: str):
    import types

    torch = require_torch()
    full = os.path.abspath(path)
    try:
        code = compile(source, full, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:  # not Python (binary data, null bytes, a syntax error)
        why = _user_error(e, full, path).replace(" failed: ", ": ", 1)
        raise TorchImportError(f"{ref}: not a Python file that compiles: {why}") from None
    mod_name = "costmodel_user_" + hashlib.sha1(full.encode()).hexdigest()[:12]
    module = types.ModuleType(mod_name)
    module.__file__ = full
    here = os.path.dirname(full)
    sys.path.insert(0, here)  # the file may import its sibling modules
    try:
        exec(code, module.__dict__)  # noqa: S102 - the user's own model file, as 'python file.py' would
    except (Exception, SystemExit) as e:
        raise TorchImportError(f"{ref}: importing {_user_error(e, full, path)}") from None
    finally:
        if sys.path and sys.path[0] == here:
            sys.path.pop(0)
    obj = getattr(module, factory, None)
    if obj is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                 and getattr(v, "__module__", None) == mod_name]
        shown = ", ".join(sorted(names)[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        raise TorchImportError(f"{ref}: {path} defines no {short(factory)}; it defines "
                               f"{shown or 'no functions or classes'}")
    if isinstance(obj, torch.nn.Module):
        if kwargs:
            raise TorchImportError(f"{ref}: {factory} is a module instance, it takes no arguments "
                                   f"({_describe(kwargs)})")
        return obj
    if not callable(obj):
        raise TorchImportError(f"{ref}: {factory} is a {type(obj).__name__}, not a function, class or nn.Module")
    return _call(obj, kwargs, ref, f"{factory}()")


def ref_source(ref: str):
    """(the match of a path/to/file.py:factory reference, its file's bytes), or (None, None) for a
    package reference (torchvision:, timm:) or a malformed one: the file is read, and a missing or
    unreadable one reported, before PyTorch is needed."""
    m = None if ref.startswith(("torchvision:", "timm:")) else _FILE_REF.match(ref)
    return m, (_read_source(m["path"], ref) if m else None)


def build_torch_ref(ref: str, args=None):
    """The ``nn.Module`` a reference names, built without pretrained weights, and the coerced arguments."""
    m, source = ref_source(ref)
    require_torch(f"{ref}")
    kwargs = coerce_args(args, ref)
    if ref.startswith("torchvision:"):
        model = _torchvision(ref.split(":", 1)[1], kwargs, ref)
    elif ref.startswith("timm:"):
        model = _timm(ref.split(":", 1)[1], kwargs, ref)
    else:
        if not m:
            raise TorchImportError(f"{short(ref)} is not a PyTorch reference: torchvision:NAME, timm:NAME or "
                                   f"path/to/file.py:factory")
        model = _from_file(m["path"], source, m["factory"], kwargs, ref)
    torch = require_torch()
    if not isinstance(model, torch.nn.Module):
        raise TorchImportError(f"{ref}: the factory returned an object of type {type(model).__name__}, not a "
                               f"torch.nn.Module")
    return model, kwargs


def load_torch_ref(ref: str, input_size=None, args=None, skip_unsupported: bool = False, **kw):
    """Build the model ``ref`` names and import it (``from_torch``) for ``input_size``: (C, H, W),
    (H, W) or an int (square; C = 3), None for the model's default (timm's pretrained
    configuration, else 3 x 224 x 224). ``kw`` go to ``from_torch`` (``return_weights``, ``trace``)."""
    model, kwargs = build_torch_ref(ref, args)
    cfg = getattr(model, "pretrained_cfg", None) or {}
    default = tuple(cfg.get("input_size", (3, 224, 224)))
    size = _input_size(input_size, default[0], default[1:])
    out = from_torch(model, size, skip_unsupported=skip_unsupported, name=ref, **kw)
    graph = out[0] if isinstance(out, tuple) else out
    if kwargs:
        graph.meta["factory_args"] = _describe(kwargs)
    return out


__all__ = ["load_torch_ref", "build_torch_ref", "is_torch_ref", "coerce"]
