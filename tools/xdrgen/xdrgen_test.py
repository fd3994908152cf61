#!/usr/bin/env python3
"""Self-test of xdrgen: the parser's refusals and the shape of nfs4.x.

Run: python3 tools/xdrgen/xdrgen_test.py (registered as meson test 'xdrgen').
The C++ side of the self-test is tests/unit/xdr/xdrgen_test.cc.
"""

import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import xdrgen  # noqa: E402

NFS4_X = os.path.join(HERE, '..', '..', 'src', 'xdr', 'nfs4.x')


def gen(text):
    return xdrgen.generate(text, 'ns', 'x.h')


class Refusals(unittest.TestCase):
    def refuses(self, text, pattern):
        with self.assertRaises(xdrgen.XdrError) as cm:
            gen(text)
        self.assertRegex(str(cm.exception), pattern)

    def test_unknown_type(self):
        self.refuses('struct a { nothere x; };', 'unknown type nothere')

    def test_unknown_constant(self):
        self.refuses('typedef opaque a<MAXX>;', 'unknown constant')

    def test_duplicate_const(self):
        self.refuses('const A = 1; const A = 2;', 'A defined twice')

    def test_duplicate_case(self):
        self.refuses('union u switch (int d) { case 1: int a; case 1: int b; };', 'case 1 twice')

    def test_member_named_like_a_type(self):
        self.refuses('struct t { int x; }; struct s { t t; };', 'has the name of a type')

    def test_recursion_must_be_a_list(self):
        self.refuses('struct n { n *next; int v; };', 'linked list')

    def test_by_value_cycle(self):
        self.refuses('struct a { b x; }; struct b { a y; };', 'type cycle')

    def test_float(self):
        self.refuses('struct a { float f; };', 'floating point')

    def test_inline_struct(self):
        self.refuses('struct a { struct { int x; } y; };', 'inline type')

    def test_program(self):
        self.refuses('program P { version V { void N(void) = 0; } = 1; } = 2;', 'program')

    def test_bad_discriminant(self):
        self.refuses('union u switch (hyper d) { case 1: void; };', 'discriminant')

    def test_plain_opaque(self):
        self.refuses('struct a { opaque x; };', r'opaque needs \[N\] or <N>')

    def test_syntax_error_names_the_line(self):
        self.refuses('const A = 1;\nstruct a { int x }', r'line 2: expected')

    def test_bad_character(self):
        self.refuses('const A = 1 $;', 'unexpected character')


class Output(unittest.TestCase):
    def test_conventions(self):
        h, c = gen('''
            const N = 3;
%ignored line passed to rpcgen
            enum e { A = 0, B = N };
            typedef opaque fh<N>;
            struct s { fh f; e k; unsigned hyper big; s *next; };
            union u switch (e d) { case A: s one; default: void; };
        ''')
        self.assertIn('inline constexpr uint32_t N = 3u;', h)
        self.assertIn('enum e : int32_t {', h)
        self.assertIn('using fh = std::vector<uint8_t>;', h)
        self.assertIn('std::unique_ptr<s> next{};', h)
        self.assertIn('bool decode_fh(efs::xdr::Reader& r, fh& v);', h)
        self.assertIn('bool decode(efs::xdr::Reader& r, u& v);', h)
        self.assertIn('const char* to_string(e v);', h)
        self.assertIn('r.opaque(3u)', c)          # the bound is checked
        self.assertIn('~s()', c)                   # iterative destructor
        self.assertNotIn('r.set_error();\n      break;', c.split('bool decode(efs::xdr::Reader& r, u& v)')[1])


class Nfs4Description(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(NFS4_X, encoding='utf-8') as f:
            cls.text = f.read()
        p = xdrgen.Parser(xdrgen.tokenize(cls.text))
        cls.defs = {d.name: d for d in p.parse()}
        cls.consts = p.consts
        cls.header, cls.source = xdrgen.generate(cls.text, 'efs::xdr::nfs4', 'xdr/nfs4_xdr.h')

    def test_every_op_has_args_and_results(self):
        ops = dict(self.defs['nfs_opnum4'].items)
        self.assertEqual(sorted(ops.values()), list(range(3, 59)) + [10044])
        for union in ('nfs_argop4', 'nfs_resop4'):
            cases = [v for values, _ in self.defs[union].arms for v in values]
            self.assertEqual(sorted(cases), sorted(ops.values()), union)
            self.assertFalse(self.defs[union].has_default, union)

    def test_every_status(self):
        values = dict(self.defs['nfsstat4'].items).values()
        want = ([0, 1, 2, 5, 6, 13, 17, 18, 20, 21, 22, 27, 28, 30, 31, 63, 66, 69, 70] +
                [10001] + [v for v in range(10003, 10088) if v != 10073])
        self.assertEqual(sorted(values), want)

    def test_superset_choices(self):
        claims = [v for values, _ in self.defs['open_claim4'].arms for v in values]
        self.assertEqual(sorted(claims), list(range(0, 7)))
        modes = [v for values, _ in self.defs['createhow4'].arms for v in values]
        self.assertEqual(sorted(modes), [0, 1, 2, 3])
        self.assertIn('SETCLIENTID4args', self.defs)
        self.assertEqual(self.consts['OP_ILLEGAL'], 10044)

    def test_generated_names(self):
        for name in ('struct COMPOUND4args {', 'nfs_opnum4 argop{};',
                     'std::unique_ptr<entry4> entries{};', 'using nfs_fh4 = std::vector<uint8_t>;',
                     'using component4 = utf8str_cs;', 'using verifier4 = std::array<uint8_t, 8>;'):
            self.assertIn(name, self.header)


if __name__ == '__main__':
    unittest.main()
