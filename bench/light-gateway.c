/*
 * light-gateway: the smallest gateway-like server, for control-plane benchmarks (bench/control.mjs).
 *
 *   cc -O2 -o /tmp/…/light-gateway bench/light-gateway.c     (built at bench time; never commit the binary)
 *   light-gateway PORT [--close]
 *
 * Listens on 127.0.0.1:PORT (SO_REUSEADDR) and answers every request, whatever its method or path, with
 *   HTTP/1.1 200 OK / Content-Length: 2 / "ok"
 * once it has read the request head (up to the blank line). Like the HTTP servers real gateways use
 * (OpenClaw's is Node's), it keeps the connection open for the next request (HTTP/1.1 keep-alive) and
 * closes one that stays idle for IDLE_TIMEOUT_MS; with --close it answers `Connection: close` and closes
 * after every answer, so that each probe costs a whole TCP connection. One poll loop, up to MAX_CLIENTS
 * connections at once (the oldest is dropped past that), no allocation after start. SIGTERM has its
 * default action (exit), so a supervisor stops it at once. About 1 MB RSS.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 8
#define HEAD_MAX 4096
#define IDLE_TIMEOUT_MS 10000

static const char KEEP_ALIVE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
static const char CLOSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

struct client {
  int fd; /* -1: free slot */
  size_t len;
  long long last_ms;
  char buf[HEAD_MAX];
};

static struct client clients[MAX_CLIENTS];

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drop(struct client *c) {
  close(c->fd);
  c->fd = -1;
  c->len = 0;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    data += n;
    len -= (size_t)n;
  }
  return 1;
}

/* Reads what arrived; answers each complete head. Returns 0 when the connection is done. */
static int serve(struct client *c, int close_each) {
  ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1, 0);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 1;
  if (n <= 0) return 0;
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  c->last_ms = now_ms();
  for (;;) {
    char *end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL) return c->len < sizeof c->buf - 1; /* a head too large: give up on it */
    size_t head = (size_t)(end - c->buf) + 4;
    int wants_close = close_each || strcasestr(c->buf, "\r\nconnection: close") != NULL;
    if (!write_all(c->fd, wants_close ? CLOSE : KEEP_ALIVE, (wants_close ? sizeof CLOSE : sizeof KEEP_ALIVE) - 1)) return 0;
    if (wants_close) {
      shutdown(c->fd, SHUT_WR);
      return 0;
    }
    memmove(c->buf, c->buf + head, c->len - head);
    c->len -= head;
    c->buf[c->len] = '\0';
  }
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--close") != 0)) {
    fprintf(stderr, "usage: %s PORT [--close]\n", argv[0]);
    return 2;
  }
  int close_each = argc == 3;
  char *end;
  long port = strtol(argv[1], &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "light-gateway: bad port %s\n", argv[1]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;

  int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server < 0) {
    perror("light-gateway: socket");
    return 1;
  }
  int one = 1;
  setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(server, (struct sockaddr *)&addr, sizeof addr) < 0) {
    fprintf(stderr, "light-gateway: bind 127.0.0.1:%ld: %s\n", port, strerror(errno));
    return 1;
  }
  if (listen(server, 128) < 0) {
    perror("light-gateway: listen");
    return 1;
  }
  fprintf(stderr, "light-gateway: pid %ld listening on 127.0.0.1:%ld%s\n", (long)getpid(), port, close_each ? " (Connection: close)" : "");

  for (;;) {
    struct pollfd fds[MAX_CLIENTS + 1];
    int slot[MAX_CLIENTS + 1];
    int nfds = 0;
    fds[nfds].fd = server;
    fds[nfds].events = POLLIN;
    slot[nfds++] = -1;
    for (int i = 0; i < MAX_CLIENTS; i++) {
      if (clients[i].fd < 0) continue;
      fds[nfds].fd = clients[i].fd;
      fds[nfds].events = POLLIN;
      slot[nfds++] = i;
    }
    int r = poll(fds, (nfds_t)nfds, 1000);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("light-gateway: poll");
      return 1;
    }
    long long now = now_ms();
    for (int k = 1; k < nfds; k++) {
      struct client *c = &clients[slot[k]];
      if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
        if (!serve(c, close_each)) drop(c);
      } else if (now - c->last_ms > IDLE_TIMEOUT_MS) {
        drop(c);
      }
    }
    if (fds[0].revents & POLLIN) {
      int fd = accept4(server, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) continue; /* EINTR, ECONNABORTED, EMFILE …: try again at the next poll */
      int free_slot = -1, oldest = 0;
      for (int i = 0; i < MAX_CLIENTS; i++) {
        if (clients[i].fd < 0) {
          free_slot = i;
          break;
        }
        if (clients[i].last_ms < clients[oldest].last_ms) oldest = i;
      }
      if (free_slot < 0) {
        drop(&clients[oldest]);
        free_slot = oldest;
      }
      clients[free_slot].fd = fd;
      clients[free_slot].len = 0;
      clients[free_slot].last_ms = now;
    }
  }
}
