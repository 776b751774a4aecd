"""Tests of scripts/code_shape.py: that it finds what it is meant to find.

The script guards the project's size limits in `make test`; a checker that
silently sees no functions would pass everything, so these cases pin down
each shape of definition it must recognise and each it must not mistake for
a function.
"""
import importlib.util
import pathlib
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "code_shape.py"
spec = importlib.util.spec_from_file_location("code_shape", SCRIPT)
code_shape = importlib.util.module_from_spec(spec)
spec.loader.exec_module(code_shape)


def body(n):
    return "".join(f"  int v{i} = {i};\n" for i in range(n))


def found(text):
    return {name: length for name, _, length in code_shape.functions(text)}


class FunctionsTest(unittest.TestCase):
    def test_free_function_length_counts_signature_to_closing_brace(self):
        text = "namespace a {\n\nint f(int x,\n      int y) {\n" + body(3) + "}\n\n}  // namespace a\n"
        self.assertEqual(found(text), {"f": 6})

    def test_member_definitions_qualifiers_and_trailing_return(self):
        text = (
            "int C::get() const noexcept {\n  return 1;\n}\n"
            "auto g() -> std::vector<int> {\n  return {};\n}\n"
            "void C::h() override {\n}\n"
        )
        self.assertEqual(found(text), {"C::get": 3, "g": 3, "C::h": 2})

    def test_constructor_with_brace_initializers_is_one_function(self):
        text = "C::C(int x)\n    : a_{x},\n      b_(x) {\n" + body(2) + "}\n"
        self.assertEqual(found(text), {"C::C": 6})

    def test_inline_members_in_a_class_and_lambdas_count_toward_their_function(self):
        text = (
            "class K {\n public:\n  int f() {\n    auto l = [](int a) {\n      return a;\n    };\n"
            "    return l(1);\n  }\n  int x_{0};\n};\n"
        )
        self.assertEqual(found(text), {"f": 6})

    def test_containers_initializers_and_comments_are_not_functions(self):
        text = (
            "// void fake() {\n"
            "struct S {\n  int a;\n};\n"
            "enum class E { kA, kB };\n"
            "const std::map<int, int> kTable = {\n  {1, f(2)},\n};\n"
            'const char* s = "void g() {";\n'
            "#define M(x) { x }\n"
        )
        self.assertEqual(found(text), {})

    def test_braces_inside_literals_do_not_end_a_function(self):
        text = "void f() {\n  auto a = \"}\";\n  char b = '}';\n  auto c = R\"(})\";\n}\n"
        self.assertEqual(found(text), {"f": 5})


class CommandTest(unittest.TestCase):
    def run_on(self, files):
        with tempfile.TemporaryDirectory() as root:
            for name, text in files.items():
                (pathlib.Path(root) / name).write_text(text)
            return subprocess.run(
                [sys.executable, str(SCRIPT), root], capture_output=True, text=True, check=False
            )

    def test_a_long_function_and_a_long_file_fail_with_their_names(self):
        result = self.run_on(
            {"long.cpp": "void too_long() {\n" + body(80) + "}\n", "big.h": "\n" * 601}
        )
        self.assertEqual(result.returncode, 1)
        self.assertIn("long.cpp:1: too_long is 82 lines", result.stdout)
        self.assertIn("big.h: 601 lines", result.stdout)

    def test_within_the_limits_passes(self):
        result = self.run_on({"ok.cpp": "void fine() {\n" + body(78) + "}\n", "ok.h": "\n" * 600})
        self.assertEqual(result.returncode, 0, result.stdout)


if __name__ == "__main__":
    unittest.main()
