#!/usr/bin/env python3
"""Generate the AMQP 1.0 codec tables from the spec XML.

Reads types.xml, transport.xml, messaging.xml, security.xml and
transactions.xml (the OASIS AMQP 1.0 type definitions) and writes:

  amqp_spec_gen.h  C structs of every composite type, presence bits,
                   descriptor codes, restricted-type choices, definitions,
                   and inline decode/encode wrappers per composite
  amqp_spec_gen.c  the format-code table (from types.xml encodings), the
                   field and composite descriptor tables, the symbolic
                   descriptor names

Field order, types, mandatory flags and defaults come from the XML only.
Usage: amqp_gen.py XML_DIR OUT_H OUT_C
"""
import os
import sys
import xml.etree.ElementTree as ET

NS = '{http://www.amqp.org/schema/amqp.xsd}'
FILES = ['types', 'transport', 'messaging', 'security', 'transactions']

# Primitive type names of types.xml -> enum amqp_type constant.
PRIMS = ['null', 'boolean', 'ubyte', 'ushort', 'uint', 'ulong', 'byte', 'short',
         'int', 'long', 'float', 'double', 'decimal32', 'decimal64', 'decimal128',
         'char', 'timestamp', 'uuid', 'binary', 'string', 'symbol', 'list', 'map',
         'array']

# How a resolved primitive is stored in a generated struct.
KIND_OF_PRIM = {
    'boolean': ('AMQP_FK_BOOL', 'bool'),
    'ubyte': ('AMQP_FK_UBYTE', 'uint8_t'),
    'ushort': ('AMQP_FK_USHORT', 'uint16_t'),
    'uint': ('AMQP_FK_UINT', 'uint32_t'),
    'ulong': ('AMQP_FK_ULONG', 'uint64_t'),
    'timestamp': ('AMQP_FK_TIMESTAMP', 'int64_t'),
    'string': ('AMQP_FK_BYTES', 'struct amqp_bytes'),
    'symbol': ('AMQP_FK_BYTES', 'struct amqp_bytes'),
    'binary': ('AMQP_FK_BYTES', 'struct amqp_bytes'),
    'map': ('AMQP_FK_VALUE', 'struct amqp_value'),
    'list': ('AMQP_FK_VALUE', 'struct amqp_value'),
}

CATEGORY = {'fixed': 'AMQP_CAT_FIXED', 'variable': 'AMQP_CAT_VARIABLE',
            'compound': 'AMQP_CAT_COMPOUND', 'array': 'AMQP_CAT_ARRAY'}


def cname(name):
    return name.replace('-', '_').replace(':', '_')


def macro(name):
    return cname(name).upper()


def cstr(s):
    if s is None:
        return 'NULL'
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def load(xml_dir):
    types = {}       # name -> dict
    order = []       # composite and described names in file order
    definitions = []
    for f in FILES:
        root = ET.parse(os.path.join(xml_dir, f + '.xml')).getroot()
        for section in root.iter(NS + 'section'):
            for el in section:
                if el.tag == NS + 'definition':
                    definitions.append((el.get('name'), el.get('value'), f))
                    continue
                if el.tag != NS + 'type':
                    continue
                t = {
                    'name': el.get('name'), 'class': el.get('class'),
                    'source': el.get('source'), 'provides': el.get('provides'),
                    'file': f, 'encodings': [], 'fields': [], 'choices': [],
                    'descriptor': None,
                }
                for sub in el:
                    if sub.tag == NS + 'encoding':
                        t['encodings'].append({
                            'name': sub.get('name'), 'code': int(sub.get('code'), 16),
                            'category': sub.get('category'), 'width': int(sub.get('width'))})
                    elif sub.tag == NS + 'descriptor':
                        hi, lo = sub.get('code').split(':')
                        t['descriptor'] = (sub.get('name'), (int(hi, 16) << 32) | int(lo, 16))
                    elif sub.tag == NS + 'field':
                        t['fields'].append({
                            'name': sub.get('name'), 'type': sub.get('type'),
                            'requires': sub.get('requires'), 'default': sub.get('default'),
                            'mandatory': sub.get('mandatory') == 'true',
                            'multiple': sub.get('multiple') == 'true'})
                    elif sub.tag == NS + 'choice':
                        t['choices'].append((sub.get('name'), sub.get('value')))
                if t['name'] in types:
                    sys.exit('duplicate type ' + t['name'])
                types[t['name']] = t
                order.append(t['name'])
    return types, order, definitions


def resolve(types, name):
    """Follow restricted types down to a primitive (or a composite)."""
    seen = set()
    while name in types and types[name]['class'] == 'restricted':
        if name in seen:
            sys.exit('restricted type loop at ' + name)
        seen.add(name)
        name = types[name]['source']
    return name


def default_of(types, field, prim):
    """(default_u, default_sym) for a field default, choices resolved."""
    d = field['default']
    if d is None:
        return '0', None
    t = types.get(field['type'])
    for cn, cv in (t or {}).get('choices', []):
        if cn == d:
            d = cv
            break
    if prim == 'boolean':
        return ('1' if d == 'true' else '0'), None
    if prim == 'symbol':
        return '0', d
    return 'UINT64_C(%d)' % int(d), None


def field_kind(types, f):
    """(kind, c type, prim, composite name or None)."""
    if f['type'] == '*':
        return 'AMQP_FK_VALUE', 'struct amqp_value', None, None
    prim = resolve(types, f['type'])
    if prim in types and types[prim]['class'] == 'composite':
        return 'AMQP_FK_COMPOSITE', 'struct amqp_' + cname(prim), None, prim
    if prim not in PRIMS:
        sys.exit('field %s: unknown type %s' % (f['name'], f['type']))
    if f['multiple']:
        return 'AMQP_FK_VALUE', 'struct amqp_value', prim, None
    if prim not in KIND_OF_PRIM:
        sys.exit('field %s: no storage for %s' % (f['name'], prim))
    kind, ctype = KIND_OF_PRIM[prim]
    return kind, ctype, prim, None



FLAT_READER = {
    'AMQP_FK_BOOL': 'amqp_flat_bool',
    'AMQP_FK_UBYTE': 'amqp_flat_ubyte',
    'AMQP_FK_USHORT': 'amqp_flat_ushort',
    'AMQP_FK_UINT': 'amqp_flat_uint',
    'AMQP_FK_ULONG': 'amqp_flat_ulong',
    'AMQP_FK_TIMESTAMP': 'amqp_flat_timestamp',
}
BYTES_CODE8 = {'binary': '0xa0', 'string': '0xa1', 'symbol': '0xa3'}


def defaults_init(types, n):
    """C initializer of struct amqp_<n> holding every field's default."""
    parts = ['.present = 0']
    for f in types[n]['fields']:
        kind, ctype, prim, sub = field_kind(types, f)
        du, ds = default_of(types, f, prim)
        fn = cname(f['name'])
        if kind == 'AMQP_FK_VALUE':
            parts.append('.%s = AMQP_VALUE_NULL_INIT' % fn)
        elif kind == 'AMQP_FK_COMPOSITE':
            parts.append('.%s = {%s}' % (fn, defaults_init(types, sub)))
        elif kind == 'AMQP_FK_BYTES':
            if ds is not None:
                parts.append('.%s = {(const uint8_t *)%s, NULL, %d}' % (fn, cstr(ds), len(ds)))
        elif du != '0':
            parts.append('.%s = %s' % (fn, du))
    return ', '.join(parts)


def default_assign(types, f, target):
    """A C statement giving target (an lvalue) the field's default."""
    kind, ctype, prim, sub = field_kind(types, f)
    du, ds = default_of(types, f, prim)
    if kind == 'AMQP_FK_VALUE':
        return 'amqp_value_set_null(&%s);' % target
    if kind == 'AMQP_FK_COMPOSITE':
        return 'memcpy(&%s, &amqp_%s_defaults, sizeof %s);' % (target, cname(sub), target)
    if kind == 'AMQP_FK_BYTES':
        if ds is not None:
            return '%s = amqp_bytes_of(%s, %d);' % (target, cstr(ds), len(ds))
        return '%s = amqp_bytes_of(NULL, 0);' % target
    if kind == 'AMQP_FK_BOOL':
        return '%s = %s;' % (target, 'true' if du == '1' else 'false')
    return '%s = %s;' % (target, du)


def flat_decoder(types, n, w):
    """A straight-line decoder of composite n's list from contiguous memory:
    one inlined reader per field, in spec order. The count is checked once
    per element present; when it runs out, the trailing fields take their
    defaults in one fall-through run (tail_<i>). Error paths set the field
    index themselves, so the hot path carries no bookkeeping for them."""
    t = types[n]
    cn = cname(n)
    nf = len(t['fields'])
    w('enum rr_err amqp_%s_decode_list(const uint8_t *const start, const uint8_t *const end,' % cn)
    w('\t\t\t\tconst uint32_t n, const uint64_t base, struct amqp_%s *out,' % cn)
    w('\t\t\t\tstruct amqp_diag *d)')
    w('{')
    w('\tconst uint8_t *p = start, *q = start;')
    w('\tamqp_present_t present = 0;')
    w('\tenum rr_err e = RR_OK;')
    w('\tunsigned i = 0;')
    w('\t(void)q;')
    w('\t(void)e;')
    for i, f in enumerate(t['fields']):
        kind, ctype, prim, sub = field_kind(types, f)
        fn = cname(f['name'])
        w('\t/* %d: %s (%s%s) */' % (i, f['name'], f['type'], ', mandatory' if f['mandatory'] else ''))
        w('\tif (AMQP_UNLIKELY(n <= %d))' % i)
        w('\t\tgoto tail_%d;' % i)
        w('\tq = p;')
        if kind in FLAT_READER:
            w('\te = %s(&p, end, &out->%s);' % (FLAT_READER[kind], fn))
        elif kind == 'AMQP_FK_BYTES':
            w('\te = amqp_flat_bytes(&p, end, &out->%s, %s);' % (fn, BYTES_CODE8[prim]))
        elif kind == 'AMQP_FK_VALUE':
            w('\te = amqp_flat_any(&p, end, base + (uint64_t)(q - start), &out->%s, %s, %s);' % (
                fn, ('AMQP_TYPE_' + macro(prim)) if prim else 'AMQP_TYPE_INVALID',
                'true' if f['multiple'] else 'false'))
            mask, codes = requires_of(types, f)
            if mask != '0' or codes:
                # the archetype of a '*' field (requires=), as the general path
                w('\tif (e == RR_OK && !amqp_field_requires_ok(&amqp_%s_fields[%d], &out->%s))' % (cn, i, fn))
                w('\t\te = RR_E_WRONG_TYPE;')
        else:  # nested composite
            w('\t{')
            w('\t\tstruct amqp_value sv;')
            # Any type: amqp_composite_decode_value judges it, as on the
            # general path (same error whatever the split; fuzz_performative).
            w('\t\te = amqp_flat_any(&p, end, base + (uint64_t)(q - start), &sv, AMQP_TYPE_INVALID, false);')
            w('\t\tif (e == RR_OK)')
            w('\t\t\te = amqp_composite_decode_value(&amqp_%s_desc, &sv, &out->%s, d);' % (cname(sub), fn))
            w('\t}')
        w('\tif (AMQP_LIKELY(e == RR_OK)) {')
        w('\t\tpresent |= UINT32_C(1) << %d;' % i)
        if f['mandatory']:
            w('\t} else if (e == AMQP_FLAT_NULL) {')
            w('\t\ti = %d;' % i)
            w('\t\tgoto missing;')
        else:
            # Null: the spec default, written field by field (cheaper
            # than copying the whole defaults image). '*', map, list and
            # multiple fields already hold the null value read.
            w('\t} else if (e == AMQP_FLAT_NULL) {')
            if kind != 'AMQP_FK_VALUE':
                w('\t\t%s' % default_assign(types, f, 'out->' + fn))
        w('\t} else {')
        w('\t\ti = %d;' % i)
        w('\t\tgoto fail;')
        w('\t}')
    w('\tif (AMQP_UNLIKELY(n > %d)) {' % nf)
    w('\t\t/* Fields of a later revision: skipped, but well-formed. */')
    w('\t\te = amqp_flat_skip_values(&p, end, n - %d, &q);' % nf)
    w('\t\tif (e != RR_OK) {')
    w('\t\t\ti = %d;' % nf)
    w('\t\t\tgoto fail;')
    w('\t\t}')
    w('\t}')
    w('\tgoto done;')
    w('\t/* The count ran out at field i: it and the fields after it are absent. */')
    for i, f in enumerate(t['fields']):
        w('tail_%d:' % i)
        if f['mandatory']:
            w('\ti = %d;' % i)
            w('\tq = p;')
            w('\tgoto missing;')
        else:
            w('\t%s' % default_assign(types, f, 'out->' + cname(f['name'])))
    w('done:')
    w('\tif (AMQP_UNLIKELY(p != end))')
    w('\t\treturn amqp_diag_set(d, RR_E_BAD_COUNT, base + (uint64_t)(p - start), %s, NULL);' % cstr(n))
    w('\tout->present = present;')
    w('\treturn RR_OK;')
    if any(f['mandatory'] for f in t['fields']):
        w('missing:')
        # Count used up with bytes left: a lying count, as the general
        # path says (same result whatever the split; found by fuzz_performative).
        w('\tif (n <= i && p != end)')
        w('\t\treturn amqp_diag_set(d, RR_E_BAD_COUNT, base + (uint64_t)(p - start), %s, NULL);' % cstr(n))
        w('\treturn amqp_diag_set(d, RR_E_MISSING_MANDATORY, base + (uint64_t)(q - start), %s,' % cstr(n))
        w('\t\t\t     amqp_%s_fields[i].name);' % cn)
    w('fail:')
    w('\tif (e == AMQP_TRY_SLOW)')
    w('\t\treturn e;')
    w('\treturn amqp_diag_set(d, e, base + (uint64_t)(q - start), %s,' % cstr(n))
    if nf:
        w('\t\t\t     i < %d ? amqp_%s_fields[i].name : NULL);' % (nf, cn))
    else:
        w('\t\t\t     NULL);')
        w('\t(void)i;')
    w('}')
    w('')
    w('static enum rr_err amqp_%s_decode_flat(const struct amqp_value *v, void *out,' % cn)
    w('\t\t\t\t\tstruct amqp_diag *d)')
    w('{')
    w('\treturn amqp_%s_decode_list(v->bytes.ptr, v->bytes.ptr + v->bytes.len, v->count,' % cn)
    w('\t\t\t\tv->pos + (v->raw.len - v->bytes.len), (struct amqp_%s *)out, d);' % cn)
    w('}')
    w('')


def requires_of(types, f):
    """For a '*' field with requires=A: (C expression of the bitmask of
    enum amqp_type that plain providers of A resolve to, list of descriptor
    codes of the composites that provide A). Both empty: no provider in the
    spec, any value is accepted."""
    if f['type'] != '*' or not f['requires']:
        return '0', []
    want = f['requires']
    prims, codes = [], []
    for n, t in types.items():
        prov = [x.strip() for x in (t['provides'] or '').split(',')]
        if want not in prov:
            continue
        if t['class'] == 'composite':
            codes.append(t['descriptor'][1])
        else:
            p = resolve(types, n)
            if p in PRIMS and p not in prims:
                prims.append(p)
    mask = ' | '.join('(UINT32_C(1) << AMQP_TYPE_%s)' % macro(p) for p in sorted(prims)) or '0'
    return mask, sorted(codes)


def composites_in_dependency_order(types, order):
    out, done = [], set()

    def visit(n):
        if n in done:
            return
        done.add(n)
        for f in types[n]['fields']:
            _, _, _, sub = field_kind(types, f)
            if sub:
                visit(sub)
        out.append(n)
    for n in order:
        if types[n]['class'] == 'composite':
            visit(n)
    return out


def gen(xml_dir, out_h, out_c):
    types, order, definitions = load(xml_dir)
    comps = composites_in_dependency_order(types, order)
    described = [n for n in order if types[n]['descriptor']]

    h = []
    w = h.append
    w('/* Generated by dataplane/amqp/gen/amqp_gen.py from the AMQP 1.0 spec XML.')
    w(' * Do not edit: change the generator or the XML. */')
    w('#ifndef AMQP_SPEC_GEN_H')
    w('#define AMQP_SPEC_GEN_H')
    w('')
    w('#include "amqp_composite.h"')
    w('')
    w('#ifdef __cplusplus')
    w('extern "C" {')
    w('#endif')
    w('')
    w('/* Definitions (<definition> elements). */')
    for name, value, f in definitions:
        w('#define AMQP_%s %s /* %s.xml */' % (macro(name), value, f))
    w('')
    w('/* Descriptor codes of every described type. */')
    for n in described:
        sym, code = types[n]['descriptor']
        w('#define AMQP_DESC_%s UINT64_C(0x%x) /* %s */' % (macro(n), code, sym))
    w('')
    w('/* Choices of restricted types. */')
    for n in order:
        t = types[n]
        if not t['choices']:
            continue
        prim = resolve(types, n)
        for cn, cv in t['choices']:
            if prim in ('symbol', 'string'):
                val = cstr(cv)
            elif prim == 'boolean':
                val = cv
            else:
                val = cv
            w('#define AMQP_%s_%s %s' % (macro(n), macro(cn), val))
    w('')
    for n in comps:
        t = types[n]
        w('/* %s (%s.xml, %s) */' % (n, t['file'], t['descriptor'][0]))
        for i, f in enumerate(t['fields']):
            w('#define AMQP_%s_IDX_%s %d' % (macro(n), macro(f['name']), i))
            w('#define AMQP_%s_HAS_%s (UINT32_C(1) << %d)' % (macro(n), macro(f['name']), i))
        # X-macro of the fields in spec order: X(index, c name, enum amqp_type
        # the spec type resolves to (multiple fields: of one element),
        # AMQP_TYPE_INVALID for '*' and composites; bitmask of the plain
        # types a '*' field's archetype allows, 0 for any)
        w('#define AMQP_%s_FIELDS(X) \\' % macro(n))
        for i, f in enumerate(t['fields']):
            kind, ctype, prim, sub = field_kind(types, f)
            mask, codes = requires_of(types, f)
            w('\tX(%d, %s, %s, %s) \\' % (i, cname(f['name']),
                                         ('AMQP_TYPE_' + macro(prim)) if prim else 'AMQP_TYPE_INVALID',
                                         mask))
        w('\t/* end */')
        w('struct amqp_%s {' % cname(n))
        w('\tamqp_present_t present;')
        for f in t['fields']:
            kind, ctype, prim, sub = field_kind(types, f)
            note = f['type'] + (' multiple' if f['multiple'] else '') + \
                (' mandatory' if f['mandatory'] else '') + \
                ((' default ' + f['default']) if f['default'] else '')
            w('\t%s %s; /* %s */' % (ctype, cname(f['name']), note))
        w('};')
        w('extern const struct amqp_composite_desc amqp_%s_desc;' % cname(n))
        w('/* The list elements [start, end), contiguous, n of them (the count');
        w(' * already checked against the size); base is the absolute position of');
        w(' * start. AMQP_TRY_SLOW: a legal form left to the table engine. */')
        w('enum rr_err amqp_%s_decode_list(const uint8_t *start, const uint8_t *end, uint32_t n,' % cname(n))
        w('\t\t\t\tuint64_t base, struct amqp_%s *out, struct amqp_diag *d);' % cname(n))
        w('static inline enum rr_err amqp_%s_decode(struct amqp_cursor *c, struct amqp_%s *out,'
          ' struct amqp_diag *d)' % (cname(n), cname(n)))
        w('{')
        w('\treturn amqp_composite_decode(&amqp_%s_desc, c, out, d);' % cname(n))
        w('}')
        w('static inline void amqp_%s_encode(struct amqp_wbuf *w, const struct amqp_%s *in)'
          % (cname(n), cname(n)))
        w('{')
        w('\tamqp_composite_encode(&amqp_%s_desc, in, w);' % cname(n))
        w('}')
        w('static inline void amqp_%s_init(struct amqp_%s *out)' % (cname(n), cname(n)))
        w('{')
        w('\tamqp_composite_init(&amqp_%s_desc, out);' % cname(n))
        w('}')
        w('')
    w('/* Described restricted types (message sections): name, code, source. */')
    w('struct amqp_section_desc {')
    w('\tconst char *name;')
    w('\tconst char *symbol;')
    w('\tuint64_t code;')
    w('\tconst char *source;')
    w('};')
    w('extern const struct amqp_section_desc amqp_sections[];')
    w('extern const size_t amqp_sections_count;')
    w('')
    w('#ifdef __cplusplus')
    w('}')
    w('#endif')
    w('#endif')

    c = []
    w = c.append
    w('/* Generated by dataplane/amqp/gen/amqp_gen.py from the AMQP 1.0 spec XML.')
    w(' * Do not edit: change the generator or the XML. */')
    w('#include "amqp_spec_gen.h"')
    w('')
    w('#include <stddef.h>')
    w('')
    w('/* Format codes (types.xml <encoding>): type, category, width. */')
    w('const struct amqp_code_info amqp_code_table[256] = {')
    enc = {}
    for n in order:
        for e in types[n]['encodings']:
            if e['code'] in enc:
                sys.exit('format code 0x%02x defined twice' % e['code'])
            enc[e['code']] = (n, e)
    for code in range(256):
        if code not in enc:
            w('\t[0x%02x] = {AMQP_TYPE_INVALID, AMQP_CAT_INVALID, 0},' % code)
            continue
        n, e = enc[code]
        w('\t[0x%02x] = {AMQP_TYPE_%s, %s, %d}, /* %s%s */' % (
            code, macro(n), CATEGORY[e['category']], e['width'], n,
            (' ' + e['name']) if e['name'] else ''))
    w('};')
    w('')
    for n in comps:
        t = types[n]
        cn = cname(n)
        for f in t['fields']:
            mask, codes = requires_of(types, f)
            if codes:
                w('static const uint64_t amqp_%s_%s_req_codes[] = {%s};' % (
                    cn, cname(f['name']), ', '.join('UINT64_C(0x%x)' % c for c in codes)))
        w('static const struct amqp_field_desc amqp_%s_fields[] = {' % cn)
        for f in t['fields']:
            kind, ctype, prim, sub = field_kind(types, f)
            du, ds = default_of(types, f, prim)
            mask, codes = requires_of(types, f)
            w('\t{%s, %s, %s, %s, %s, %s, offsetof(struct amqp_%s, %s), %s, %s, %s, %s, %s, %s, %s, %d},' % (
                cstr(f['name']), cstr(f['type']), cstr(f['requires']), cstr(f['default']),
                du, cstr(ds), cn, cname(f['name']), kind,
                ('AMQP_TYPE_' + macro(prim)) if prim else 'AMQP_TYPE_INVALID',
                'true' if f['mandatory'] else 'false',
                'true' if f['multiple'] else 'false',
                ('&amqp_%s_desc' % cname(sub)) if sub else 'NULL',
                mask, ('amqp_%s_%s_req_codes' % (cn, cname(f['name']))) if codes else 'NULL',
                len(codes)))
        w('};')
        w('static const struct amqp_%s amqp_%s_defaults = {%s};' % (cn, cn, defaults_init(types, n)))
        w('')
        flat_decoder(types, n, w)
        w('const struct amqp_composite_desc amqp_%s_desc = {' % cn)
        w('\t%s, %s, UINT64_C(0x%x), %s, %s, sizeof(struct amqp_%s), %d, amqp_%s_fields,' % (
            cstr(n), cstr(t['descriptor'][0]), t['descriptor'][1], cstr(t['provides']),
            cstr(t['file']), cn, len(t['fields']), cn))
        w('\t&amqp_%s_defaults, amqp_%s_decode_flat,' % (cn, cn))
        w('};')
        w('')
    w('const struct amqp_composite_desc *const amqp_composites[] = {')
    for n in comps:
        w('\t&amqp_%s_desc,' % cname(n))
    w('};')
    w('const size_t amqp_composites_count = %d;' % len(comps))
    w('')
    w('const struct amqp_section_desc amqp_sections[] = {')
    secs = [n for n in described if types[n]['class'] == 'restricted']
    for n in secs:
        sym, code = types[n]['descriptor']
        w('\t{%s, %s, UINT64_C(0x%x), %s},' % (cstr(n), cstr(sym), code, cstr(types[n]['source'])))
    w('};')
    w('const size_t amqp_sections_count = %d;' % len(secs))
    w('')
    w('/* Symbolic descriptors (part 1.5), longest first is not needed: exact match. */')
    w('static const struct { const char *sym; uint8_t len; uint64_t code; } amqp_sym_desc[] = {')
    for n in described:
        sym, code = types[n]['descriptor']
        w('\t{%s, %d, UINT64_C(0x%x)},' % (cstr(sym), len(sym), code))
    w('};')
    w('')
    w('uint64_t amqp_descriptor_lookup(const struct amqp_bytes *sym)')
    w('{')
    w('\tfor (size_t i = 0; i < sizeof(amqp_sym_desc) / sizeof(amqp_sym_desc[0]); i++)')
    w('\t\tif (sym->len == amqp_sym_desc[i].len &&')
    w('\t\t    amqp_bytes_eq(sym, amqp_sym_desc[i].sym, amqp_sym_desc[i].len))')
    w('\t\t\treturn amqp_sym_desc[i].code;')
    w('\treturn AMQP_DESC_UNKNOWN;')
    w('}')

    for path, lines in ((out_h, h), (out_c, c)):
        with open(path, 'w') as fh:
            fh.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    gen(sys.argv[1], sys.argv[2], sys.argv[3])
