/* The socket driver: kernel TCP, one epoll loop per worker thread (the
 * embedded default; needs no hugepages or NIC). Edge-triggered: a socket
 * is read until EAGAIN and written until EAGAIN; EPOLLOUT stays armed so a
 * full socket reports when it drains.
 *
 * Reads land in the worker's shared input block (where the last read of
 * any connection ended) and one fresh block, with one readv: an idle
 * connection holds no buffer, and a transfer's bytes are forwarded from
 * where they were read (dp_buf.h). */
#include "drv_sock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_IOV 64
#define MIN_TAIL 1024u /* below this, the shared block's tail is not worth a read */
#define IN_HOLD_MAX (1u << 20) /* input kept while an Attach waits on control */

struct sock_state {
	int ep;
	int wake_fd;
};

static struct sock_state *st(struct dp_worker *w) { return (struct sock_state *)w->drv_state; }

static int sock_worker_init(struct dp_worker *w)
{
	struct sock_state *s = (struct sock_state *)calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->ep < 0 || s->wake_fd < 0) {
		free(s);
		return -1;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = NULL}};
	epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake_fd, &ev);
	w->drv_state = s;
	return 0;
}

static void sock_worker_fini(struct dp_worker *w)
{
	struct sock_state *s = st(w);
	if (s == NULL)
		return;
	close(s->ep);
	close(s->wake_fd);
	free(s);
	w->drv_state = NULL;
}

static void sock_wake(struct dp_worker *w)
{
	uint64_t one = 1;
	ssize_t r = write(st(w)->wake_fd, &one, sizeof(one));
	(void)r;
}

static int sock_conn_attach(struct dp_worker *w, struct dp_conn *c)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				 .data = {.ptr = c}};
	return epoll_ctl(st(w)->ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void sock_conn_release(struct dp_worker *w, struct dp_conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(st(w)->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static void sock_read(struct dp_worker *w, struct dp_conn *c)
{
	struct dp_block_pool *p = &w->blocks;
	for (;;) {
		if (c->state == DP_CONN_FREE)
			return;
		if (c->paused && c->in.len > IN_HOLD_MAX) {
			c->reading_blocked = true; /* resumed by the flush after the decision */
			return;
		}
		c->reading_blocked = false;
		if (p->in_cur == NULL || DP_BLOCK_DATA - p->in_cur->used < MIN_TAIL) {
			if (p->in_cur)
				dp_block_unref(p, p->in_cur);
			p->in_cur = dp_block_get(p);
			if (p->in_cur == NULL) {
				c->reading_blocked = true;
				return;
			}
		}
		struct dp_block *a = p->in_cur;
		struct dp_block *b = dp_block_get(p);
		struct iovec iov[2];
		iov[0].iov_base = a->data + a->used;
		iov[0].iov_len = DP_BLOCK_DATA - a->used;
		int n_iov = 1;
		if (b) {
			iov[1].iov_base = b->data;
			iov[1].iov_len = DP_BLOCK_DATA;
			n_iov = 2;
		}
		ssize_t n = readv(c->fd, iov, n_iov);
		if (n < 0) {
			if (b)
				dp_block_unref(p, b);
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			dp_conn_set_reason(c, "read: %s", strerror(errno));
			dp_conn_destroy(w, c);
			return;
		}
		if (n == 0) {
			if (b)
				dp_block_unref(p, b);
			dp_conn_set_reason(c, "%s", c->state == DP_CONN_CLOSING ? "closed"
								      : "the peer closed the socket");
			dp_conn_destroy(w, c); /* the peer went: its links fail, deliveries settle */
			return;
		}
		dp_count(w, DP_C_rx_bytes, (uint64_t)n);
		c->rx += (uint64_t)n;
		c->last_rx_ms = w->now_ms; /* the idle timeout counts from what the peer sent */
		uint32_t in_a = (uint32_t)((size_t)n < iov[0].iov_len ? (size_t)n : iov[0].iov_len);
		dp_chain_push(&c->in, a, a->used, in_a);
		a->used += in_a;
		if ((size_t)n > in_a) {
			dp_chain_push(&c->in, b, 0, (uint32_t)n - in_a);
			b->used = (uint32_t)n - in_a;
			dp_block_unref(p, a);
			p->in_cur = b; /* the pool's reference moves to the new block */
		} else if (b) {
			dp_block_unref(p, b);
		}
		dp_conn_input(w, c);
		if ((size_t)n < iov[0].iov_len + (n_iov > 1 ? iov[1].iov_len : 0))
			return; /* short read: the socket is empty (edge-triggered) */
	}
}

static void sock_conn_flush(struct dp_worker *w, struct dp_conn *c)
{
	while (c->out.len > 0) {
		struct iovec iov[MAX_IOV];
		int n_iov = dp_chain_iov(&c->out, iov, MAX_IOV);
		ssize_t n = writev(c->fd, iov, n_iov);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (c->stall_ms == 0)
					c->stall_ms = w->now_ms;
				return; /* EPOLLOUT (edge) tells when it drains */
			}
			dp_conn_set_reason(c, "write: %s", strerror(errno));
			dp_conn_destroy(w, c);
			return;
		}
		uint64_t before = c->out.len;
		dp_chain_consume(&w->blocks, &c->out, (uint64_t)n);
		dp_count(w, DP_C_tx_bytes, (uint64_t)n);
		c->tx += (uint64_t)n;
		if (c->state != DP_CONN_CLOSING)
			c->stall_ms = 0;
		if (before >= DP_OUT_WATERMARK / 2 && c->out.len < DP_OUT_WATERMARK / 2)
			dp_conn_output_drained(w, c);
	}
	if (c->close_when_flushed) {
		dp_conn_set_reason(c, "closed");
		dp_conn_destroy(w, c);
		return;
	}
	if (c->reading_blocked && !c->paused)
		sock_read(w, c);
}

static int sock_poll(struct dp_worker *w, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int n = epoll_wait(st(w)->ep, evs, MAX_EVENTS, timeout_ms);
	dp_worker_resume(w); /* online, newest table: before any event runs the engine */
	if (n <= 0)
		return 0;
	/* the wait may have been long: what arrives now is timed against
	 * both clocks as they are now (the ttl and expiry of a message on
	 * arrival use wall_ms, part 3.2.1) */
	w->now_ms = dp_now_ms();
	dp_worker_clock(w);
	for (int i = 0; i < n; i++) {
		struct dp_conn *c = (struct dp_conn *)evs[i].data.ptr;
		if (c == NULL) {
			uint64_t v;
			ssize_t r = read(st(w)->wake_fd, &v, sizeof(v));
			(void)r;
			continue;
		}
		if (c->state == DP_CONN_FREE)
			continue; /* destroyed by an earlier event of this batch */
		if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			sock_read(w, c);
		if (c->state != DP_CONN_FREE && (evs[i].events & EPOLLOUT) && c->out.len)
			dp_conn_mark_dirty(w, c);
	}
	return n;
}

const struct drv_ops drv_sock_ops = {
	.name = "socket",
	.worker_init = sock_worker_init,
	.worker_fini = sock_worker_fini,
	.poll = sock_poll,
	.conn_attach = sock_conn_attach,
	.conn_flush = sock_conn_flush,
	.conn_release = sock_conn_release,
	.wake = sock_wake,
};
