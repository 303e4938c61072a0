/*
 * libfido2 I/O functions (fido_dev_set_io_functions) that carry its 64-byte CTAPHID reports as UDP
 * datagrams to `tokensim fido2 serve`; shared by fido2_udp_driver.c and sk_udp_provider.c.  The
 * including file writes udp_open(), which finds the host and port and calls udp_connect().
 */
#ifndef TOKENSIM_UDP_TRANSPORT_H
#define TOKENSIM_UDP_TRANSPORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct udp { int fd; };

/* a handle on a UDP socket connected to host:port (an IPv4 address), or NULL */
static void *udp_connect(const char *host, int port) {
	struct udp *u = calloc(1, sizeof(*u));
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (u == NULL || inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (u->fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) { free(u); return NULL; }
	if (connect(u->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { close(u->fd); free(u); return NULL; }
	return u;
}

static void udp_close(void *h) { struct udp *u = h; close(u->fd); free(u); }

static int udp_read(void *h, unsigned char *buf, size_t len, int ms) {
	struct udp *u = h;
	struct pollfd p = { .fd = u->fd, .events = POLLIN };
	if (poll(&p, 1, ms < 0 ? 10000 : ms) <= 0) return -1;
	ssize_t n = recv(u->fd, buf, len, 0);
	return n < 0 ? -1 : (int)n;
}

static int udp_write(void *h, const unsigned char *buf, size_t len) {
	struct udp *u = h;
	/* libfido2 prefixes the report ID (0): the datagram is the 64-byte report itself */
	const unsigned char *report = len == 65 ? buf + 1 : buf;
	size_t n = len == 65 ? 64 : len;
	return send(u->fd, report, n, 0) == (ssize_t)n ? (int)len : -1;
}

#endif
