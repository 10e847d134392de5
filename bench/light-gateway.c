/*
 * light-gateway: the smallest gateway-like server, for control-plane benchmarks (bench/control.mjs).
 *
 *   cc -O2 -o /tmp/…/light-gateway bench/light-gateway.c     (built at bench time; never commit the binary)
 *   light-gateway PORT
 *
 * Listens on 127.0.0.1:PORT (SO_REUSEADDR) and answers every request, whatever its method or path, with
 *   HTTP/1.1 200 OK / Content-Length: 2 / Connection: close / "ok"
 * once it has read the request head (up to the blank line). One connection at a time: a poll/accept
 * loop, and a client that sends no complete head within 1 s is dropped. SIGTERM has its default action
 * (exit), so a supervisor stops it at once. About 1 MB RSS, no allocation after start.
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
#include <unistd.h>

#define HEAD_TIMEOUT_MS 1000

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

/* Reads until the end of the request head ("\r\n\r\n"), EOF, an error or the timeout. Returns 1 on a complete head. */
static int read_head(int fd) {
  char buf[4096];
  size_t len = 0;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, HEAD_TIMEOUT_MS);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    /* Keep the last 3 bytes of the previous read so a terminator split across reads is found. */
    if (len > sizeof buf - 512) {
      memmove(buf, buf + len - 3, 3);
      len = 3;
    }
    ssize_t n = recv(fd, buf + len, sizeof buf - len - 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    size_t from = len >= 3 ? len - 3 : 0;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf + from, "\r\n\r\n") != NULL) return 1;
  }
}

static void write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    len -= (size_t)n;
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  char *end;
  long port = strtol(argv[1], &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "light-gateway: bad port %s\n", argv[1]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);

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
  fprintf(stderr, "light-gateway: pid %ld listening on 127.0.0.1:%ld\n", (long)getpid(), port);

  for (;;) {
    struct pollfd p = {.fd = server, .events = POLLIN};
    int r = poll(&p, 1, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      perror("light-gateway: poll");
      return 1;
    }
    int client = accept4(server, NULL, NULL, SOCK_CLOEXEC);
    if (client < 0) continue; /* EINTR, ECONNABORTED, EMFILE …: try again at the next poll */
    if (read_head(client)) write_all(client, RESPONSE, sizeof RESPONSE - 1);
    shutdown(client, SHUT_WR);
    close(client);
  }
}
