// Test helpers for the AMQP codec suites: the seed, a value tree (TV) that
// can be written with proton's pn_data_t, with our encoder, and with an
// independent canonical byte writer, and comparisons of a decoded value
// (ours or proton's) against the tree.
//
// Seed: RR_TEST_SEED (decimal or 0x hex) or the clock, printed once at
// start; RR_SEED_TRACE() puts "replay with RR_TEST_SEED=..." into every
// failure message of the enclosing scope.
#pragma once

#include <gtest/gtest.h>
#include <proton/codec.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "amqp_frame.h"
#include "amqp_message.h"
#include "chain_util.h"

// --- seed ---------------------------------------------------------------

inline uint64_t test_seed()
{
	static const uint64_t seed = [] {
		uint64_t s;
		const char *e = getenv("RR_TEST_SEED");
		if (e != nullptr && *e != '\0')
			s = strtoull(e, nullptr, 0);
		else
			s = (uint64_t)std::chrono::high_resolution_clock::now().time_since_epoch().count();
		fprintf(stderr, "[ seed     ] RR_TEST_SEED=%" PRIu64 " (export it to replay)\n", s);
		return s;
	}();
	return seed;
}

#define RR_SEED_TRACE() SCOPED_TRACE(::testing::Message() << "replay with RR_TEST_SEED=" << test_seed())

// A generator for one test: the run seed mixed with a per-test salt, so
// tests do not depend on each other's draw order.
struct Rng {
	std::mt19937_64 g;
	explicit Rng(uint64_t salt) : g(test_seed() * 0x9e3779b97f4a7c15ull ^ salt) {}
	uint64_t u64() { return g(); }
	uint64_t below(uint64_t n) { return n ? g() % n : 0; }
	bool coin(unsigned pct = 50) { return below(100) < pct; }
	// Lengths: mostly short, sometimes around the 8/32-bit boundary,
	// sometimes well past it.
	size_t len()
	{
		unsigned r = (unsigned)below(100);
		if (r < 70)
			return below(24);
		if (r < 85)
			return 250 + below(12); // 250..261: both sides of 255/256
		return 256 + below(700);
	}
	std::string bytes(size_t n, bool ascii)
	{
		std::string s(n, '\0');
		for (auto &c : s)
			c = ascii ? (char)(' ' + below(95)) : (char)below(256);
		return s;
	}
	// Integers biased to the edges of every encoding.
	uint64_t edgy(unsigned bits)
	{
		static const uint64_t edges[] = {0, 1, 2, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff,
						 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
						 0x100000000ull, 0x7fffffffffffffffull,
						 0x8000000000000000ull, 0xffffffffffffffffull};
		uint64_t v;
		unsigned r = (unsigned)below(10);
		if (r < 3)
			v = edges[below(sizeof edges / sizeof edges[0])];
		else if (r < 5)
			v = (uint64_t)0 - edges[below(sizeof edges / sizeof edges[0])];
		else
			v = u64() >> below(64);
		return bits == 64 ? v : v & ((1ull << bits) - 1);
	}
};

// --- value tree -----------------------------------------------------------

struct TV {
	uint8_t type = AMQP_TYPE_NULL;
	int dkind = 0; // descriptor: 0 none, 1 ulong, 2 symbol
	uint64_t dcode = 0;
	std::string dsym;
	bool b = false;
	uint64_t u = 0; // unsigned, char, decimal32/64 bits, float/double bits
	int64_t i = 0;  // signed, timestamp
	uint8_t b16[16] = {};
	std::string s; // binary, string, symbol
	std::vector<TV> kids;
	uint8_t elem_type = AMQP_TYPE_NULL; // arrays
	bool edesc = false;                 // arrays: elements described by edcode
	uint64_t edcode = 0;
};

inline TV tv_null() { return TV(); }
inline TV tv_of(uint8_t type)
{
	TV t;
	t.type = type;
	return t;
}
inline TV tv_bool(bool b)
{
	TV t = tv_of(AMQP_TYPE_BOOLEAN);
	t.b = b;
	return t;
}
inline TV tv_u(uint8_t type, uint64_t u)
{
	TV t = tv_of(type);
	t.u = u;
	return t;
}
inline TV tv_i(uint8_t type, int64_t i)
{
	TV t = tv_of(type);
	t.i = i;
	return t;
}
inline TV tv_s(uint8_t type, const std::string &s)
{
	TV t = tv_of(type);
	t.s = s;
	return t;
}
inline TV tv_list(std::vector<TV> k)
{
	TV t = tv_of(AMQP_TYPE_LIST);
	t.kids = std::move(k);
	return t;
}
inline TV tv_map(std::vector<TV> k)
{
	TV t = tv_of(AMQP_TYPE_MAP);
	t.kids = std::move(k);
	return t;
}
inline TV tv_array(uint8_t et, std::vector<TV> k)
{
	TV t = tv_of(AMQP_TYPE_ARRAY);
	t.elem_type = et;
	t.kids = std::move(k);
	return t;
}
inline TV tv_described(uint64_t code, TV v)
{
	v.dkind = 1;
	v.dcode = code;
	return v;
}

inline bool tv_is_compound(uint8_t t) { return t == AMQP_TYPE_LIST || t == AMQP_TYPE_MAP || t == AMQP_TYPE_ARRAY; }

// Random scalar (no compound) of type t.
inline TV rand_scalar(Rng &r, uint8_t t)
{
	TV v = tv_of(t);
	switch (t) {
	case AMQP_TYPE_NULL: break;
	case AMQP_TYPE_BOOLEAN: v.b = r.coin(); break;
	case AMQP_TYPE_UBYTE: v.u = r.edgy(8); break;
	case AMQP_TYPE_USHORT: v.u = r.edgy(16); break;
	case AMQP_TYPE_UINT: v.u = r.edgy(32); break;
	case AMQP_TYPE_ULONG: v.u = r.edgy(64); break;
	case AMQP_TYPE_BYTE: v.i = (int8_t)r.edgy(8); break;
	case AMQP_TYPE_SHORT: v.i = (int16_t)r.edgy(16); break;
	case AMQP_TYPE_INT: v.i = (int32_t)r.edgy(32); break;
	case AMQP_TYPE_LONG: v.i = (int64_t)r.edgy(64); break;
	case AMQP_TYPE_TIMESTAMP: v.i = (int64_t)r.edgy(64); break;
	case AMQP_TYPE_FLOAT: v.u = r.u64() & 0xffffffffu; break;
	case AMQP_TYPE_DOUBLE: v.u = r.u64(); break;
	case AMQP_TYPE_DECIMAL32: v.u = r.u64() & 0xffffffffu; break;
	case AMQP_TYPE_DECIMAL64: v.u = r.u64(); break;
	case AMQP_TYPE_CHAR: v.u = r.coin(80) ? r.below(0x110000) : r.edgy(32); break;
	case AMQP_TYPE_DECIMAL128:
	case AMQP_TYPE_UUID:
		for (auto &x : v.b16)
			x = (uint8_t)r.u64();
		break;
	case AMQP_TYPE_BINARY: v.s = r.bytes(r.len(), false); break;
	case AMQP_TYPE_STRING: v.s = r.bytes(r.len(), true); break;
	case AMQP_TYPE_SYMBOL: v.s = r.bytes(r.len(), true); break;
	default: ADD_FAILURE() << "rand_scalar type " << (int)t;
	}
	return v;
}

inline uint8_t rand_scalar_type(Rng &r) { return (uint8_t)r.below(AMQP_TYPE_SYMBOL + 1); }

// Random value: any type, compounds nested up to depth 3.
inline TV rand_tv(Rng &r, int depth)
{
	uint8_t t = (uint8_t)r.below(AMQP_TYPE_COUNT);
	if (depth >= 3 && tv_is_compound(t))
		t = rand_scalar_type(r);
	TV v;
	if (!tv_is_compound(t)) {
		v = rand_scalar(r, t);
	} else if (t == AMQP_TYPE_ARRAY) {
		v = tv_array(rand_scalar_type(r), {});
		size_t n = r.coin(10) ? 256 + r.below(300) : r.below(8);
		if (v.elem_type == AMQP_TYPE_BINARY || v.elem_type == AMQP_TYPE_STRING ||
		    v.elem_type == AMQP_TYPE_SYMBOL)
			n = n > 20 ? 20 + r.below(8) : n;
		for (size_t k = 0; k < n; k++)
			v.kids.push_back(rand_scalar(r, v.elem_type));
		if (r.coin(10)) {
			v.edesc = true;
			v.edcode = r.edgy(16);
		}
	} else {
		v = tv_of(t);
		size_t n = r.coin(5) ? 256 + r.below(40) : r.below(7);
		if (t == AMQP_TYPE_MAP)
			n &= ~(size_t)1;
		for (size_t k = 0; k < n; k++)
			v.kids.push_back(n > 100 ? rand_scalar(r, (uint8_t)r.below(AMQP_TYPE_UUID + 1))
						 : rand_tv(r, depth + 1));
	}
	if (r.coin(8)) {
		if (r.coin(70)) {
			v.dkind = 1;
			v.dcode = r.edgy(64);
			if (v.dcode >= AMQP_DESC_UNKNOWN)
				v.dcode = 0x70;
		} else {
			v.dkind = 2;
			v.dsym = r.coin(20) ? std::string("amqp:transfer:list") : "x:" + r.bytes(r.len(), true);
		}
	}
	return v;
}

// --- canonical bytes, written independently of our encoder ---------------

using Bytes = std::vector<uint8_t>;

inline void put_be(Bytes &o, uint64_t v, unsigned n)
{
	for (unsigned k = n; k-- > 0;)
		o.push_back((uint8_t)(v >> (8 * k)));
}

// The element constructor our canonical arrays use (proton's choice for
// fixed types; the 8-bit form for variable types when every element fits).
inline uint8_t canon_elem_code(const TV &a)
{
	bool small = true;
	for (auto &k : a.kids)
		small = small && k.s.size() < 256;
	switch (a.elem_type) {
	case AMQP_TYPE_NULL: return 0x40;
	case AMQP_TYPE_BOOLEAN: return 0x56;
	case AMQP_TYPE_UBYTE: return 0x50;
	case AMQP_TYPE_USHORT: return 0x60;
	case AMQP_TYPE_UINT: return 0x70;
	case AMQP_TYPE_ULONG: return 0x80;
	case AMQP_TYPE_BYTE: return 0x51;
	case AMQP_TYPE_SHORT: return 0x61;
	case AMQP_TYPE_INT: return 0x71;
	case AMQP_TYPE_LONG: return 0x81;
	case AMQP_TYPE_FLOAT: return 0x72;
	case AMQP_TYPE_DOUBLE: return 0x82;
	case AMQP_TYPE_DECIMAL32: return 0x74;
	case AMQP_TYPE_DECIMAL64: return 0x84;
	case AMQP_TYPE_DECIMAL128: return 0x94;
	case AMQP_TYPE_CHAR: return 0x73;
	case AMQP_TYPE_TIMESTAMP: return 0x83;
	case AMQP_TYPE_UUID: return 0x98;
	case AMQP_TYPE_BINARY: return small ? 0xa0 : 0xb0;
	case AMQP_TYPE_STRING: return small ? 0xa1 : 0xb1;
	case AMQP_TYPE_SYMBOL: return small ? 0xa3 : 0xb3;
	}
	return 0xff;
}

// An element's bytes after a given constructor (no constructor of its own).
inline void canon_elem_body(Bytes &o, const TV &v, uint8_t code)
{
	switch (code) {
	case 0x40: break;
	case 0x56: o.push_back(v.b ? 1 : 0); break;
	case 0x50: put_be(o, v.u, 1); break;
	case 0x51: put_be(o, (uint64_t)v.i, 1); break;
	case 0x60: put_be(o, v.u, 2); break;
	case 0x61: put_be(o, (uint64_t)v.i, 2); break;
	case 0x70: case 0x72: case 0x73: case 0x74: put_be(o, v.u, 4); break;
	case 0x71: put_be(o, (uint64_t)v.i, 4); break;
	case 0x80: case 0x82: case 0x84: put_be(o, v.u, 8); break;
	case 0x81: case 0x83: put_be(o, (uint64_t)v.i, 8); break;
	case 0x94: case 0x98: o.insert(o.end(), v.b16, v.b16 + 16); break;
	case 0xa0: case 0xa1: case 0xa3:
		o.push_back((uint8_t)v.s.size());
		o.insert(o.end(), v.s.begin(), v.s.end());
		break;
	case 0xb0: case 0xb1: case 0xb3:
		put_be(o, v.s.size(), 4);
		o.insert(o.end(), v.s.begin(), v.s.end());
		break;
	default: ADD_FAILURE() << "canon_elem_body code " << (int)code;
	}
}

inline void canon_encode(Bytes &o, const TV &v);

inline void canon_ulong(Bytes &o, uint64_t u)
{
	if (u == 0)
		o.push_back(0x44);
	else if (u < 256) {
		o.push_back(0x53);
		o.push_back((uint8_t)u);
	} else {
		o.push_back(0x80);
		put_be(o, u, 8);
	}
}

inline void canon_var(Bytes &o, uint8_t c8, uint8_t c32, const std::string &s)
{
	if (s.size() < 256) {
		o.push_back(c8);
		o.push_back((uint8_t)s.size());
	} else {
		o.push_back(c32);
		put_be(o, s.size(), 4);
	}
	o.insert(o.end(), s.begin(), s.end());
}

inline void canon_compound(Bytes &o, uint8_t c8, uint8_t c32, size_t count, const Bytes &body)
{
	if (body.size() + 1 <= 255 && count <= 255) {
		o.push_back(c8);
		o.push_back((uint8_t)(body.size() + 1));
		o.push_back((uint8_t)count);
	} else {
		o.push_back(c32);
		put_be(o, body.size() + 4, 4);
		put_be(o, count, 4);
	}
	o.insert(o.end(), body.begin(), body.end());
}

inline void canon_encode(Bytes &o, const TV &v)
{
	if (v.dkind == 1) {
		o.push_back(0x00);
		canon_ulong(o, v.dcode);
	} else if (v.dkind == 2) {
		o.push_back(0x00);
		canon_var(o, 0xa3, 0xb3, v.dsym);
	}
	switch (v.type) {
	case AMQP_TYPE_NULL: o.push_back(0x40); break;
	case AMQP_TYPE_BOOLEAN: o.push_back(v.b ? 0x41 : 0x42); break;
	case AMQP_TYPE_UINT:
		if (v.u == 0)
			o.push_back(0x43);
		else if (v.u < 256) {
			o.push_back(0x52);
			o.push_back((uint8_t)v.u);
		} else {
			o.push_back(0x70);
			put_be(o, v.u, 4);
		}
		break;
	case AMQP_TYPE_ULONG: canon_ulong(o, v.u); break;
	case AMQP_TYPE_INT:
	case AMQP_TYPE_LONG:
		if (v.i >= -128 && v.i <= 127) {
			o.push_back(v.type == AMQP_TYPE_INT ? 0x54 : 0x55);
			o.push_back((uint8_t)v.i);
		} else if (v.type == AMQP_TYPE_INT) {
			o.push_back(0x71);
			put_be(o, (uint64_t)v.i, 4);
		} else {
			o.push_back(0x81);
			put_be(o, (uint64_t)v.i, 8);
		}
		break;
	case AMQP_TYPE_BINARY: canon_var(o, 0xa0, 0xb0, v.s); break;
	case AMQP_TYPE_STRING: canon_var(o, 0xa1, 0xb1, v.s); break;
	case AMQP_TYPE_SYMBOL: canon_var(o, 0xa3, 0xb3, v.s); break;
	case AMQP_TYPE_LIST: {
		if (v.kids.empty()) {
			o.push_back(0x45);
			break;
		}
		Bytes body;
		for (auto &k : v.kids)
			canon_encode(body, k);
		canon_compound(o, 0xc0, 0xd0, v.kids.size(), body);
		break;
	}
	case AMQP_TYPE_MAP: {
		Bytes body;
		for (auto &k : v.kids)
			canon_encode(body, k);
		canon_compound(o, 0xc1, 0xd1, v.kids.size(), body);
		break;
	}
	case AMQP_TYPE_ARRAY: {
		Bytes body;
		uint8_t ec = canon_elem_code(v);
		if (v.edesc) {
			body.push_back(0x00);
			canon_ulong(body, v.edcode);
		}
		body.push_back(ec);
		for (auto &k : v.kids)
			canon_elem_body(body, k, ec);
		// array8/array32: size counts the count field and the constructor.
		if (body.size() + 1 <= 255 && v.kids.size() <= 255) {
			o.push_back(0xe0);
			o.push_back((uint8_t)(body.size() + 1));
			o.push_back((uint8_t)v.kids.size());
		} else {
			o.push_back(0xf0);
			put_be(o, body.size() + 4, 4);
			put_be(o, v.kids.size(), 4);
		}
		o.insert(o.end(), body.begin(), body.end());
		break;
	}
	default: {
		// Single-encoding fixed types: the array element code is the
		// only code.
		TV a = tv_array(v.type, {});
		uint8_t c = canon_elem_code(a);
		o.push_back(c);
		canon_elem_body(o, v, c);
	}
	}
}

// Byte vectors written out by hand in tests.
inline Bytes B(std::initializer_list<int> l)
{
	Bytes b;
	for (int x : l)
		b.push_back((uint8_t)x);
	return b;
}
inline Bytes cat(Bytes a, const Bytes &b)
{
	a.insert(a.end(), b.begin(), b.end());
	return a;
}
inline Bytes str_bytes(const std::string &s) { return Bytes(s.begin(), s.end()); }

inline Bytes canon_bytes(const TV &v)
{
	Bytes o;
	canon_encode(o, v);
	return o;
}

// --- our encoder ------------------------------------------------------------

inline void ours_encode(struct amqp_wbuf *w, const TV &v)
{
	if (v.dkind == 1) {
		amqp_encode_descriptor(w, v.dcode);
	} else if (v.dkind == 2) {
		amqp_write_mem(w, "\0", 1);
		struct amqp_bytes b = amqp_bytes_of(v.dsym.data(), v.dsym.size());
		amqp_encode_symbol(w, &b);
	}
	struct amqp_bytes sb = amqp_bytes_of(v.s.data(), v.s.size());
	switch (v.type) {
	case AMQP_TYPE_NULL: amqp_encode_null(w); break;
	case AMQP_TYPE_BOOLEAN: amqp_encode_bool(w, v.b); break;
	case AMQP_TYPE_UBYTE: amqp_encode_ubyte(w, (uint8_t)v.u); break;
	case AMQP_TYPE_USHORT: amqp_encode_ushort(w, (uint16_t)v.u); break;
	case AMQP_TYPE_UINT: amqp_encode_uint(w, (uint32_t)v.u); break;
	case AMQP_TYPE_ULONG: amqp_encode_ulong(w, v.u); break;
	case AMQP_TYPE_BYTE: amqp_encode_byte(w, (int8_t)v.i); break;
	case AMQP_TYPE_SHORT: amqp_encode_short(w, (int16_t)v.i); break;
	case AMQP_TYPE_INT: amqp_encode_int(w, (int32_t)v.i); break;
	case AMQP_TYPE_LONG: amqp_encode_long(w, v.i); break;
	case AMQP_TYPE_FLOAT: {
		float f;
		uint32_t x = (uint32_t)v.u;
		memcpy(&f, &x, 4);
		amqp_encode_float(w, f);
		break;
	}
	case AMQP_TYPE_DOUBLE: {
		double d;
		memcpy(&d, &v.u, 8);
		amqp_encode_double(w, d);
		break;
	}
	case AMQP_TYPE_DECIMAL32: amqp_encode_decimal32(w, (uint32_t)v.u); break;
	case AMQP_TYPE_DECIMAL64: amqp_encode_decimal64(w, v.u); break;
	case AMQP_TYPE_DECIMAL128: amqp_encode_decimal128(w, v.b16); break;
	case AMQP_TYPE_CHAR: amqp_encode_char(w, (uint32_t)v.u); break;
	case AMQP_TYPE_TIMESTAMP: amqp_encode_timestamp(w, v.i); break;
	case AMQP_TYPE_UUID: amqp_encode_uuid(w, v.b16); break;
	case AMQP_TYPE_BINARY: amqp_encode_binary(w, &sb); break;
	case AMQP_TYPE_STRING: amqp_encode_string(w, &sb); break;
	case AMQP_TYPE_SYMBOL: amqp_encode_symbol(w, &sb); break;
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP: {
		struct amqp_compound k;
		if (v.type == AMQP_TYPE_LIST)
			amqp_encode_list_open(w, &k);
		else
			amqp_encode_map_open(w, &k);
		for (auto &kid : v.kids) {
			ours_encode(w, kid);
			k.count++;
		}
		amqp_encode_compound_close(w, &k);
		break;
	}
	case AMQP_TYPE_ARRAY: {
		struct amqp_array a;
		uint8_t ec = canon_elem_code(v);
		if (v.edesc) {
			amqp_encode_array_open(w, &a, 0x00);
			amqp_encode_ulong(w, v.edcode);
			amqp_write_mem(w, &ec, 1);
		} else {
			amqp_encode_array_open(w, &a, ec);
		}
		for (auto &kid : v.kids) {
			if (!v.edesc && v.elem_type == AMQP_TYPE_SYMBOL) {
				struct amqp_bytes kb = amqp_bytes_of(kid.s.data(), kid.s.size());
				amqp_encode_array_symbol(w, &a, &kb);
				continue;
			}
			Bytes e;
			canon_elem_body(e, kid, ec);
			if (!e.empty()) // zero-width elements: nothing to write
				amqp_write_mem(w, e.data(), e.size());
			a.count++;
		}
		amqp_encode_array_close(w, &a);
		break;
	}
	}
}

// One output buffer for the whole run: large, so reused (a fresh 1 MiB
// per call costs more than the encoding under ASan).
inline Bytes &scratch_out()
{
	static Bytes buf(1 << 20);
	return buf;
}

inline Bytes ours_bytes(const TV &v)
{
	Bytes &o = scratch_out();
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, o.data(), o.size());
	ours_encode(&w, v);
	EXPECT_TRUE(amqp_wbuf_ok(&w));
	return Bytes(o.begin(), o.begin() + (ptrdiff_t)amqp_wbuf_len(&w));
}

// --- proton ---------------------------------------------------------------

inline pn_type_t pn_type_of(uint8_t t)
{
	static const pn_type_t map[] = {PN_NULL,	PN_BOOL,      PN_UBYTE,	     PN_USHORT, PN_UINT,
					PN_ULONG,	PN_BYTE,      PN_SHORT,	     PN_INT,	PN_LONG,
					PN_FLOAT,	PN_DOUBLE,    PN_DECIMAL32,  PN_DECIMAL64,
					PN_DECIMAL128, PN_CHAR,	      PN_TIMESTAMP, PN_UUID,	PN_BINARY,
					PN_STRING,	PN_SYMBOL,    PN_LIST,	     PN_MAP,	PN_ARRAY};
	return map[t];
}

inline pn_bytes_t pn_b(const std::string &s) { return pn_bytes(s.size(), s.data()); }

inline void pn_put(pn_data_t *d, const TV &v);

inline void pn_put_body(pn_data_t *d, const TV &v)
{
	switch (v.type) {
	case AMQP_TYPE_NULL: pn_data_put_null(d); break;
	case AMQP_TYPE_BOOLEAN: pn_data_put_bool(d, v.b); break;
	case AMQP_TYPE_UBYTE: pn_data_put_ubyte(d, (uint8_t)v.u); break;
	case AMQP_TYPE_USHORT: pn_data_put_ushort(d, (uint16_t)v.u); break;
	case AMQP_TYPE_UINT: pn_data_put_uint(d, (uint32_t)v.u); break;
	case AMQP_TYPE_ULONG: pn_data_put_ulong(d, v.u); break;
	case AMQP_TYPE_BYTE: pn_data_put_byte(d, (int8_t)v.i); break;
	case AMQP_TYPE_SHORT: pn_data_put_short(d, (int16_t)v.i); break;
	case AMQP_TYPE_INT: pn_data_put_int(d, (int32_t)v.i); break;
	case AMQP_TYPE_LONG: pn_data_put_long(d, v.i); break;
	case AMQP_TYPE_FLOAT: {
		float f;
		uint32_t x = (uint32_t)v.u;
		memcpy(&f, &x, 4);
		pn_data_put_float(d, f);
		break;
	}
	case AMQP_TYPE_DOUBLE: {
		double f;
		memcpy(&f, &v.u, 8);
		pn_data_put_double(d, f);
		break;
	}
	case AMQP_TYPE_DECIMAL32: pn_data_put_decimal32(d, (pn_decimal32_t)v.u); break;
	case AMQP_TYPE_DECIMAL64: pn_data_put_decimal64(d, (pn_decimal64_t)v.u); break;
	case AMQP_TYPE_DECIMAL128: {
		pn_decimal128_t x;
		memcpy(x.bytes, v.b16, 16);
		pn_data_put_decimal128(d, x);
		break;
	}
	case AMQP_TYPE_CHAR: pn_data_put_char(d, (pn_char_t)v.u); break;
	case AMQP_TYPE_TIMESTAMP: pn_data_put_timestamp(d, v.i); break;
	case AMQP_TYPE_UUID: {
		pn_uuid_t x;
		memcpy(x.bytes, v.b16, 16);
		pn_data_put_uuid(d, x);
		break;
	}
	case AMQP_TYPE_BINARY: pn_data_put_binary(d, pn_b(v.s)); break;
	case AMQP_TYPE_STRING: pn_data_put_string(d, pn_b(v.s)); break;
	case AMQP_TYPE_SYMBOL: pn_data_put_symbol(d, pn_b(v.s)); break;
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP:
		if (v.type == AMQP_TYPE_LIST)
			pn_data_put_list(d);
		else
			pn_data_put_map(d);
		pn_data_enter(d);
		for (auto &k : v.kids)
			pn_put(d, k);
		pn_data_exit(d);
		break;
	case AMQP_TYPE_ARRAY:
		pn_data_put_array(d, v.edesc, pn_type_of(v.elem_type));
		pn_data_enter(d);
		if (v.edesc)
			pn_data_put_ulong(d, v.edcode);
		for (auto &k : v.kids)
			pn_put_body(d, k);
		pn_data_exit(d);
		break;
	}
}

inline void pn_put(pn_data_t *d, const TV &v)
{
	if (v.dkind != 0) {
		pn_data_put_described(d);
		pn_data_enter(d);
		if (v.dkind == 1)
			pn_data_put_ulong(d, v.dcode);
		else
			pn_data_put_symbol(d, pn_b(v.dsym));
		pn_put_body(d, v);
		pn_data_exit(d);
		return;
	}
	pn_put_body(d, v);
}

// Proton's encoding of v.
inline Bytes pn_bytes_of(const TV &v)
{
	pn_data_t *d = pn_data(16);
	pn_put(d, v);
	Bytes o(64);
	ssize_t n;
	while ((n = pn_data_encode(d, (char *)o.data(), o.size())) == PN_OVERFLOW)
		o.resize(o.size() * 2);
	EXPECT_GE(n, 0) << "pn_data_encode: " << pn_code((int)n);
	o.resize(n < 0 ? 0 : (size_t)n);
	pn_data_free(d);
	return o;
}

// Proton never picks list8/map8/array8, never omits trailing nulls, and
// uses array32 with the widest element code: only trees without lists,
// maps and arrays (list0 aside) encode the same bytes as ours.
inline bool pn_is_canonical_for(const TV &v)
{
	if (v.type == AMQP_TYPE_MAP || v.type == AMQP_TYPE_ARRAY)
		return false;
	if (v.type == AMQP_TYPE_LIST)
		return v.kids.empty();
	return true;
}

inline std::string hex(const uint8_t *p, size_t n, size_t max = 64)
{
	std::string s;
	char b[4];
	for (size_t k = 0; k < n && k < max; k++) {
		snprintf(b, sizeof b, "%02x ", p[k]);
		s += b;
	}
	if (n > max)
		s += "...(" + std::to_string(n) + " bytes)";
	return s;
}
inline std::string hex(const Bytes &b, size_t max = 64) { return hex(b.data(), b.size(), max); }

// Compare the proton node at the current position with v; "" when equal.
inline std::string pn_compare(pn_data_t *d, const TV &v, const std::string &path = "$");

inline std::string pn_compare_body(pn_data_t *d, const TV &v, const std::string &path)
{
	pn_type_t want = pn_type_of(v.type);
	if (pn_data_type(d) != want)
		return path + ": proton type " + pn_type_name(pn_data_type(d)) + " want " +
		       pn_type_name(want);
	auto bad = [&](const char *what) { return path + ": " + what + " differs"; };
	switch (v.type) {
	case AMQP_TYPE_NULL: break;
	case AMQP_TYPE_BOOLEAN: if (pn_data_get_bool(d) != v.b) return bad("bool"); break;
	case AMQP_TYPE_UBYTE: if (pn_data_get_ubyte(d) != v.u) return bad("ubyte"); break;
	case AMQP_TYPE_USHORT: if (pn_data_get_ushort(d) != v.u) return bad("ushort"); break;
	case AMQP_TYPE_UINT: if (pn_data_get_uint(d) != v.u) return bad("uint"); break;
	case AMQP_TYPE_ULONG: if (pn_data_get_ulong(d) != v.u) return bad("ulong"); break;
	case AMQP_TYPE_BYTE: if (pn_data_get_byte(d) != v.i) return bad("byte"); break;
	case AMQP_TYPE_SHORT: if (pn_data_get_short(d) != v.i) return bad("short"); break;
	case AMQP_TYPE_INT: if (pn_data_get_int(d) != v.i) return bad("int"); break;
	case AMQP_TYPE_LONG: if (pn_data_get_long(d) != v.i) return bad("long"); break;
	case AMQP_TYPE_TIMESTAMP: if (pn_data_get_timestamp(d) != v.i) return bad("timestamp"); break;
	case AMQP_TYPE_FLOAT: {
		float f = pn_data_get_float(d);
		uint32_t x;
		memcpy(&x, &f, 4);
		if (x != (uint32_t)v.u) return bad("float");
		break;
	}
	case AMQP_TYPE_DOUBLE: {
		double f = pn_data_get_double(d);
		uint64_t x;
		memcpy(&x, &f, 8);
		if (x != v.u) return bad("double");
		break;
	}
	case AMQP_TYPE_DECIMAL32: if (pn_data_get_decimal32(d) != v.u) return bad("decimal32"); break;
	case AMQP_TYPE_DECIMAL64: if (pn_data_get_decimal64(d) != v.u) return bad("decimal64"); break;
	case AMQP_TYPE_DECIMAL128:
		if (memcmp(pn_data_get_decimal128(d).bytes, v.b16, 16) != 0) return bad("decimal128");
		break;
	case AMQP_TYPE_UUID:
		if (memcmp(pn_data_get_uuid(d).bytes, v.b16, 16) != 0) return bad("uuid");
		break;
	case AMQP_TYPE_CHAR: if (pn_data_get_char(d) != v.u) return bad("char"); break;
	case AMQP_TYPE_BINARY:
	case AMQP_TYPE_STRING:
	case AMQP_TYPE_SYMBOL: {
		pn_bytes_t b = pn_data_get_bytes(d);
		if (std::string(b.start, b.size) != v.s) return bad("bytes");
		break;
	}
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP: {
		size_t n = v.type == AMQP_TYPE_LIST ? pn_data_get_list(d) : pn_data_get_map(d);
		if (n != v.kids.size())
			return path + ": count " + std::to_string(n) + " want " + std::to_string(v.kids.size());
		pn_data_enter(d);
		for (size_t k = 0; k < n; k++) {
			if (!pn_data_next(d)) return path + ": missing element";
			std::string e = pn_compare(d, v.kids[k], path + "[" + std::to_string(k) + "]");
			if (!e.empty()) return e;
		}
		if (pn_data_next(d)) return path + ": extra element";
		pn_data_exit(d);
		break;
	}
	case AMQP_TYPE_ARRAY: {
		size_t n = pn_data_get_array(d);
		if (n != v.kids.size())
			return path + ": array count " + std::to_string(n) + " want " + std::to_string(v.kids.size());
		if (pn_data_get_array_type(d) != pn_type_of(v.elem_type)) return bad("array type");
		if (pn_data_is_array_described(d) != v.edesc) return bad("array described");
		pn_data_enter(d);
		if (v.edesc) {
			if (!pn_data_next(d) || pn_data_type(d) != PN_ULONG || pn_data_get_ulong(d) != v.edcode)
				return bad("array descriptor");
		}
		for (size_t k = 0; k < n; k++) {
			if (!pn_data_next(d)) return path + ": missing array element";
			std::string e = pn_compare_body(d, v.kids[k], path + "[" + std::to_string(k) + "]");
			if (!e.empty()) return e;
		}
		pn_data_exit(d);
		break;
	}
	}
	return "";
}

inline std::string pn_compare(pn_data_t *d, const TV &v, const std::string &path)
{
	if (v.dkind == 0) {
		if (pn_data_type(d) == PN_DESCRIBED) return path + ": unexpected described";
		return pn_compare_body(d, v, path);
	}
	if (pn_data_type(d) != PN_DESCRIBED) return path + ": not described in proton";
	pn_data_enter(d);
	pn_data_next(d);
	if (v.dkind == 1) {
		if (pn_data_type(d) != PN_ULONG || pn_data_get_ulong(d) != v.dcode) return path + ": descriptor";
	} else {
		pn_bytes_t b = pn_data_get_symbol(d);
		if (pn_data_type(d) != PN_SYMBOL || std::string(b.start, b.size) != v.dsym)
			return path + ": symbolic descriptor";
	}
	if (!pn_data_next(d)) return path + ": described value missing";
	std::string e = pn_compare_body(d, v, path + "<d>");
	pn_data_exit(d);
	return e;
}

// Decode bytes with proton (exactly one value, every byte used) and compare.
inline std::string pn_decode_compare(const Bytes &b, const TV &v)
{
	pn_data_t *d = pn_data(16);
	ssize_t n = pn_data_decode(d, (const char *)b.data(), b.size());
	std::string e;
	if (n != (ssize_t)b.size()) {
		e = "pn_data_decode returned " + std::to_string(n) + " of " + std::to_string(b.size());
	} else {
		pn_data_rewind(d);
		if (!pn_data_next(d))
			e = "proton decoded nothing";
		else
			e = pn_compare(d, v);
		if (e.empty() && pn_data_next(d))
			e = "proton decoded more than one value";
	}
	pn_data_free(d);
	return e;
}

// --- our decoder vs the tree -------------------------------------------------

inline std::string bytes_str(const struct amqp_bytes &b)
{
	std::string s(b.len, '\0');
	amqp_bytes_copy(&b, &s[0], s.size());
	return s;
}

inline std::string ours_compare(const struct amqp_value &v, const TV &t, const std::string &path = "$");

inline std::string ours_compare_body(const struct amqp_value &v, const TV &t, const std::string &path)
{
	if (v.type != t.type)
		return path + ": our type " + amqp_type_name((enum amqp_type)v.type) + " want " +
		       amqp_type_name((enum amqp_type)t.type);
	auto bad = [&](const char *what) { return path + ": " + what + " differs"; };
	switch (t.type) {
	case AMQP_TYPE_NULL: break;
	case AMQP_TYPE_BOOLEAN: if (v.u.b != t.b) return bad("bool"); break;
	case AMQP_TYPE_UBYTE: case AMQP_TYPE_USHORT: case AMQP_TYPE_UINT: case AMQP_TYPE_ULONG:
	case AMQP_TYPE_DECIMAL32: case AMQP_TYPE_DECIMAL64: case AMQP_TYPE_CHAR:
		if (v.u.u != t.u) return bad("unsigned value");
		break;
	case AMQP_TYPE_BYTE: case AMQP_TYPE_SHORT: case AMQP_TYPE_INT: case AMQP_TYPE_LONG:
	case AMQP_TYPE_TIMESTAMP:
		if (v.u.i != t.i) return bad("signed value");
		break;
	case AMQP_TYPE_FLOAT: {
		uint32_t x;
		memcpy(&x, &v.u.f, 4);
		if (x != (uint32_t)t.u) return bad("float");
		break;
	}
	case AMQP_TYPE_DOUBLE: {
		uint64_t x;
		memcpy(&x, &v.u.d, 8);
		if (x != t.u) return bad("double");
		break;
	}
	case AMQP_TYPE_DECIMAL128:
	case AMQP_TYPE_UUID:
		if (memcmp(v.u.b16, t.b16, 16) != 0) return bad("16 bytes");
		break;
	case AMQP_TYPE_BINARY:
	case AMQP_TYPE_STRING:
	case AMQP_TYPE_SYMBOL:
		if (v.bytes.len != t.s.size() || bytes_str(v.bytes) != t.s) return bad("bytes");
		break;
	case AMQP_TYPE_LIST:
	case AMQP_TYPE_MAP:
	case AMQP_TYPE_ARRAY: {
		if (v.count != t.kids.size())
			return path + ": count " + std::to_string(v.count) + " want " + std::to_string(t.kids.size());
		if (t.type == AMQP_TYPE_ARRAY) {
			if (v.elem_type != t.elem_type) return bad("array element type");
			if (v.elem_descriptor != (t.edesc ? t.edcode : AMQP_DESC_NONE)) return bad("array element descriptor");
		}
		struct amqp_iter it;
		struct amqp_diag dg = {};
		if (amqp_iter_init(&it, &v, &dg) != RR_OK) return bad("iter_init");
		for (size_t k = 0; k < t.kids.size(); k++) {
			struct amqp_value e;
			enum rr_err r = amqp_iter_next(&it, &e, &dg);
			std::string p = path + "[" + std::to_string(k) + "]";
			if (r != RR_OK) return p + ": iter_next " + rr_errname(r);
			std::string m;
			if (t.type == AMQP_TYPE_ARRAY) {
				if (e.descriptor != (t.edesc ? t.edcode : AMQP_DESC_NONE)) return p + ": element descriptor";
				m = ours_compare_body(e, t.kids[k], p);
			} else {
				m = ours_compare(e, t.kids[k], p);
			}
			if (!m.empty()) return m;
		}
		struct amqp_value e;
		enum rr_err r = amqp_iter_next(&it, &e, &dg);
		if (r != RR_END) return path + ": after last element: " + rr_errname(r);
		break;
	}
	}
	return "";
}

inline std::string ours_compare(const struct amqp_value &v, const TV &t, const std::string &path)
{
	if (t.dkind == 0) {
		if (v.descriptor != AMQP_DESC_NONE) return path + ": unexpected descriptor";
	} else if (t.dkind == 1) {
		if (v.descriptor != t.dcode) return path + ": descriptor differs";
	} else {
		struct amqp_bytes sb = amqp_bytes_of(t.dsym.data(), t.dsym.size());
		uint64_t want = AMQP_DESC_UNKNOWN;
		for (size_t k = 0; k < amqp_composites_count; k++)
			if (t.dsym == amqp_composites[k]->symbol)
				want = amqp_composites[k]->code;
		for (size_t k = 0; k < amqp_sections_count; k++)
			if (t.dsym == amqp_sections[k].symbol)
				want = amqp_sections[k].code;
		if (v.descriptor != want) return path + ": symbolic descriptor code differs";
		if (amqp_descriptor_lookup(&sb) != want) return path + ": descriptor lookup differs";
		if (bytes_str(v.sym_descriptor) != t.dsym) return path + ": symbolic descriptor differs";
	}
	return ours_compare_body(v, t, path);
}

// Decode one value with ours from a chain of n-byte segments; it must use
// every byte; the raw view must be the whole input.
inline std::string ours_decode_compare(const Bytes &b, const TV &t, size_t n)
{
	test_chain ch(b, n);
	struct amqp_cursor c;
	ch.cursor(&c);
	struct amqp_value v;
	struct amqp_diag d = {};
	enum rr_err e = amqp_decode_value(&c, &v, &d);
	std::string where = " (split " + std::to_string(n) + ")";
	if (e != RR_OK) return std::string("amqp_decode_value: ") + rr_errname(e) + where;
	if (amqp_cur_left(&c) != 0) return "bytes left after the value" + where;
	if (v.raw.len != b.size() || bytes_str(v.raw) != std::string(b.begin(), b.end()))
		return "raw view differs" + where;
	if (v.pos != 0) return "pos not 0" + where;
	std::string m = ours_compare(v, t);
	return m.empty() ? m : m + where;
}

inline size_t pick_split(Rng &r)
{
	auto s = test_split_sizes();
	return s[r.below(s.size())];
}
