"""`python -m traceglass.demo`: the same as `traceglass demo` (how `traceglass ui --demo` starts it)."""

from traceglass.demo._cli import demo

demo(prog_name="traceglass demo")
