// Every message section written by our encoders (header, delivery- and
// message-annotations, properties, application-properties, data,
// amqp-sequence, amqp-value, footer) is read back by proton's pn_message_t
// with the values put in, and by our own scan.
#include "oracle_util.h"

#include <proton/message.h>

#include "amqp_route.h"

static std::string pn_str(pn_data_t *d)
{
	pn_bytes_t b = pn_data_get_bytes(d);
	return std::string(b.start, b.size);
}

static struct amqp_bytes enc(std::vector<uint8_t> &store, void (*f)(struct amqp_wbuf *, const char *), const char *s)
{
	store.resize(512);
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, store.data(), store.size());
	f(&w, s);
	store.resize(amqp_wbuf_len(&w));
	return amqp_bytes_of(store.data(), store.size());
}

static void put_cstr(struct amqp_wbuf *w, const char *s) { amqp_encode_cstr(w, s); }

// Build a message with the chosen body kind: 0 data, 1 amqp-sequence,
// 2 amqp-value.
static std::vector<uint8_t> build(int body_kind)
{
	std::vector<uint8_t> out(4096);
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, out.data(), out.size());

	struct amqp_header h;
	amqp_header_init(&h);
	h.durable = true;
	h.ttl = 1234;
	h.present = AMQP_HEADER_HAS_DURABLE | AMQP_HEADER_HAS_TTL;
	amqp_header_encode(&w, &h);

	std::vector<uint8_t> v1, v2, v3;
	struct amqp_annotation da[] = {{"x-da", enc(v1, put_cstr, "d")}};
	EXPECT_EQ(amqp_encode_annotations(&w, AMQP_DESC_DELIVERY_ANNOTATIONS, nullptr, da, 1, nullptr), RR_OK);
	struct amqp_annotation ma[] = {{"x-opt-a", enc(v2, put_cstr, "A")}};
	EXPECT_EQ(amqp_encode_annotations(&w, AMQP_DESC_MESSAGE_ANNOTATIONS, nullptr, ma, 1, nullptr), RR_OK);

	struct amqp_properties p;
	amqp_properties_init(&p);
	p.to.type = AMQP_TYPE_STRING;
	p.to.descriptor = AMQP_DESC_NONE;
	p.to.raw = amqp_bytes_of(nullptr, 0);
	p.to.bytes = amqp_bytes_of("q1", 2);
	p.subject = amqp_bytes_of("subj", 4);
	p.present = AMQP_PROPERTIES_HAS_TO | AMQP_PROPERTIES_HAS_SUBJECT;
	amqp_properties_encode(&w, &p);

	struct amqp_annotation ap[] = {{"app-key", enc(v3, put_cstr, "app-val")}};
	EXPECT_EQ(amqp_encode_application_properties(&w, nullptr, ap, 1, nullptr), RR_OK);

	if (body_kind == 0) {
		struct amqp_bytes b = amqp_bytes_of("hello", 5);
		amqp_encode_data_section(&w, &b);
	} else {
		// A list [uint 7, "x"] built with our encoder, then decoded into a
		// value to hand to the section encoders.
		static uint8_t lbuf[64];
		struct amqp_wbuf lw;
		amqp_wbuf_init(&lw, lbuf, sizeof lbuf);
		struct amqp_compound k;
		amqp_encode_list_open(&lw, &k);
		amqp_encode_uint(&lw, 7);
		amqp_encode_cstr(&lw, "x");
		k.count = 2;
		amqp_encode_compound_close(&lw, &k);
		struct amqp_seg seg;
		struct amqp_cursor c;
		amqp_cur_init_flat(&c, &seg, lbuf, amqp_wbuf_len(&lw));
		struct amqp_value list;
		EXPECT_EQ(amqp_decode_value(&c, &list, nullptr), RR_OK);
		if (body_kind == 1)
			amqp_encode_amqp_sequence_section(&w, &list);
		else
			amqp_encode_amqp_value_section(&w, &list);
	}
	EXPECT_EQ(amqp_encode_annotations(&w, AMQP_DESC_FOOTER, nullptr, da, 1, nullptr), RR_OK);
	EXPECT_TRUE(amqp_wbuf_ok(&w));
	out.resize(amqp_wbuf_len(&w));
	return out;
}

TEST(AmqpSectionEncode, ProtonReadsEverySection)
{
	for (int kind = 0; kind < 3; kind++) {
		SCOPED_TRACE(kind);
		std::vector<uint8_t> m = build(kind);
		pn_message_t *msg = pn_message();
		ASSERT_EQ(pn_message_decode(msg, (const char *)m.data(), m.size()), 0) << pn_error_text(pn_message_error(msg));
		EXPECT_TRUE(pn_message_is_durable(msg));
		EXPECT_EQ(pn_message_get_ttl(msg), 1234u);
		EXPECT_STREQ(pn_message_get_address(msg), "q1");
		EXPECT_STREQ(pn_message_get_subject(msg), "subj");

		pn_data_t *ma = pn_message_annotations(msg);
		pn_data_rewind(ma);
		ASSERT_TRUE(pn_data_next(ma));
		ASSERT_EQ(pn_data_get_map(ma), 2u);
		pn_data_enter(ma);
		pn_data_next(ma);
		EXPECT_EQ(pn_data_type(ma), PN_SYMBOL);
		EXPECT_EQ(pn_str(ma), "x-opt-a");
		pn_data_next(ma);
		EXPECT_EQ(pn_str(ma), "A");

		pn_data_t *ap = pn_message_properties(msg);
		pn_data_rewind(ap);
		ASSERT_TRUE(pn_data_next(ap));
		ASSERT_EQ(pn_data_get_map(ap), 2u);
		pn_data_enter(ap);
		pn_data_next(ap);
		EXPECT_EQ(pn_data_type(ap), PN_STRING); // part 3.2.5: string keys
		EXPECT_EQ(pn_str(ap), "app-key");
		pn_data_next(ap);
		EXPECT_EQ(pn_str(ap), "app-val");

		pn_data_t *da = pn_message_instructions(msg);
		pn_data_rewind(da);
		ASSERT_TRUE(pn_data_next(da));
		EXPECT_EQ(pn_data_get_map(da), 2u);

		pn_data_t *body = pn_message_body(msg);
		pn_data_rewind(body);
		ASSERT_TRUE(pn_data_next(body));
		if (kind == 0) {
			EXPECT_EQ(pn_data_type(body), PN_BINARY);
			EXPECT_EQ(pn_str(body), "hello");
		} else {
			// proton shows an amqp-sequence and an amqp-value holding a
			// list alike: a list of two
			EXPECT_EQ(pn_data_type(body), PN_LIST);
			EXPECT_EQ(pn_data_get_list(body), 2u);
		}
		pn_message_free(msg);

		// Our scan: every section in place, the right body kind.
		struct amqp_seg seg;
		struct amqp_cursor c;
		amqp_cur_init_flat(&c, &seg, m.data(), m.size());
		struct amqp_message_view v;
		ASSERT_EQ(amqp_message_scan(&c, &v, nullptr), RR_OK);
		uint32_t body_bit = kind == 0 ? AMQP_SEC_BODY_DATA : kind == 1 ? AMQP_SEC_BODY_SEQUENCE : AMQP_SEC_BODY_VALUE;
		EXPECT_EQ(v.sections, AMQP_SEC_HEADER | AMQP_SEC_DELIVERY_ANNOTATIONS | AMQP_SEC_MESSAGE_ANNOTATIONS |
					      AMQP_SEC_PROPERTIES | AMQP_SEC_APPLICATION_PROPERTIES | body_bit | AMQP_SEC_FOOTER);
		struct amqp_value val;
		ASSERT_EQ(amqp_map_find(&v.application_properties, "app-key", &val, nullptr), RR_OK);
		EXPECT_TRUE(amqp_bytes_eq_str(&val.bytes, "app-val"));
	}
}

TEST(AmqpSectionEncode, ReplacesAnApplicationPropertyByStringKey)
{
	std::vector<uint8_t> m = build(0);
	struct amqp_seg seg;
	struct amqp_cursor c;
	amqp_cur_init_flat(&c, &seg, m.data(), m.size());
	struct amqp_message_view v;
	ASSERT_EQ(amqp_message_scan(&c, &v, nullptr), RR_OK);
	std::vector<uint8_t> nv, out(256);
	struct amqp_annotation add[] = {{"app-key", enc(nv, put_cstr, "new")}};
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, out.data(), out.size());
	ASSERT_EQ(amqp_encode_application_properties(&w, &v.application_properties, add, 1, nullptr), RR_OK);
	out.resize(amqp_wbuf_len(&w));
	amqp_cur_init_flat(&c, &seg, out.data(), out.size());
	struct amqp_value sec, val;
	ASSERT_EQ(amqp_decode_value(&c, &sec, nullptr), RR_OK);
	EXPECT_EQ(sec.descriptor, AMQP_DESC_APPLICATION_PROPERTIES);
	EXPECT_EQ(sec.count, 2u); // replaced, not added
	ASSERT_EQ(amqp_map_find(&sec, "app-key", &val, nullptr), RR_OK);
	EXPECT_TRUE(amqp_bytes_eq_str(&val.bytes, "new"));
}

TEST(AmqpSectionEncode, SequenceSectionRefusesANonList)
{
	uint8_t buf[32];
	struct amqp_wbuf w;
	amqp_wbuf_init(&w, buf, sizeof buf);
	struct amqp_value v;
	amqp_value_set_null(&v);
	amqp_encode_amqp_sequence_section(&w, &v);
	EXPECT_FALSE(amqp_wbuf_ok(&w));
}
