// floor9p: the least a 9P server can do for diodload -g, as a yardstick for scripts/diodload-compare --floor.
//
// Per request: one recv, one fstat for Tgetattr, one send, on one thread per connection, with no fid table,
// no framing layer and no locks. Every fid names the exported file given on the command line. It answers only
// what diodload's getattr mode sends (Tversion, Tauth, Tattach, Twalk, Tgetattr, Tclunk; anything else gets
// Rlerror ENOSYS), so it is a measuring tool, not a server. It listens on 127.0.0.1 only.
//   floor9p FILE PORT
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { bufferSize = 65536, headerSize = 7 };
static const char *exported;

static void put2(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put4(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put8(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get4(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

// A QID for the stat: type, version 0, path = inode (13 bytes).
static size_t qid(uint8_t *p, const struct stat *st) {
    p[0] = S_ISDIR(st->st_mode) ? 0x80 : 0;
    put4(p + 1, 0);
    put8(p + 5, (uint64_t)st->st_ino);
    return 13;
}

// Rgetattr body: valid, qid, mode uid gid, nlink rdev size blksize blocks, 4 times, gen and data_version (153 bytes).
static size_t attr(uint8_t *p, uint64_t mask, const struct stat *st) {
    uint8_t *start = p;
    put8(p, mask); p += 8;
    p += qid(p, st);
    put4(p, st->st_mode); put4(p + 4, st->st_uid); put4(p + 8, st->st_gid); p += 12;
    put8(p, st->st_nlink); put8(p + 8, st->st_rdev); put8(p + 16, (uint64_t)st->st_size);
    put8(p + 24, (uint64_t)st->st_blksize); put8(p + 32, (uint64_t)st->st_blocks); p += 40;
    const struct timespec *t[] = {&st->st_atim, &st->st_mtim, &st->st_ctim};
    for (int i = 0; i < 3; i++) { put8(p, (uint64_t)t[i]->tv_sec); put8(p + 8, (uint64_t)t[i]->tv_nsec); p += 16; }
    memset(p, 0, 32); p += 32;  // btime, gen, data_version
    return (size_t)(p - start);
}

static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg, one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int file = open(exported, O_PATH | O_CLOEXEC);
    static __thread uint8_t in[bufferSize], out[bufferSize];
    size_t have = 0;
    while (file >= 0) {
        // Read until one whole request is buffered.
        while (have < headerSize || have < get4(in)) {
            if (have >= headerSize && (get4(in) < headerSize || get4(in) > bufferSize)) goto done;  // malformed
            ssize_t n = recv(fd, in + have, bufferSize - have, 0);
            if (n <= 0) goto done;
            have += (size_t)n;
        }
        uint32_t size = get4(in);
        uint8_t type = in[4], *body = in + headerSize;
        size_t len = headerSize;
        struct stat st;
        switch (type) {
        case 100: {  // Tversion: msize (at most ours), version echoed
            uint32_t msize = get4(body);
            uint16_t vlen;
            memcpy(&vlen, body + 4, 2);
            if (size < headerSize + 6u + vlen) goto done;
            put4(out + 7, msize < bufferSize ? msize : bufferSize);
            memcpy(out + 11, body + 4, 2u + vlen);
            len = 11u + 2u + vlen;
            out[4] = 101;
            break;
        }
        case 102: put4(out + 7, ENOENT); len = 11; out[4] = 7; break;  // Tauth: no authentication, as diod -n
        case 104: fstat(file, &st); len += qid(out + 7, &st); out[4] = 105; break;  // Tattach
        case 110: {  // Twalk: one QID per name (every name is the exported file)
            uint16_t names;
            memcpy(&names, body + 8, 2);
            if (names > 16) goto done;
            put2(out + 7, names);
            len = 9;
            for (int i = 0; i < names; i++) { fstat(file, &st); len += qid(out + len, &st); }
            out[4] = 111;
            break;
        }
        case 24: {  // Tgetattr
            uint64_t mask;
            memcpy(&mask, body + 4, 8);
            fstat(file, &st);
            len += attr(out + 7, mask, &st);
            out[4] = 25;
            break;
        }
        case 120: out[4] = 121; break;  // Tclunk
        default: put4(out + 7, ENOSYS); len = 11; out[4] = 7; break;
        }
        put4(out, (uint32_t)len);
        memcpy(out + 5, in + 5, 2);  // the tag
        if (send(fd, out, len, MSG_NOSIGNAL) != (ssize_t)len) break;
        memmove(in, in + size, have - size);
        have -= size;
    }
done:
    close(fd);
    if (file >= 0) close(file);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: floor9p FILE PORT\n"); return 64; }
    exported = argv[1];
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) { perror("floor9p"); return 1; }
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)c) != 0) { close(c); continue; }
        pthread_detach(t);
    }
}
