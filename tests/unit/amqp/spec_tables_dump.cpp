// Prints the generated composite tables (amqp_composites[], amqp_sections[],
// amqp_code_table) as JSON for check_spec_tables.py, which compares them
// with the spec XML it reads itself. Also proves each composite has a
// working generated decoder and encoder: an all-defaults struct (mandatory
// fields filled) is encoded and decoded back.
#include <cstdio>
#include <string>
#include <vector>

#include "amqp_spec_gen.h"

static std::string js(const char *s)
{
	if (s == nullptr)
		return "null";
	std::string o = "\"";
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			o += '\\';
		o += *p;
	}
	return o + "\"";
}

static const char *kind_name(uint8_t k)
{
	static const char *const n[] = {"bool", "ubyte", "ushort", "uint", "ulong", "timestamp", "bytes", "value", "composite"};
	return k < sizeof n / sizeof n[0] ? n[k] : "?";
}

// Encode an init'd struct with mandatory fields set, decode it back.
static bool roundtrip(const struct amqp_composite_desc *desc)
{
	std::vector<uint64_t> in(desc->size / 8 + 2), out(desc->size / 8 + 2);
	amqp_composite_init(desc, in.data());
	amqp_present_t present = 0;
	for (unsigned i = 0; i < desc->nfields; i++) {
		const struct amqp_field_desc *f = &desc->fields[i];
		if (!f->mandatory)
			continue;
		present |= (amqp_present_t)1 << i;
		void *p = (uint8_t *)in.data() + f->offset;
		if (f->kind == AMQP_FK_VALUE) {
			// a '*' or multiple field: a one-byte-long binary value
			static const uint8_t bin[] = {0xa0, 1, 'x'};
			struct amqp_seg seg;
			struct amqp_cursor c;
			amqp_cur_init_flat(&c, &seg, bin, sizeof bin);
			struct amqp_diag d = {};
			if (amqp_decode_value(&c, (struct amqp_value *)p, &d) != RR_OK)
				return false;
			if (f->prim != AMQP_TYPE_INVALID) {
				// typed: a symbol (every mandatory multiple field is symbol)
				static const uint8_t sym[] = {0xa3, 1, 'x'};
				amqp_cur_init_flat(&c, &seg, sym, sizeof sym);
				if (amqp_decode_value(&c, (struct amqp_value *)p, &d) != RR_OK)
					return false;
			}
		}
	}
	*(amqp_present_t *)in.data() = present;
	uint8_t buf[256];
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf, sizeof buf);
	amqp_composite_encode(desc, in.data(), &w);
	if (!amqp_wbuf_ok(&w))
		return false;
	struct amqp_seg seg;
	struct amqp_cursor c;
	amqp_cur_init_flat(&c, &seg, buf, amqp_wbuf_len(&w));
	struct amqp_diag d = {};
	return amqp_composite_decode(desc, &c, out.data(), &d) == RR_OK &&
	       *(amqp_present_t *)out.data() == present && amqp_cur_left(&c) == 0 &&
	       amqp_composite_by_code(desc->code) == desc;
}

int main()
{
	printf("{\"composites\": [\n");
	for (size_t i = 0; i < amqp_composites_count; i++) {
		const struct amqp_composite_desc *c = amqp_composites[i];
		printf("%s {\"name\": %s, \"symbol\": %s, \"code\": %llu, \"provides\": %s, \"xml\": %s, "
		       "\"roundtrip\": %s, \"fields\": [\n",
		       i ? "," : "", js(c->name).c_str(), js(c->symbol).c_str(), (unsigned long long)c->code,
		       js(c->provides).c_str(), js(c->xml).c_str(), roundtrip(c) ? "true" : "false");
		for (unsigned k = 0; k < c->nfields; k++) {
			const struct amqp_field_desc *f = &c->fields[k];
			printf("  %s{\"name\": %s, \"type\": %s, \"requires\": %s, \"default\": %s, \"default_u\": %llu, "
			       "\"default_sym\": %s, \"kind\": \"%s\", \"prim\": %s, \"mandatory\": %s, \"multiple\": %s, "
			       "\"composite\": %s}\n",
			       k ? "," : "", js(f->name).c_str(), js(f->spec_type).c_str(), js(f->requires).c_str(),
			       js(f->default_text).c_str(), (unsigned long long)f->default_u, js(f->default_sym).c_str(),
			       kind_name(f->kind),
			       f->prim == AMQP_TYPE_INVALID ? "null" : js(amqp_type_name((enum amqp_type)f->prim)).c_str(),
			       f->mandatory ? "true" : "false", f->multiple ? "true" : "false",
			       f->composite ? js(f->composite->name).c_str() : "null");
		}
		printf("  ]}\n");
	}
	printf("], \"sections\": [\n");
	for (size_t i = 0; i < amqp_sections_count; i++)
		printf("%s {\"name\": %s, \"symbol\": %s, \"code\": %llu, \"source\": %s}\n", i ? "," : "",
		       js(amqp_sections[i].name).c_str(), js(amqp_sections[i].symbol).c_str(),
		       (unsigned long long)amqp_sections[i].code, js(amqp_sections[i].source).c_str());
	printf("], \"codes\": [\n");
	for (int i = 0; i < 256; i++) {
		const struct amqp_code_info &ci = amqp_code_table[i];
		printf("%s [%s, %d, %d]\n", i ? "," : "",
		       ci.type == AMQP_TYPE_INVALID ? "null" : js(amqp_type_name((enum amqp_type)ci.type)).c_str(),
		       ci.category, ci.width);
	}
	printf("], \"symbolic\": [\n");
	// Symbolic descriptor lookups, for every described type of the XML.
	bool first = true;
	for (size_t i = 0; i < amqp_composites_count; i++) {
		struct amqp_bytes b = amqp_bytes_of(amqp_composites[i]->symbol, strlen(amqp_composites[i]->symbol));
		printf("%s [%s, %llu]\n", first ? "" : ",", js(amqp_composites[i]->symbol).c_str(),
		       (unsigned long long)amqp_descriptor_lookup(&b));
		first = false;
	}
	for (size_t i = 0; i < amqp_sections_count; i++) {
		struct amqp_bytes b = amqp_bytes_of(amqp_sections[i].symbol, strlen(amqp_sections[i].symbol));
		printf(", [%s, %llu]\n", js(amqp_sections[i].symbol).c_str(), (unsigned long long)amqp_descriptor_lookup(&b));
	}
	printf("]}\n");
	return 0;
}
