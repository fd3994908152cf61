#!/usr/bin/env python3
"""Self-test of apigen: its refusals and what it makes of the EFS model.

Run: python3 tools/apigen/apigen_test.py (registered as meson test 'apigen').
The C++ side is tests/unit/efs/shapes_test.cc.
"""

import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import apigen  # noqa: E402

EFS_MODEL = os.path.join(HERE, '..', '..', 'spec', 'efs-2015-02-01.json')


def model(shapes, op_input='In', op_output=None, errors=()):
    op = {'name': 'Op', 'input': {'shape': op_input}, 'errors': [{'shape': e} for e in errors]}
    if op_output:
        op['output'] = {'shape': op_output}
    return {'operations': {'Op': op}, 'shapes': shapes}


class Refusals(unittest.TestCase):
    def refuses(self, m, pattern):
        with self.assertRaises(apigen.ModelError) as cm:
            apigen.generate(m, 'ns', 'x.h')
        self.assertRegex(str(cm.exception), pattern)

    def test_unknown_shape(self):
        self.refuses(model({'In': {'type': 'structure', 'members': {'A': {'shape': 'Nope'}}}}),
                     'unknown shape Nope')

    def test_recursive_shape(self):
        self.refuses(model({'In': {'type': 'structure', 'members': {'A': {'shape': 'In'}}}}),
                     'contains itself')

    def test_error_without_status(self):
        self.refuses(model({'In': {'type': 'structure', 'members': {}},
                            'Boom': {'type': 'structure', 'members': {}, 'error': {}}},
                           errors=['Boom']), 'Boom: no httpStatusCode')

    def test_map_with_integer_keys(self):
        self.refuses(model({'In': {'type': 'structure', 'members': {'M': {'shape': 'M'}}},
                            'M': {'type': 'map', 'key': {'shape': 'I'}, 'value': {'shape': 'I'}},
                            'I': {'type': 'integer'}}), 'keys must be strings')


class Output(unittest.TestCase):
    def test_required_plain_optional_wrapped(self):
        h, s = apigen.generate(model({
            'In': {'type': 'structure', 'required': ['Id'],
                   'members': {'Id': {'shape': 'S'}, 'Max': {'shape': 'I'},
                               'Tags': {'shape': 'L'}, 'Mode': {'shape': 'E'}}},
            'S': {'type': 'string'}, 'I': {'type': 'integer'},
            'L': {'type': 'list', 'member': {'shape': 'S'}},
            'E': {'type': 'string', 'enum': ['in-use', '7days', 'delete']}}), 'ns', 'x.h')
        self.assertIn('std::string Id{};', h)
        self.assertIn('std::optional<int32_t> Max;', h)
        self.assertIn('std::optional<std::vector<std::string>> Tags;', h)
        # Struct members name their type fully, so a member named like its
        # shape (BackupPolicy BackupPolicy) does not change its meaning.
        self.assertIn('std::optional<::ns::E> Mode;', h)
        self.assertIn('enum class E { in_use, _7days, delete_ };', h)
        self.assertIn('case E::in_use: return "in-use";', s)

    def test_only_reachable_shapes(self):
        h, _ = apigen.generate(model({'In': {'type': 'structure', 'members': {}},
                                      'Unused': {'type': 'structure', 'members': {}}}),
                               'ns', 'x.h')
        self.assertIn('struct In {', h)
        self.assertNotIn('struct Unused', h)

    def test_efs_error_table(self):
        with open(EFS_MODEL) as f:
            m = json.load(f)
        h, s = apigen.generate(m, 'efs::shapes', 'efs/shapes.h')
        self.assertIn('case ErrorCode::FileSystemNotFound: return 404;', h)
        self.assertIn('case ErrorCode::AccessPointLimitExceeded: return 403;', h)
        self.assertIn('case ErrorCode::ThrottlingException: return 429;', h)
        errors = [n for n, v in m['shapes'].items() if 'error' in v]
        self.assertEqual(h.count('case ErrorCode::') , 2 * len(errors))
        # Error shapes are in the table, not structs.
        self.assertNotIn('struct BadRequest', h)
        self.assertIn('struct CreateFileSystemRequest {', h)
        self.assertIn('std::string CreationToken{};', h)


if __name__ == '__main__':
    unittest.main()
