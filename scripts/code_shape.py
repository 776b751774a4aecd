#!/usr/bin/env python3
"""Reports source files and functions under src/ that are too long to read.

The limits are the project's (DEVELOPERS.md): a file over ~600 lines or a
function over ~80 is asking to be split. Functions are found by reading the
code as tokens (comments and literals removed, braces matched): a function
body is a `{` met at namespace or class level right after a parameter list
(`)`, possibly followed by const, noexcept, override, a trailing return
type or a constructor's initializer list). Lambdas and local classes count
toward the function that holds them.

Exit status 1 when anything is over the limits, so a test can run it.
"""
import argparse
import pathlib
import re
import sys

CONTAINER = re.compile(r"^(template\s*<.*>\s*)?(namespace|class|struct|union|enum|extern)\b", re.S)


def strip_comments_and_literals(text):
    """Blanks comments, strings and character literals, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            k = text.find("(", i)
            delim = ")" + text[i + 2 : k] + '"'
            j = text.find(delim, k)
            j = n if j < 0 else j + len(delim)
            out.append('""' + re.sub(r"[^\n]", "", text[i:j]))
            i = j
        elif c in "\"'":
            # A digit separator (1'000) is not a character literal.
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(c)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(c + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def header_is_function(header):
    h = " ".join(header.split())
    if not h or CONTAINER.match(h):
        return False
    # Text after the parameter list: qualifiers, a trailing return type or a
    # constructor's initializer list.
    if h.endswith(")"):
        return True
    if re.search(r"\)\s*(const|noexcept|override|final|mutable|&|&&|\s)*$", h):
        return True
    if re.search(r"\)\s*(const\s*)?(noexcept\s*)?->\s*[\w:<>,\s*&]+$", h):
        return True
    if re.search(r"\)\s*(noexcept\s*)?:\s*\w", h):  # initializer list, after braces in it
        return True
    return False


def functions(text):
    """Yields (name, first_line, line_count) for each function body."""
    code = strip_comments_and_literals(text)
    # Preprocessor lines end no statement; blank them so they join no header.
    code = re.sub(r"(?m)^[ \t]*#.*$", lambda m: " " * len(m.group(0)), code)
    # An access specifier ends the header before it, as a `;` would.
    code = re.sub(r"\b(public|private|protected)\s*:(?!:)", lambda m: " " * (len(m.group(0)) - 1) + ";", code)
    stack = []  # "container" | "init" (a brace inside an initializer list or a variable's)
    header_start = 0
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c in ";":
            header_start = i + 1
        elif c == "}":
            if stack:
                kind = stack.pop()
                if kind != "init":
                    header_start = i + 1
        elif c == "{":
            header = code[header_start:i]
            in_init = "init" in stack
            is_init_brace = re.search(r"\)\s*(noexcept\s*)?:\s*\w", " ".join(header.split())) and re.search(
                r"\w$", header.rstrip()
            )
            if not in_init and not is_init_brace and header_is_function(header):
                # Find the matching close brace.
                depth, j = 1, i + 1
                while j < n and depth:
                    if code[j] == "{":
                        depth += 1
                    elif code[j] == "}":
                        depth -= 1
                    j += 1
                sig = " ".join(header.split())
                before_params = sig.split("(")[0].split()
                name = before_params[-1] if before_params else "?"
                first = code.count("\n", 0, header_start + len(header) - len(header.lstrip())) + 1
                last = code.count("\n", 0, j) + 1
                yield name, first, last - first + 1
                i = j
                header_start = j
                continue
            elif CONTAINER.match(" ".join(header.split())):
                stack.append("container")
                header_start = i + 1
            else:
                stack.append("init")
        i += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="src")
    parser.add_argument("--max-file", type=int, default=600)
    parser.add_argument("--max-function", type=int, default=80)
    parser.add_argument("--allow", action="append", default=[], help="file:function allowed to be long")
    args = parser.parse_args()

    problems = []
    for path in sorted(pathlib.Path(args.root).rglob("*")):
        if path.suffix not in (".cpp", ".h"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        count = text.count("\n")
        if count > args.max_file:
            problems.append(f"{path}: {count} lines (limit {args.max_file})")
        for name, first, length in functions(text):
            if length > args.max_function and f"{path.name}:{name}" not in args.allow:
                problems.append(f"{path}:{first}: {name} is {length} lines (limit {args.max_function})")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
