#!/usr/bin/env python3
"""xdrgen: turns an XDR description (RFC 4506 language subset) into C++.

Usage: xdrgen.py INPUT.x --header OUT.h --source OUT.cc
                 [--namespace efs::xdr::nfs4] [--include xdr/nfs4_xdr.h]

Supported: const, typedef, enum, struct, union switch (case/default, shared
arms, void arms), fixed [N] and variable <N>/<> arrays, opaque, string,
optional data (T *x), bool, int, unsigned int, hyper, unsigned hyper, the
int32_t/uint32_t/int64_t/uint64_t names, C and C++ comments, %-lines
(ignored).  Not supported (rejected with a message): float/double,
quadruple, inline struct/enum/union declarations, program definitions.

The generated code follows docs/xdr-codegen.md.  Python 3 standard library
only, so the build needs nothing beyond python3.
"""

import argparse
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xdr_parser import BASE, Def, Parser, XdrError, tokenize  # noqa: E402

ARRAY_CAP = 1 << 20          # elements, for arrays without a bound
LIST_CAP = 1 << 20           # entries, for linked lists (T *next)

CPP_KEYWORDS = set("""
alignas alignof and and_eq asm auto bitand bitor bool break case catch char
char8_t char16_t char32_t class compl concept const consteval constexpr
constinit const_cast continue co_await co_return co_yield decltype default
delete do double dynamic_cast else enum explicit export extern false float for
friend goto if inline int long mutable namespace new noexcept not not_eq
nullptr operator or or_eq private protected public register reinterpret_cast
requires return short signed sizeof static static_assert static_cast struct
switch template this thread_local throw true try typedef typeid typename union
unsigned using virtual void volatile wchar_t while xor xor_eq
""".split())

# ----------------------------------------------------------------- generator

def cpp_name(name):
    return name + '_' if name in CPP_KEYWORDS else name


class Generator:
    def __init__(self, defs, consts, namespace, include):
        self.defs, self.consts = defs, consts
        self.ns, self.include = namespace, include
        self.types = {}
        for d in defs:
            if d.kind != 'const':
                if d.name in self.types:
                    raise XdrError(f'line {d.line}: type {d.name} defined twice')
                self.types[d.name] = d
        self.check()

    # --- type resolution

    def resolve(self, name):
        """Follows plain typedefs; returns the final Def or a base name."""
        seen = set()
        while name not in BASE and name not in ('opaque', 'string'):
            d = self.types.get(name)
            if d is None:
                raise XdrError(f'unknown type {name}')
            if d.kind != 'typedef' or d.decl.kind != 'plain':
                return d
            if name in seen:
                raise XdrError(f'typedef loop at {name}')
            seen.add(name)
            name = d.decl.base
        return name

    def shaped_alias(self, name):
        """The typedef whose codec functions a value of type `name` uses,
        if it is an array/opaque/string/optional typedef, else None."""
        r = self.resolve(name)
        if isinstance(r, Def) and r.kind == 'typedef':
            return r
        return None

    def is_recursive(self, name):
        d = self.resolve(name)
        if not isinstance(d, Def) or d.kind != 'struct':
            return False
        return any(m.kind == 'optional' and self.resolve(m.base) is d for m in d.members)

    def check(self):
        names = set(self.types)
        for d in self.defs:
            if d.kind == 'typedef':
                decls = [d.decl]
            elif d.kind == 'struct':
                decls = d.members
            elif d.kind == 'union':
                decls = [d.disc] + [a[1] for a in d.arms] + ([d.default] if d.default else [])
            else:
                continue
            for m in decls:
                if m.kind == 'void':
                    continue
                if m.base not in ('opaque', 'string') and m.base not in BASE:
                    self.resolve(m.base)    # raises on unknown types
                if d.kind != 'typedef' and m.name in names:
                    # GCC rejects a member that shadows a type used in the
                    # same class ("changes meaning"); refuse it early.
                    raise XdrError(f'line {d.line}: member {m.name} of {d.name} '
                                   f'has the name of a type')
                if m.kind == 'optional' and m.base in ('opaque', 'string'):
                    raise XdrError(f'line {d.line}: optional {m.base} is not XDR')
            if d.kind == 'struct':
                rec = [m for m in d.members if m.kind == 'optional'
                       and self.resolve(m.base) is d]
                if rec and (len(rec) > 1 or rec[0] is not d.members[-1]):
                    raise XdrError(f'line {d.line}: {d.name}: only a linked list '
                                   f'(self pointer as last member) may recurse')
            if d.kind == 'union':
                disc = self.resolve(d.disc.base)
                ok = disc in BASE or (isinstance(disc, Def) and disc.kind == 'enum')
                if not ok or disc in ('hyper', 'unsigned hyper'):
                    raise XdrError(f'line {d.line}: union {d.name}: discriminant must '
                                   f'be int, unsigned int, bool or an enum')
                seen = set()
                for values, _ in d.arms:
                    for v in values:
                        if v in seen:
                            raise XdrError(f'line {d.line}: union {d.name}: case {v} twice')
                        seen.add(v)

    # --- C++ types

    def cpp_type(self, base):
        if base in BASE:
            return BASE[base][0]
        return cpp_name(base)

    def member_type(self, m):
        if m.kind == 'plain':
            return self.cpp_type(m.base)
        if m.kind == 'fixed':
            if m.base == 'opaque':
                return f'std::array<uint8_t, {m.bound}>'
            return f'std::array<{self.cpp_type(m.base)}, {m.bound}>'
        if m.kind == 'var':
            if m.base == 'opaque':
                return 'std::vector<uint8_t>'
            if m.base == 'string':
                return 'std::string'
            return f'std::vector<{self.cpp_type(m.base)}>'
        if m.kind == 'optional':
            if self.is_recursive(m.base):
                return f'std::unique_ptr<{self.cpp_type(m.base)}>'
            return f'std::optional<{self.cpp_type(m.base)}>'
        raise XdrError(f'no C++ type for {m}')

    # --- minimum wire size of a value (for Reader::count)

    def min_size(self, base, stack=()):
        if base in BASE:
            return BASE[base][3]
        d = self.types[base]
        if d in stack:
            return 4
        stack = stack + (d,)
        if d.kind == 'enum':
            return 4
        if d.kind == 'typedef':
            return self.decl_min_size(d.decl, stack)
        if d.kind == 'struct':
            return sum(self.decl_min_size(m, stack) for m in d.members)
        if d.kind == 'union':
            arms = [a[1] for a in d.arms] + ([d.default] if d.default else [])
            return 4 + min(self.decl_min_size(a, stack) for a in arms)
        raise XdrError(f'no size for {base}')

    def decl_min_size(self, m, stack=()):
        if m.kind == 'void':
            return 0
        if m.kind == 'plain':
            return self.min_size(m.base, stack)
        if m.kind == 'fixed':
            if m.base == 'opaque':
                return (m.bound + 3) & ~3
            return m.bound * self.min_size(m.base, stack)
        return 4   # var arrays/opaque/string and optional start with a word

    # --- codec snippets

    def value_decode(self, base, expr):
        """Statement decoding one value of named type `base` into expr."""
        r = self.resolve(base)
        if r in BASE:
            return f'{expr} = r.{BASE[r][1]}();'
        alias = self.shaped_alias(base)
        if alias:
            return f'decode_{alias.name}(r, {expr});'
        return f'decode(r, {expr});'

    def value_encode(self, base, expr):
        r = self.resolve(base)
        if r in BASE:
            return f'w.{BASE[r][2]}({expr});'
        alias = self.shaped_alias(base)
        if alias:
            return f'encode_{alias.name}(w, {expr});'
        return f'encode(w, {expr});'

    def bound_expr(self, m):
        return f'{m.bound}u' if m.bound is not None else None

    def decl_decode(self, m, expr, ind):
        """Lines decoding declaration m into expr, at indent ind."""
        p = ' ' * ind
        if m.kind == 'plain':
            return [p + self.value_decode(m.base, expr)]
        if m.kind == 'fixed' and m.base == 'opaque':
            return [p + '{',
                    p + f'  auto s = r.fixed({m.bound});',
                    p + f'  if (r.ok()) std::memcpy({expr}.data(), s.data(), {m.bound});',
                    p + '}']
        if m.kind == 'fixed':
            return [p + f'for (auto& e : {expr}) {{',
                    p + '  ' + self.value_decode(m.base, 'e'),
                    p + '  if (!r.ok()) break;',
                    p + '}']
        if m.kind == 'var' and m.base == 'opaque':
            b = self.bound_expr(m) or '0xffffffffu'
            return [p + '{',
                    p + f'  auto s = r.opaque({b});',
                    p + f'  {expr}.assign(s.begin(), s.end());',
                    p + '}']
        if m.kind == 'var' and m.base == 'string':
            b = self.bound_expr(m) or '0xffffffffu'
            return [p + f'{expr} = r.string({b});']
        if m.kind == 'var':
            b = self.bound_expr(m) or f'{ARRAY_CAP}u'
            return [p + '{',
                    p + f'  uint32_t n = r.count({b}, {self.min_size(m.base)});',
                    p + f'  {expr}.clear();',
                    p + f'  {expr}.resize(n);',
                    p + f'  for (auto& e : {expr}) {{',
                    p + '    ' + self.value_decode(m.base, 'e'),
                    p + '    if (!r.ok()) break;',
                    p + '  }',
                    p + '}']
        if m.kind == 'optional':
            t = self.cpp_type(m.base)
            if self.is_recursive(m.base):
                make = f'{expr} = std::make_unique<{t}>();'
            else:
                make = f'{expr}.emplace();'
            return [p + 'if (r.boolean()) {',
                    p + '  ' + make,
                    p + '  ' + self.value_decode(m.base, f'*{expr}'),
                    p + '} else {',
                    p + f'  {expr}.reset();',
                    p + '}']
        raise XdrError(f'cannot decode {m}')

    def decl_encode(self, m, expr, ind):
        p = ' ' * ind
        if m.kind == 'plain':
            return [p + self.value_encode(m.base, expr)]
        if m.kind == 'fixed' and m.base == 'opaque':
            return [p + f'w.fixed({expr});']
        if m.kind == 'fixed':
            return [p + f'for (const auto& e : {expr}) {self.value_encode(m.base, "e")}']
        if m.kind == 'var' and m.base == 'opaque':
            return [p + f'w.opaque({expr});']
        if m.kind == 'var' and m.base == 'string':
            return [p + f'w.string({expr});']
        if m.kind == 'var':
            return [p + f'w.u32(static_cast<uint32_t>({expr}.size()));',
                    p + f'for (const auto& e : {expr}) {self.value_encode(m.base, "e")}']
        if m.kind == 'optional':
            return [p + f'w.boolean(static_cast<bool>({expr}));',
                    p + f'if ({expr}) {self.value_encode(m.base, "*" + expr)}']
        raise XdrError(f'cannot encode {m}')

    # --- ordering: a type is emitted after every type it holds by value

    def ordered(self):
        order, state = [], {}

        def deps(d):
            if d.kind == 'typedef':
                decls = [d.decl]
            elif d.kind == 'struct':
                decls = d.members
            elif d.kind == 'union':
                decls = [d.disc] + [a[1] for a in d.arms] + ([d.default] if d.default else [])
            else:
                return []
            out = []
            for m in decls:
                if m.kind == 'void' or m.base in BASE or m.base in ('opaque', 'string'):
                    continue
                if m.kind == 'optional' and self.is_recursive(m.base):
                    # unique_ptr to a (possibly incomplete) type, but the type
                    # must still be declared: handled by forward declarations.
                    if self.resolve(m.base) is d:
                        continue
                out.append(self.types[m.base])
            return out

        def visit(d):
            s = state.get(d.name)
            if s == 'done':
                return
            if s == 'active':
                raise XdrError(f'type cycle through {d.name} (needs T *)')
            state[d.name] = 'active'
            for dep in deps(d):
                visit(dep)
            state[d.name] = 'done'
            order.append(d)

        for d in self.defs:
            if d.kind != 'const':
                visit(d)
        return order

    # --- output

    def const_line(self, name, v):
        if 0 <= v <= 0xffffffff:
            t, lit = 'uint32_t', f'{v:#x}u' if v > 9 else f'{v}u'
        elif v < 0:
            t, lit = 'int64_t', f'int64_t{{{v}}}'
        else:
            t, lit = 'uint64_t', f'{v:#x}ull'
        return f'inline constexpr {t} {cpp_name(name)} = {lit};'

    def header(self):
        o = []
        o.append('// Generated by tools/xdrgen/xdrgen.py. Do not edit; change the .x file.')
        o.append('// Conventions: docs/xdr-codegen.md.')
        o.append('#pragma once')
        o.append('')
        for inc in ('array', 'cstdint', 'memory', 'optional', 'string', 'vector'):
            o.append(f'#include <{inc}>')
        o.append('')
        o.append('#include "xdr/xdr.h"')
        o.append('')
        o.append(f'namespace {self.ns} {{')
        o.append('')
        o.append('// Constants.')
        for d in self.defs:
            if d.kind == 'const':
                o.append(self.const_line(d.name, d.value))
        o.append('')
        # Enums first: they depend on nothing.
        for d in self.defs:
            if d.kind == 'enum':
                o.append(f'enum {cpp_name(d.name)} : int32_t {{')
                for n, v in d.items:
                    if not -(1 << 31) <= v < (1 << 31):
                        raise XdrError(f'enum value {n} = {v} does not fit int32')
                    o.append(f'  {cpp_name(n)} = {v},')
                o.append('};')
        o.append('')
        # Forward declarations, so unique_ptr<T> can name T early.
        for d in self.defs:
            if d.kind in ('struct', 'union'):
                o.append(f'struct {cpp_name(d.name)};')
        o.append('')
        for d in self.ordered():
            if d.kind == 'enum':
                continue
            if d.kind == 'typedef':
                o.append(f'using {cpp_name(d.name)} = {self.member_type(d.decl)};')
                continue
            o.append('')
            o.append(f'struct {cpp_name(d.name)} {{')
            members = d.members if d.kind == 'struct' else self.union_members(d)
            for m in members:
                o.append(f'  {self.member_type(m)} {cpp_name(m.name)}{{}};')
            if d.kind == 'struct' and self.is_recursive(d.name):
                n = cpp_name(d.name)
                o.append('')
                o.append('  // A long list must not be freed by recursion through')
                o.append('  // ~unique_ptr: the destructor unlinks it iteratively.')
                o.append(f'  {n}() = default;')
                o.append(f'  {n}({n}&&) = default;')
                o.append(f'  {n}& operator=({n}&&) = default;')
                o.append(f'  ~{n}();')
            o.append('};')
        o.append('')
        o.append('// Codecs. decode() returns r.ok(); a failure sets r\'s error flag.')
        for d in self.defs:
            if d.kind == 'const':
                continue
            n = cpp_name(d.name)
            if d.kind == 'typedef':
                if self.shaped_alias(d.name) is d:
                    o.append(f'bool decode_{d.name}(efs::xdr::Reader& r, {n}& v);')
                    o.append(f'void encode_{d.name}(efs::xdr::Writer& w, const {n}& v);')
                continue
            o.append(f'bool decode(efs::xdr::Reader& r, {n}& v);')
            o.append(f'void encode(efs::xdr::Writer& w, const {n}& v);')
        o.append('')
        o.append('// Base types, so generic code can call decode/encode on any member.')
        for b in BASE.values():
            o.append(f'inline bool decode(efs::xdr::Reader& r, {b[0]}& v) {{ v = r.{b[1]}(); '
                     f'return r.ok(); }}')
            o.append(f'inline void encode(efs::xdr::Writer& w, {b[0]} v) {{ w.{b[2]}(v); }}')
        o.append('')
        o.append('// Enum names for logs; "?" for a value the enum does not define.')
        for d in self.defs:
            if d.kind == 'enum':
                o.append(f'const char* to_string({cpp_name(d.name)} v);')
        o.append('')
        o.append(f'}}  // namespace {self.ns}')
        o.append('')
        return '\n'.join(o)

    def union_members(self, d):
        out, seen = [], set()
        arms = [a[1] for a in d.arms] + ([d.default] if d.default else [])
        out.append(d.disc)
        seen.add(d.disc.name)
        for a in arms:
            if a.kind == 'void':
                continue
            if a.name in seen:
                raise XdrError(f'line {d.line}: union {d.name}: arm name {a.name} twice')
            seen.add(a.name)
            out.append(a)
        return out

    def source(self):
        o = []
        o.append('// Generated by tools/xdrgen/xdrgen.py. Do not edit; change the .x file.')
        o.append(f'#include "{self.include}"')
        o.append('')
        o.append('#include <cstring>')
        o.append('')
        o.append(f'namespace {self.ns} {{')
        for d in self.defs:
            if d.kind == 'const':
                continue
            o.append('')
            getattr(self, 'emit_' + d.kind)(d, o)
        o.append('')
        o.append(f'}}  // namespace {self.ns}')
        o.append('')
        return '\n'.join(o)

    def emit_enum(self, d, o):
        n = cpp_name(d.name)
        o.append(f'bool decode(efs::xdr::Reader& r, {n}& v) {{')
        o.append('  // Any int32 is accepted: the handler decides what an unknown value means.')
        o.append(f'  v = static_cast<{n}>(r.i32());')
        o.append('  return r.ok();')
        o.append('}')
        o.append(f'void encode(efs::xdr::Writer& w, const {n}& v) {{ w.i32(v); }}')
        o.append(f'const char* to_string({n} v) {{')
        o.append('  switch (static_cast<int32_t>(v)) {')
        seen = set()
        for name, v in d.items:
            if v in seen:
                continue
            seen.add(v)
            o.append(f'    case {v}: return "{name}";')
        o.append('  }')
        o.append('  return "?";')
        o.append('}')

    def emit_typedef(self, d, o):
        if self.shaped_alias(d.name) is not d:
            return   # plain alias: the underlying type's functions apply
        n = cpp_name(d.name)
        o.append(f'bool decode_{d.name}(efs::xdr::Reader& r, {n}& v) {{')
        o.extend(self.decl_decode(d.decl, 'v', 2))
        o.append('  return r.ok();')
        o.append('}')
        o.append(f'void encode_{d.name}(efs::xdr::Writer& w, const {n}& v) {{')
        o.extend(self.decl_encode(d.decl, 'v', 2))
        o.append('}')

    def emit_struct(self, d, o):
        n = cpp_name(d.name)
        if self.is_recursive(d.name):
            self.emit_list(d, o)
            return
        o.append(f'bool decode(efs::xdr::Reader& r, {n}& v) {{')
        for m in d.members:
            o.extend(self.decl_decode(m, f'v.{cpp_name(m.name)}', 2))
        o.append('  return r.ok();')
        o.append('}')
        o.append(f'void encode(efs::xdr::Writer& w, const {n}& v) {{')
        for m in d.members:
            o.extend(self.decl_encode(m, f'v.{cpp_name(m.name)}', 2))
        o.append('}')

    def emit_list(self, d, o):
        """A struct whose last member points to its own type: a linked list,
        coded with a loop so hostile input cannot exhaust the stack."""
        n = cpp_name(d.name)
        link = cpp_name(d.members[-1].name)
        body = d.members[:-1]
        o.append(f'{n}::~{n}() {{')
        # `this->` because the link member may itself be called `chain`.
        o.append(f'  std::unique_ptr<{n}> chain = std::move(this->{link});')
        o.append(f'  while (chain) chain = std::move(chain->{link});')
        o.append('}')
        o.append(f'bool decode(efs::xdr::Reader& r, {n}& v) {{')
        o.append(f'  {n}* cur = &v;')
        o.append('  for (uint32_t entries = 1;; ++entries) {')
        for m in body:
            o.extend(self.decl_decode(m, f'cur->{cpp_name(m.name)}', 4))
        o.append('    bool more = r.boolean();')
        o.append('    if (!r.ok()) return false;')
        o.append('    if (!more) {')
        o.append(f'      cur->{link}.reset();')
        o.append('      return true;')
        o.append('    }')
        o.append(f'    if (entries >= {LIST_CAP}u) {{')
        o.append('      r.set_error();')
        o.append('      return false;')
        o.append('    }')
        o.append(f'    cur->{link} = std::make_unique<{n}>();')
        o.append(f'    cur = cur->{link}.get();')
        o.append('  }')
        o.append('}')
        o.append(f'void encode(efs::xdr::Writer& w, const {n}& v) {{')
        o.append(f'  for (const {n}* cur = &v; cur; cur = cur->{link}.get()) {{')
        for m in body:
            o.extend(self.decl_encode(m, f'cur->{cpp_name(m.name)}', 4))
        o.append(f'    w.boolean(static_cast<bool>(cur->{link}));')
        o.append('  }')
        o.append('}')

    def disc_switch(self, d):
        disc = self.resolve(d.disc.base)
        e = f'v.{cpp_name(d.disc.name)}'
        if disc == 'bool':
            return f'({e} ? 1 : 0)', 'int32_t'
        if disc == 'unsigned int':
            return e, 'uint32_t'
        return f'static_cast<int32_t>({e})', 'int32_t'

    def case_label(self, v, ctype):
        if ctype == 'uint32_t':
            return f'{v & 0xffffffff}u'
        if not -(1 << 31) <= v < (1 << 31):
            raise XdrError(f'case value {v} does not fit int32')
        return f'{v}' if v != -(1 << 31) else '(-2147483647 - 1)'

    def emit_union(self, d, o):
        n = cpp_name(d.name)
        sw, ctype = self.disc_switch(d)
        for what in ('decode', 'encode'):
            if what == 'decode':
                o.append(f'bool decode(efs::xdr::Reader& r, {n}& v) {{')
                o.extend(self.decl_decode(d.disc, f'v.{cpp_name(d.disc.name)}', 2))
                o.append('  if (!r.ok()) return false;')
            else:
                o.append(f'void encode(efs::xdr::Writer& w, const {n}& v) {{')
                o.extend(self.decl_encode(d.disc, f'v.{cpp_name(d.disc.name)}', 2))
            o.append(f'  switch ({sw}) {{')
            for values, arm in d.arms:
                for v in values:
                    o.append(f'    case {self.case_label(v, ctype)}:')
                if arm.kind != 'void':
                    code = (self.decl_decode(arm, f'v.{cpp_name(arm.name)}', 6)
                            if what == 'decode' else
                            self.decl_encode(arm, f'v.{cpp_name(arm.name)}', 6))
                    o.extend(code)
                o.append('      break;')
            o.append('    default:')
            if d.has_default:
                if d.default.kind != 'void':
                    code = (self.decl_decode(d.default, f'v.{cpp_name(d.default.name)}', 6)
                            if what == 'decode' else
                            self.decl_encode(d.default, f'v.{cpp_name(d.default.name)}', 6))
                    o.extend(code)
            elif what == 'decode':
                o.append('      // No arm for this discriminant and no default: not valid XDR.')
                o.append('      r.set_error();')
            o.append('      break;')
            o.append('  }')
            if what == 'decode':
                o.append('  return r.ok();')
            o.append('}')


def generate(text, namespace, include):
    p = Parser(tokenize(text))
    defs = p.parse()
    g = Generator(defs, p.consts, namespace, include)
    return g.header(), g.source()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('input')
    ap.add_argument('--header', required=True)
    ap.add_argument('--source', required=True)
    ap.add_argument('--namespace', default='efs::xdr::nfs4')
    ap.add_argument('--include', default=None,
                    help='how the .cc includes the header (default: xdr/<header name>)')
    a = ap.parse_args(argv)
    include = a.include or 'xdr/' + a.header.replace('\\', '/').split('/')[-1]
    try:
        with open(a.input, encoding='utf-8') as f:
            h, c = generate(f.read(), a.namespace, include)
    except XdrError as e:
        print(f'{a.input}: error: {e}', file=sys.stderr)
        return 1
    for path, text in ((a.header, h), (a.source, c)):
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
