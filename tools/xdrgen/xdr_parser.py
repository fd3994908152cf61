"""The XDR language subset read by xdrgen (RFC 4506 section 6):
a tokenizer, the declaration model and a recursive-descent parser.

Constants are folded while parsing, so every bound and case value in
the model is an int.
"""

import re

# XDR base type -> (C++ type, Reader call, Writer call, wire size)
BASE = {
    'int': ('int32_t', 'i32', 'i32', 4),
    'unsigned int': ('uint32_t', 'u32', 'u32', 4),
    'hyper': ('int64_t', 'i64', 'i64', 8),
    'unsigned hyper': ('uint64_t', 'u64', 'u64', 8),
    'bool': ('bool', 'boolean', 'boolean', 4),
}
BASE_ALIASES = {
    'int32_t': 'int', 'uint32_t': 'unsigned int', 'int64_t': 'hyper',
    'uint64_t': 'unsigned hyper', 'unsigned': 'unsigned int',
}


class XdrError(Exception):
    pass


# ----------------------------------------------------------------- lexer

TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<number>-?(?:0[xX][0-9a-fA-F]+|[0-9]+))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}\[\]<>();,:=*])
""", re.S | re.X)


def tokenize(text):
    # %-lines pass C text through rpcgen; they mean nothing to us.
    lines = []
    for line in text.split('\n'):
        lines.append('' if line.lstrip().startswith('%') else line)
    text = '\n'.join(lines)
    pos, line_no, out = 0, 1, []
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise XdrError(f'line {line_no}: unexpected character {text[pos]!r}')
        kind = m.lastgroup
        if kind not in ('ws', 'comment'):
            out.append((kind, m.group(kind), line_no))
        line_no += m.group(0).count('\n')
        pos = m.end()
    out.append(('eof', '', line_no))
    return out


# ----------------------------------------------------------------- model

class Decl:
    """One declaration: `kind` is void, plain, fixed, var, optional;
    `base` is a type name ('opaque' and 'string' included); `bound` is
    the array size (int) or None for <>."""

    def __init__(self, kind, base=None, name=None, bound=None):
        self.kind, self.base, self.name, self.bound = kind, base, name, bound

    def __repr__(self):
        return f'Decl({self.kind},{self.base},{self.name},{self.bound})'


class Def:
    def __init__(self, kind, name, line):
        self.kind, self.name, self.line = kind, name, line
        self.value = None        # const
        self.items = []          # enum: [(name, value)]
        self.members = []        # struct: [Decl]
        self.decl = None         # typedef: Decl
        self.disc = None         # union: Decl of the discriminant
        self.arms = []           # union: [([case values], Decl)]
        self.default = None      # union: Decl or None (absent)
        self.has_default = False


# ----------------------------------------------------------------- parser

class Parser:
    def __init__(self, tokens):
        self.toks, self.i = tokens, 0
        self.consts = {}          # name -> int (consts and enum values)
        self.defs = []

    def peek(self, k=0):
        return self.toks[self.i + k]

    def next(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def error(self, msg, tok=None):
        tok = tok or self.peek()
        raise XdrError(f'line {tok[2]}: {msg} (at {tok[1]!r})')

    def expect(self, value):
        t = self.next()
        if t[1] != value:
            self.error(f'expected {value!r}', t)
        return t

    def ident(self):
        t = self.next()
        if t[0] != 'ident':
            self.error('expected a name', t)
        return t[1]

    def value(self):
        t = self.next()
        if t[0] == 'number':
            return int(t[1], 0)
        if t[0] == 'ident':
            if t[1] not in self.consts:
                self.error('unknown constant', t)
            return self.consts[t[1]]
        self.error('expected a value', t)

    def parse(self):
        while self.peek()[0] != 'eof':
            t = self.next()
            kw = t[1]
            if kw == 'const':
                d = Def('const', self.ident(), t[2])
                self.expect('=')
                d.value = self.value()
                self.expect(';')
                self.define_const(d.name, d.value, t)
            elif kw == 'typedef':
                decl = self.declaration()
                if decl.kind == 'void':
                    self.error('typedef of void', t)
                d = Def('typedef', decl.name, t[2])
                d.decl = decl
                self.expect(';')
            elif kw == 'enum':
                d = Def('enum', self.ident(), t[2])
                self.expect('{')
                while True:
                    name = self.ident()
                    self.expect('=')
                    v = self.value()
                    d.items.append((name, v))
                    self.define_const(name, v, t)
                    if self.peek()[1] == ',':
                        self.next()
                        continue
                    break
                self.expect('}')
                self.expect(';')
            elif kw == 'struct':
                d = Def('struct', self.ident(), t[2])
                self.expect('{')
                while self.peek()[1] != '}':
                    decl = self.declaration()
                    if decl.kind == 'void':
                        self.error('void member in struct')
                    d.members.append(decl)
                    self.expect(';')
                self.expect('}')
                self.expect(';')
                if not d.members:
                    self.error('empty struct', t)
            elif kw == 'union':
                d = Def('union', self.ident(), t[2])
                self.expect('switch')
                self.expect('(')
                d.disc = self.declaration()
                if d.disc.kind != 'plain':
                    self.error('union discriminant must be a plain type')
                self.expect(')')
                self.expect('{')
                while self.peek()[1] != '}':
                    if self.peek()[1] == 'default':
                        self.next()
                        self.expect(':')
                        if d.has_default:
                            self.error('two default arms')
                        d.has_default = True
                        d.default = self.declaration()
                        self.expect(';')
                        continue
                    values = []
                    while self.peek()[1] == 'case':
                        self.next()
                        values.append(self.case_value())
                        self.expect(':')
                    if not values:
                        self.error('expected case or default')
                    decl = self.declaration()
                    self.expect(';')
                    d.arms.append((values, decl))
                self.expect('}')
                self.expect(';')
            elif kw == 'program':
                self.error('program definitions are not supported', t)
            else:
                self.error('expected const, typedef, enum, struct or union', t)
            self.defs.append(d)
        return self.defs

    def case_value(self):
        t = self.peek()
        if t[1] in ('TRUE', 'FALSE'):
            self.next()
            return 1 if t[1] == 'TRUE' else 0
        return self.value()

    def define_const(self, name, value, tok):
        if name in self.consts:
            self.error(f'{name} defined twice', tok)
        self.consts[name] = value

    def type_spec(self):
        t = self.next()
        name = t[1]
        if t[0] != 'ident':
            self.error('expected a type', t)
        if name == 'unsigned':
            nxt = self.peek()[1]
            if nxt in ('int', 'hyper'):
                self.next()
                return 'unsigned ' + nxt
            return 'unsigned int'
        if name in ('float', 'double', 'quadruple'):
            self.error('floating point types are not supported', t)
        if name in ('struct', 'union', 'enum') and self.peek()[1] == '{':
            self.error('inline type definitions are not supported; use a typedef', t)
        if name in ('struct', 'union', 'enum'):
            return self.ident()   # `struct foo x;` means type foo
        return BASE_ALIASES.get(name, name)

    def declaration(self):
        if self.peek()[1] == 'void':
            self.next()
            return Decl('void')
        base = self.type_spec()
        if self.peek()[1] == '*':
            self.next()
            return Decl('optional', base, self.ident())
        name = self.ident()
        if self.peek()[1] == '[':
            self.next()
            n = self.value()
            self.expect(']')
            if base == 'string':
                self.error('string must be variable-length')
            return Decl('fixed', base, name, n)
        if self.peek()[1] == '<':
            self.next()
            n = None
            if self.peek()[1] != '>':
                n = self.value()
            self.expect('>')
            return Decl('var', base, name, n)
        if base in ('opaque', 'string'):
            self.error(f'{base} needs [N] or <N>')
        return Decl('plain', base, name)
