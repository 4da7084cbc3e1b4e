// Test helpers: a client's frames encoded with the project's codec, and the
// router's output decoded with it (amqp_frame_parse +
// amqp_performative_decode).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "amqp_composite.h"
#include "amqp_encode.h"
#include "amqp_frame.h"
#include "amqp_spec_gen.h"

using bytes = std::vector<uint8_t>;

inline void append(bytes &to, const bytes &b) { to.insert(to.end(), b.begin(), b.end()); }

inline struct amqp_bytes view(const std::string &s) { return amqp_bytes_of(s.data(), s.size()); }
inline struct amqp_bytes view(const bytes &s) { return amqp_bytes_of(s.data(), s.size()); }

inline std::string str(const struct amqp_bytes &b)
{
	std::string s(b.len, '\0');
	amqp_bytes_copy(&b, &s[0], b.len);
	return s;
}
inline bytes raw_of(const struct amqp_bytes &b)
{
	bytes s(b.len);
	amqp_bytes_copy(&b, s.data(), b.len);
	return s;
}

inline struct amqp_value null_value()
{
	struct amqp_value v;
	memset(&v, 0, sizeof(v));
	v.type = AMQP_TYPE_NULL;
	v.code = 0x40;
	v.descriptor = AMQP_DESC_NONE;
	v.elem_descriptor = AMQP_DESC_NONE;
	return v;
}

// A described list value carried by its encoding (as dp_link.c does for
// the terminus it echoes).
inline struct amqp_value described_raw(const bytes &enc)
{
	struct amqp_value v = null_value();
	v.type = AMQP_TYPE_LIST;
	v.described = 1;
	v.raw = amqp_bytes_of(enc.data(), enc.size());
	return v;
}

inline struct amqp_value string_value(const std::string &s)
{
	struct amqp_value v = null_value();
	v.type = AMQP_TYPE_STRING;
	v.code = s.size() < 256 ? 0xa1 : 0xb1;
	v.bytes = amqp_bytes_of(s.data(), s.size());
	v.raw = amqp_bytes_of(nullptr, 0);
	return v;
}

template <typename F> bytes encode(F f, size_t cap = 1 << 16)
{
	bytes buf(cap);
	struct amqp_wbuf wb;
	amqp_wbuf_init(&wb, buf.data(), buf.size());
	f(&wb);
	if (!amqp_wbuf_ok(&wb))
		abort();
	buf.resize(amqp_wbuf_len(&wb));
	return buf;
}

// One AMQP frame: header, the performative f encodes, then payload.
template <typename F> bytes frame(uint16_t ch, F f, const bytes &payload = {})
{
	bytes b = encode([&](struct amqp_wbuf *wb) {
		uint8_t *hdr = amqp_frame_begin(wb);
		f(wb);
		amqp_write_mem(wb, payload.data(), payload.size());
		amqp_frame_end(wb, hdr, AMQP_FRAME_AMQP, ch);
	}, payload.size() + 4096);
	return b;
}

// --- client frames ------------------------------------------------------------

inline bytes f_begin(uint16_t ch, uint32_t next_outgoing_id = 0, uint32_t incoming_window = 1000)
{
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_begin b;
		amqp_begin_init(&b);
		b.present = AMQP_BEGIN_HAS_NEXT_OUTGOING_ID | AMQP_BEGIN_HAS_INCOMING_WINDOW |
			    AMQP_BEGIN_HAS_OUTGOING_WINDOW;
		b.next_outgoing_id = next_outgoing_id;
		b.incoming_window = incoming_window;
		b.outgoing_window = 1000;
		amqp_begin_encode(wb, &b);
	});
}

inline bytes enc_source(const std::string &addr, bool dynamic = false)
{
	return encode([&](struct amqp_wbuf *wb) {
		struct amqp_source s;
		amqp_source_init(&s);
		if (dynamic) {
			s.present = AMQP_SOURCE_HAS_DYNAMIC;
			s.dynamic = true;
		} else {
			s.present = AMQP_SOURCE_HAS_ADDRESS;
			s.address = string_value(addr);
		}
		amqp_source_encode(wb, &s);
	});
}

inline bytes enc_target(const std::string &addr)
{
	return encode([&](struct amqp_wbuf *wb) {
		struct amqp_target t;
		amqp_target_init(&t);
		if (!addr.empty()) {
			t.present = AMQP_TARGET_HAS_ADDRESS;
			t.address = string_value(addr);
		}
		amqp_target_encode(wb, &t);
	});
}

// A client receiver (router sends) from source addr, or dynamic.
inline bytes f_attach_receiver(uint16_t ch, uint32_t handle, const std::string &name,
			       const std::string &addr, bool dynamic = false)
{
	bytes src = enc_source(addr, dynamic), tgt = enc_target("");
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_attach a;
		amqp_attach_init(&a);
		a.present = AMQP_ATTACH_HAS_NAME | AMQP_ATTACH_HAS_HANDLE | AMQP_ATTACH_HAS_ROLE |
			    AMQP_ATTACH_HAS_SOURCE | AMQP_ATTACH_HAS_TARGET;
		a.name = view(name);
		a.handle = handle;
		a.role = true;
		a.source = described_raw(src);
		a.target = described_raw(tgt);
		amqp_attach_encode(wb, &a);
	});
}

// A client sender (router receives) to target addr ("" = anonymous relay).
inline bytes f_attach_sender(uint16_t ch, uint32_t handle, const std::string &name,
			     const std::string &addr, uint32_t initial_delivery_count = 0,
			     int snd_settle_mode = -1)
{
	bytes src = enc_source("client-src"), tgt = enc_target(addr);
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_attach a;
		amqp_attach_init(&a);
		a.present = AMQP_ATTACH_HAS_NAME | AMQP_ATTACH_HAS_HANDLE | AMQP_ATTACH_HAS_ROLE |
			    AMQP_ATTACH_HAS_SOURCE | AMQP_ATTACH_HAS_TARGET |
			    AMQP_ATTACH_HAS_INITIAL_DELIVERY_COUNT;
		a.name = view(name);
		a.handle = handle;
		a.role = false;
		a.source = described_raw(src);
		a.target = described_raw(tgt);
		a.initial_delivery_count = initial_delivery_count;
		if (snd_settle_mode >= 0) {
			a.present |= AMQP_ATTACH_HAS_SND_SETTLE_MODE;
			a.snd_settle_mode = (uint8_t)snd_settle_mode;
		}
		amqp_attach_encode(wb, &a);
	});
}

// A link flow (credit) from a client receiver.
inline bytes f_flow_link(uint16_t ch, uint32_t handle, uint32_t delivery_count, uint32_t credit,
			 uint32_t next_incoming_id = 0, uint32_t incoming_window = 1000,
			 bool drain = false)
{
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_flow f;
		amqp_flow_init(&f);
		f.present = AMQP_FLOW_HAS_NEXT_INCOMING_ID | AMQP_FLOW_HAS_INCOMING_WINDOW |
			    AMQP_FLOW_HAS_NEXT_OUTGOING_ID | AMQP_FLOW_HAS_OUTGOING_WINDOW |
			    AMQP_FLOW_HAS_HANDLE | AMQP_FLOW_HAS_DELIVERY_COUNT |
			    AMQP_FLOW_HAS_LINK_CREDIT;
		f.next_incoming_id = next_incoming_id;
		f.incoming_window = incoming_window;
		f.next_outgoing_id = 0;
		f.outgoing_window = 1000;
		f.handle = handle;
		f.delivery_count = delivery_count;
		f.link_credit = credit;
		if (drain) {
			f.present |= AMQP_FLOW_HAS_DRAIN;
			f.drain = true;
		}
		amqp_flow_encode(wb, &f);
	});
}

struct xfer {
	uint32_t handle = 0;
	bool first = true; // carries delivery-id, tag, format
	uint32_t delivery_id = 0;
	std::string tag = "t";
	bool settled = false;
	bool more = false;
	bool aborted = false;
};

inline bytes f_transfer(uint16_t ch, const xfer &x, const bytes &payload)
{
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_transfer t;
		amqp_transfer_init(&t);
		t.present = AMQP_TRANSFER_HAS_HANDLE;
		t.handle = x.handle;
		if (x.first) {
			t.present |= AMQP_TRANSFER_HAS_DELIVERY_ID | AMQP_TRANSFER_HAS_DELIVERY_TAG |
				     AMQP_TRANSFER_HAS_MESSAGE_FORMAT;
			t.delivery_id = x.delivery_id;
			t.delivery_tag = view(x.tag);
			t.message_format = 0;
		}
		if (x.settled) {
			t.present |= AMQP_TRANSFER_HAS_SETTLED;
			t.settled = true;
		}
		if (x.more) {
			t.present |= AMQP_TRANSFER_HAS_MORE;
			t.more = true;
		}
		if (x.aborted) {
			t.present |= AMQP_TRANSFER_HAS_ABORTED;
			t.aborted = true;
		}
		amqp_transfer_encode(wb, &t);
	}, payload);
}

inline bytes f_disposition(uint16_t ch, bool role_receiver, uint32_t first, bool settled,
			   const bytes &state)
{
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_disposition d;
		amqp_disposition_init(&d);
		d.present = AMQP_DISPOSITION_HAS_ROLE | AMQP_DISPOSITION_HAS_FIRST;
		d.role = role_receiver;
		d.first = first;
		if (settled) {
			d.present |= AMQP_DISPOSITION_HAS_SETTLED;
			d.settled = true;
		}
		if (!state.empty()) {
			d.present |= AMQP_DISPOSITION_HAS_STATE;
			d.state = described_raw(state);
		}
		amqp_disposition_encode(wb, &d);
	});
}

inline bytes f_detach(uint16_t ch, uint32_t handle, bool closed = true)
{
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_detach d;
		amqp_detach_init(&d);
		d.present = AMQP_DETACH_HAS_HANDLE | AMQP_DETACH_HAS_CLOSED;
		d.handle = handle;
		d.closed = closed;
		amqp_detach_encode(wb, &d);
	});
}

inline bytes f_end(uint16_t ch)
{
	return frame(ch, [&](struct amqp_wbuf *wb) {
		struct amqp_end e;
		amqp_end_init(&e);
		amqp_end_encode(wb, &e);
	});
}

inline bytes f_close()
{
	return frame(0, [&](struct amqp_wbuf *wb) {
		struct amqp_close c;
		amqp_close_init(&c);
		amqp_close_encode(wb, &c);
	});
}

inline bytes st_accepted()
{
	return encode([](struct amqp_wbuf *wb) {
		struct amqp_accepted a;
		amqp_accepted_init(&a);
		amqp_accepted_encode(wb, &a);
	});
}

inline bytes st_rejected(const std::string &cond, const std::string &desc)
{
	return encode([&](struct amqp_wbuf *wb) {
		struct amqp_rejected r;
		amqp_rejected_init(&r);
		r.present = AMQP_REJECTED_HAS_ERROR;
		amqp_error_init(&r.error);
		r.error.present = AMQP_ERROR_HAS_CONDITION | AMQP_ERROR_HAS_DESCRIPTION;
		r.error.condition = view(cond);
		r.error.description = view(desc);
		amqp_rejected_encode(wb, &r);
	});
}

// A message: properties (to, when given) then an amqp-value string body.
inline bytes message(const std::string &to, const std::string &body)
{
	return encode([&](struct amqp_wbuf *wb) {
		if (!to.empty()) {
			struct amqp_properties p;
			amqp_properties_init(&p);
			p.present = AMQP_PROPERTIES_HAS_TO;
			p.to = string_value(to);
			amqp_properties_encode(wb, &p);
		}
		amqp_encode_descriptor(wb, AMQP_DESC_AMQP_VALUE);
		struct amqp_bytes b = amqp_bytes_of(body.data(), body.size());
		amqp_encode_string(wb, &b);
	});
}

// --- the router's output --------------------------------------------------------

struct out_frame {
	uint32_t size = 0;
	uint16_t ch = 0;
	uint64_t code = 0; // 0: an empty (heartbeat) frame
	bytes raw;          // the whole frame
	struct amqp_seg seg;
	struct amqp_performative p;
	bytes payload; // after the performative
};
using out_frames = std::vector<std::unique_ptr<out_frame>>;

// Decode every frame of out; ok false when the bytes are not a sequence
// of whole, decodable frames.
inline out_frames decode_output(const uint8_t *out, size_t len, bool *ok)
{
	out_frames v;
	*ok = true;
	struct amqp_seg seg = {out, (uint32_t)len};
	struct amqp_cursor c;
	amqp_cur_init(&c, &seg, len ? 1 : 0);
	while (amqp_cur_left(&c) > 0) {
		struct amqp_frame f;
		struct amqp_diag d;
		memset(&d, 0, sizeof(d));
		uint64_t at = amqp_cur_pos(&c);
		if (amqp_frame_parse(&c, UINT32_MAX, &f, &d) != RR_OK) {
			*ok = false;
			break;
		}
		auto o = std::make_unique<out_frame>();
		o->size = f.size;
		o->ch = f.channel;
		o->raw.assign(out + at, out + at + f.size);
		if (f.size > 8) {
			o->seg = {o->raw.data() + 4u * f.doff, (uint32_t)(f.size - 4u * f.doff)};
			struct amqp_cursor b;
			amqp_cur_init(&b, &o->seg, 1);
			if (amqp_performative_decode(&b, &o->p, &d) != RR_OK) {
				*ok = false;
				break;
			}
			o->code = o->p.code;
			o->payload.resize(amqp_cur_left(&o->p.payload));
			if (!o->payload.empty()) /* data() may be NULL when empty (UBSan) */
				amqp_cur_copy(&o->p.payload, o->payload.data(), o->payload.size());
		}
		v.push_back(std::move(o));
	}
	return v;
}
