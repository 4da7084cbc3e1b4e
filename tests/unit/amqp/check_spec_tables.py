#!/usr/bin/env python3
"""Check the generated AMQP composite tables against the spec XML.

Reads the AMQP 1.0 XML itself (not through the generator), runs the dump
program (JSON of amqp_composites[], amqp_sections[], amqp_code_table and
symbolic-descriptor lookups) and compares: every composite of the XML has
generated tables, a decoder and an encoder (in the generated header, and
a working encode/decode round trip); field order, names, types, requires,
mandatory/multiple flags and defaults are the XML's; descriptors, sections
and format codes too. Before comparing, it perturbs its own model once and
checks the comparison notices, so the check itself can fail.

Usage: check_spec_tables.py DUMP_EXE XML_DIR GENERATED_HEADER
"""
import copy
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = '{http://www.amqp.org/schema/amqp.xsd}'
FILES = ['types', 'transport', 'messaging', 'security', 'transactions']
CATEGORIES = {'fixed': 1, 'variable': 2, 'compound': 3, 'array': 4}
STORAGE = {'boolean': 'bool', 'ubyte': 'ubyte', 'ushort': 'ushort', 'uint': 'uint', 'ulong': 'ulong',
           'timestamp': 'timestamp', 'string': 'bytes', 'symbol': 'bytes', 'binary': 'bytes',
           'map': 'value', 'list': 'value'}


def read_xml(xml_dir):
    types = {}
    for f in FILES:
        root = ET.parse(os.path.join(xml_dir, f + '.xml')).getroot()
        for t in root.iter(NS + 'type'):
            d = t.find(NS + 'descriptor')
            code = None
            if d is not None:
                hi, lo = d.get('code').split(':')
                code = (int(hi, 16) << 32) | int(lo, 16)
            types[t.get('name')] = {
                'name': t.get('name'), 'class': t.get('class'), 'source': t.get('source'),
                'provides': t.get('provides'), 'file': f,
                'symbol': d.get('name') if d is not None else None, 'code': code,
                'fields': [dict(fl.attrib) for fl in t.findall(NS + 'field')],
                'choices': {c.get('name'): c.get('value') for c in t.findall(NS + 'choice')},
                'encodings': [dict(e.attrib) for e in t.findall(NS + 'encoding')],
            }
    return types


def resolve(types, name):
    while name in types and types[name]['class'] == 'restricted':
        name = types[name]['source']
    return name


def expected(types):
    """The tables as the XML says they must be."""
    comps = {}
    for n, t in types.items():
        if t['class'] != 'composite':
            continue
        fields = []
        for f in t['fields']:
            prim = resolve(types, f['type']) if f['type'] != '*' else None
            multiple = f.get('multiple') == 'true'
            if prim is not None and types.get(prim, {}).get('class') == 'composite':
                kind, comp, prim = 'composite', prim, None
            elif prim is None or multiple:
                kind, comp = 'value', None
            else:
                kind, comp = STORAGE[prim], None
            dflt = f.get('default')
            du, ds = 0, None
            if dflt is not None:
                v = types.get(f['type'], {}).get('choices', {}).get(dflt, dflt)
                if prim == 'boolean':
                    du = 1 if v == 'true' else 0
                elif prim == 'symbol':
                    ds = v
                else:
                    du = int(v)
            fields.append({'name': f['name'], 'type': f['type'], 'requires': f.get('requires'),
                           'default': dflt, 'default_u': du, 'default_sym': ds, 'kind': kind,
                           'prim': prim, 'mandatory': f.get('mandatory') == 'true',
                           'multiple': multiple, 'composite': comp})
        comps[n] = {'name': n, 'symbol': t['symbol'], 'code': t['code'], 'provides': t['provides'],
                    'xml': t['file'], 'roundtrip': True, 'fields': fields}
    sections = {n: {'name': n, 'symbol': t['symbol'], 'code': t['code'], 'source': t['source']}
                for n, t in types.items() if t['class'] == 'restricted' and t['code'] is not None}
    codes = [[None, 0, 0] for _ in range(256)]
    for n, t in types.items():
        for e in t['encodings']:
            codes[int(e['code'], 16)] = [n, CATEGORIES[e['category']], int(e['width'])]
    symbolic = {t['symbol']: t['code'] for t in types.values() if t['code'] is not None}
    return {'composites': comps, 'sections': sections, 'codes': codes, 'symbolic': symbolic}


def compare(want, dump, header_text):
    errs = []
    got = {c['name']: c for c in dump['composites']}
    for n in sorted(set(want['composites']) | set(got)):
        if n not in got:
            errs.append('composite %s of the XML has no generated table' % n)
            continue
        if n not in want['composites']:
            errs.append('generated composite %s is not in the XML' % n)
            continue
        w, g = want['composites'][n], got[n]
        for k in ('symbol', 'code', 'provides', 'xml', 'roundtrip'):
            if w[k] != g[k]:
                errs.append('%s.%s: generated %r, XML %r' % (n, k, g[k], w[k]))
        if len(w['fields']) != len(g['fields']):
            errs.append('%s: %d generated fields, XML has %d' % (n, len(g['fields']), len(w['fields'])))
        for i, (wf, gf) in enumerate(zip(w['fields'], g['fields'])):
            for k in wf:
                if wf[k] != gf[k]:
                    errs.append('%s field %d (%s).%s: generated %r, XML %r' % (n, i, wf['name'], k, gf[k], wf[k]))
        cn = n.replace('-', '_')
        for fn in ('decode', 'encode', 'init'):
            if 'amqp_%s_%s(' % (cn, fn) not in header_text:
                errs.append('%s: no generated amqp_%s_%s()' % (n, cn, fn))
    gs = {s['name']: s for s in dump['sections']}
    if gs != want['sections']:
        errs.append('sections differ: generated %r, XML %r' % (gs, want['sections']))
    for code in range(256):
        if dump['codes'][code] != want['codes'][code]:
            errs.append('format code 0x%02x: generated %r, XML %r' % (code, dump['codes'][code], want['codes'][code]))
    for sym, code in dump['symbolic']:
        if want['symbolic'].get(sym) != code:
            errs.append('symbolic descriptor %s looks up %r, XML %r' % (sym, code, want['symbolic'].get(sym)))
    if len(dump['symbolic']) != len(want['symbolic']):
        errs.append('%d symbolic descriptors checked, XML has %d' % (len(dump['symbolic']), len(want['symbolic'])))
    return errs


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    dump_exe, xml_dir, header = sys.argv[1:]
    dump = json.loads(subprocess.run([dump_exe], check=True, capture_output=True, text=True).stdout)
    with open(header) as fh:
        header_text = fh.read()
    want = expected(read_xml(xml_dir))

    # The check must be able to fail: perturb a field name, a default, a
    # mandatory flag and the field order in a copy of the model.
    for perturb in ('name', 'default', 'mandatory', 'order', 'drop'):
        bad = copy.deepcopy(want)
        tr = bad['composites']['transfer']['fields']
        if perturb == 'name':
            tr[2]['name'] = 'delivery-tog'
        elif perturb == 'default':
            bad['composites']['header']['fields'][1]['default_u'] = 5
        elif perturb == 'mandatory':
            tr[1]['mandatory'] = True
        elif perturb == 'order':
            tr[0], tr[1] = tr[1], tr[0]
        else:
            del bad['composites']['flow']
        if not compare(bad, dump, header_text):
            sys.exit('self-test: a perturbed model (%s) compared equal: the check cannot fail' % perturb)

    errs = compare(want, dump, header_text)
    for e in errs:
        print('MISMATCH:', e)
    n = len(want['composites'])
    nf = sum(len(c['fields']) for c in want['composites'].values())
    if errs:
        sys.exit('%d mismatches between the generated tables and the XML' % len(errs))
    print('ok: %d composites, %d fields, %d sections, %d format codes match the XML' % (
        n, nf, len(want['sections']), sum(1 for c in want['codes'] if c[0])))


if __name__ == '__main__':
    main()
