#!/usr/bin/env python3
"""apigen: C++ types for an AWS JSON service model (botocore's service-2.json).

Reads spec/efs-2015-02-01.json and writes one header and one source:

  * a struct per structure shape reachable from an operation's input or
    output (members keep the model's names; a member the model does not mark
    required is std::optional; lists are std::vector, maps std::map keyed by
    string), with nlohmann from_json/to_json over member names;
  * an enum class per string shape with an "enum" trait, with to_string and
    from_string (the enumerators are the model's values, made identifiers);
  * the error table: enum class ErrorCode with one enumerator per error shape,
    error_name() and error_http_status() from the shape's
    error.httpStatusCode, so a misspelt error code does not compile.

Timestamps are epoch seconds (double) and are written as whole seconds, as
EFS returns them. Run by meson (src/efs/meson.build) at build time, like
tools/xdrgen; stdlib only. Self-test: tools/apigen/apigen_test.py.
"""

import argparse
import json
import re
import sys

CPP_KEYWORDS = {
    'alignas', 'alignof', 'and', 'asm', 'auto', 'bool', 'break', 'case', 'catch', 'char',
    'class', 'const', 'continue', 'default', 'delete', 'do', 'double', 'else', 'enum',
    'explicit', 'export', 'extern', 'false', 'float', 'for', 'friend', 'goto', 'if', 'inline',
    'int', 'long', 'mutable', 'namespace', 'new', 'not', 'operator', 'or', 'private',
    'protected', 'public', 'register', 'return', 'short', 'signed', 'sizeof', 'static',
    'struct', 'switch', 'template', 'this', 'throw', 'true', 'try', 'typedef', 'typename',
    'union', 'unsigned', 'using', 'virtual', 'void', 'volatile', 'while', 'xor',
}

SCALARS = {
    'string': 'std::string',
    'blob': 'std::string',
    'boolean': 'bool',
    'integer': 'int32_t',
    'long': 'int64_t',
    'float': 'double',
    'double': 'double',
    'timestamp': 'double',
}


class ModelError(Exception):
    pass


def identifier(text):
    """A C++ identifier for a model name or enum value ('in-use' -> in_use)."""
    ident = re.sub(r'[^A-Za-z0-9_]', '_', text)
    if not ident or ident[0].isdigit():
        ident = '_' + ident
    if ident in CPP_KEYWORDS:
        ident += '_'
    return ident


class Generator:
    def __init__(self, model, namespace):
        self.shapes = model.get('shapes', {})
        self.operations = model.get('operations', {})
        self.ns = namespace
        self.structs = []  # in dependency order (members before users)
        self.enums = []
        self.errors = []
        self._visiting = set()
        self._done = set()

    def shape(self, name, context):
        if name not in self.shapes:
            raise ModelError(f'{context}: unknown shape {name}')
        return self.shapes[name]

    def is_enum(self, name):
        s = self.shapes[name]
        return s['type'] == 'string' and 'enum' in s

    def collect(self):
        for op_name in sorted(self.operations):
            op = self.operations[op_name]
            for io in ('input', 'output'):
                if io in op:
                    self.visit(op[io]['shape'], f'operation {op_name} {io}')
            for err in op.get('errors', []):
                self.shape(err['shape'], f'operation {op_name} errors')
        for name in sorted(self.shapes):
            s = self.shapes[name]
            if 'error' in s or s.get('exception'):
                status = s.get('error', {}).get('httpStatusCode')
                if not isinstance(status, int) or not 100 <= status <= 599:
                    raise ModelError(f'error shape {name}: no httpStatusCode')
                code = s.get('error', {}).get('code', name)
                self.errors.append((name, code, status))

    def visit(self, name, context):
        s = self.shape(name, context)
        t = s['type']
        if t == 'structure':
            if 'error' in s or s.get('exception'):
                return
            if name in self._done:
                return
            if name in self._visiting:
                raise ModelError(f'shape {name} contains itself (recursive shapes are not supported)')
            self._visiting.add(name)
            for mname, m in s.get('members', {}).items():
                self.visit(m['shape'], f'{name}.{mname}')
            self._visiting.discard(name)
            self._done.add(name)
            self.structs.append(name)
        elif t == 'list':
            self.visit(s['member']['shape'], f'{name} member')
        elif t == 'map':
            key = self.shape(s['key']['shape'], f'{name} key')
            if key['type'] != 'string':
                raise ModelError(f'map {name}: keys must be strings')
            self.visit(s['value']['shape'], f'{name} value')
        elif t == 'string' and 'enum' in s:
            if name not in self._done:
                self._done.add(name)
                self.enums.append(name)
        elif t not in SCALARS:
            raise ModelError(f'{context}: shape {name} has unsupported type {t}')

    def cpp_type(self, name):
        s = self.shapes[name]
        t = s['type']
        if t == 'structure' or self.is_enum(name):
            return f'::{self.ns}::{identifier(name)}'
        if t == 'list':
            return f'std::vector<{self.cpp_type(s["member"]["shape"])}>'
        if t == 'map':
            return f'std::map<std::string, {self.cpp_type(s["value"]["shape"])}>'
        return SCALARS[t]

    # Conversions of one value, by shape: an expression writing json from a
    # C++ value, and a statement reading one.
    def write_expr(self, name, value):
        s = self.shapes[name]
        t = s['type']
        if t == 'timestamp':
            return f'detail::whole_seconds({value})'
        if t == 'list':
            inner = self.write_expr(s['member']['shape'], 'e')
            return (f'[&] {{ nlohmann::json a = nlohmann::json::array(); '
                    f'for (const auto& e : {value}) a.push_back({inner}); return a; }}()')
        if t == 'map':
            inner = self.write_expr(s['value']['shape'], 'e')
            return (f'[&] {{ nlohmann::json o = nlohmann::json::object(); '
                    f'for (const auto& [k, e] : {value}) o[k] = {inner}; return o; }}()')
        return f'nlohmann::json({value})'

    def header(self, include_guard_comment):
        out = [
            f'// Generated by tools/apigen/apigen.py from {include_guard_comment}. Do not edit.',
            '#pragma once',
            '',
            '#include <cstdint>',
            '#include <map>',
            '#include <nlohmann/json.hpp>',
            '#include <optional>',
            '#include <string>',
            '#include <string_view>',
            '#include <vector>',
            '',
            f'namespace {self.ns} {{',
            '',
            '// The error table: one code per error shape of the model, with its',
            '// HTTP status (error.httpStatusCode).',
            'enum class ErrorCode {',
        ]
        for name, _, status in self.errors:
            out.append(f'  {identifier(name)},  // {status}')
        out.append('};')
        out.append('constexpr std::string_view error_name(ErrorCode c) {')
        out.append('  switch (c) {')
        for name, code, _ in self.errors:
            out.append(f'    case ErrorCode::{identifier(name)}: return "{code}";')
        out.append('  }')
        out.append('  return "InternalServerError";')
        out.append('}')
        out.append('constexpr int error_http_status(ErrorCode c) {')
        out.append('  switch (c) {')
        for name, _, status in self.errors:
            out.append(f'    case ErrorCode::{identifier(name)}: return {status};')
        out.append('  }')
        out.append('  return 500;')
        out.append('}')
        out.append('// The code of a name, for the error names that reach us as text.')
        out.append('std::optional<ErrorCode> error_code(std::string_view name);')
        out.append('')
        for name in self.enums:
            ident = identifier(name)
            values = self.shapes[name]['enum']
            out.append(f'enum class {ident} {{ ' +
                       ', '.join(identifier(v) for v in values) + ' };')
            out.append(f'std::string_view to_string({ident} v);')
            out.append(f'bool from_string(std::string_view text, {ident}& out);')
            out.append(f'void to_json(nlohmann::json& j, const {ident}& v);')
            out.append(f'void from_json(const nlohmann::json& j, {ident}& v);')
            out.append('')
        for name in self.structs:
            out.append(f'struct {identifier(name)};')
        out.append('')
        for name in self.structs:
            s = self.shapes[name]
            required = set(s.get('required', []))
            out.append(f'struct {identifier(name)} {{')
            for mname, m in s.get('members', {}).items():
                t = self.cpp_type(m['shape'])
                if mname in required:
                    init = '{}'
                    out.append(f'  {t} {identifier(mname)}{init};')
                else:
                    out.append(f'  std::optional<{t}> {identifier(mname)};')
            out.append('};')
            out.append(f'void to_json(nlohmann::json& j, const {identifier(name)}& v);')
            out.append(f'void from_json(const nlohmann::json& j, {identifier(name)}& v);')
            out.append('')
        out.append(f'}}  // namespace {self.ns}')
        return '\n'.join(out) + '\n'

    def source(self, include):
        out = [
            '// Generated by tools/apigen/apigen.py. Do not edit.',
            f'#include "{include}"',
            '',
            '#include <cmath>',
            '#include <stdexcept>',
            '',
            f'namespace {self.ns} {{',
            'namespace detail {',
            'inline nlohmann::json whole_seconds(double t) {',
            '  return static_cast<int64_t>(std::floor(t));',
            '}',
            '}  // namespace detail',
            '',
            'std::optional<ErrorCode> error_code(std::string_view name) {',
        ]
        for name, code, _ in self.errors:
            out.append(f'  if (name == "{code}") return ErrorCode::{identifier(name)};')
        out.append('  return std::nullopt;')
        out.append('}')
        out.append('')
        for name in self.enums:
            ident = identifier(name)
            values = self.shapes[name]['enum']
            out.append(f'std::string_view to_string({ident} v) {{')
            out.append('  switch (v) {')
            for v in values:
                out.append(f'    case {ident}::{identifier(v)}: return "{v}";')
            out.append('  }')
            out.append('  return "";')
            out.append('}')
            out.append(f'bool from_string(std::string_view text, {ident}& out) {{')
            for v in values:
                out.append(f'  if (text == "{v}") {{ out = {ident}::{identifier(v)}; return true; }}')
            out.append('  return false;')
            out.append('}')
            out.append(f'void to_json(nlohmann::json& j, const {ident}& v) {{ j = std::string(to_string(v)); }}')
            out.append(f'void from_json(const nlohmann::json& j, {ident}& v) {{')
            out.append(f'  if (!from_string(j.get<std::string>(), v))')
            out.append(f'    throw std::invalid_argument("not a {name}: " + j.get<std::string>());')
            out.append('}')
            out.append('')
        for name in self.structs:
            s = self.shapes[name]
            ident = identifier(name)
            required = set(s.get('required', []))
            members = s.get('members', {})
            out.append(f'void to_json(nlohmann::json& j, const {ident}& v) {{')
            out.append('  j = nlohmann::json::object();')
            if not members:
                out.append('  (void)v;')
            for mname, m in members.items():
                mid = identifier(mname)
                if mname in required:
                    out.append(f'  j["{mname}"] = {self.write_expr(m["shape"], "v." + mid)};')
                else:
                    out.append(f'  if (v.{mid}) j["{mname}"] = {self.write_expr(m["shape"], "*v." + mid)};')
            out.append('}')
            out.append(f'void from_json(const nlohmann::json& j, {ident}& v) {{')
            if members:
                out.append('  if (!j.is_object()) return;')
            else:
                out.append('  (void)j;')
                out.append('  (void)v;')
            for mname, m in members.items():
                mid = identifier(mname)
                t = self.cpp_type(m['shape'])
                out.append(f'  if (auto it = j.find("{mname}"); it != j.end() && !it->is_null())')
                out.append(f'    v.{mid} = it->get<{t}>();')
            out.append('}')
            out.append('')
        out.append(f'}}  // namespace {self.ns}')
        return '\n'.join(out) + '\n'


def generate(model, namespace, include, source_name='the model'):
    """Returns (header text, source text)."""
    g = Generator(model, namespace)
    g.collect()
    return g.header(source_name), g.source(include)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('model')
    p.add_argument('--header', required=True)
    p.add_argument('--source', required=True)
    p.add_argument('--namespace', required=True)
    p.add_argument('--include', required=True, help='how the source includes the header')
    a = p.parse_args(argv)
    with open(a.model) as f:
        model = json.load(f)
    import os
    try:
        h, s = generate(model, a.namespace, a.include, os.path.basename(a.model))
    except ModelError as e:
        print(f'apigen: {a.model}: {e}', file=sys.stderr)
        return 1
    with open(a.header, 'w') as f:
        f.write(h)
    with open(a.source, 'w') as f:
        f.write(s)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
