#define _GNU_SOURCE
#include "CShims.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Why a stat through a kept descriptor stays confined: every kept descriptor was opened confined, by openat2 beneath
// the root (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, final component not followed) or by openat of one plain
// component (no '/', not "." or "..", O_NOFOLLOW) of a kept directory just validated. A validation statx from the root
// walks the path unconfined, but its result is used only when it has the kept descriptor's (dev, ino), that is when
// it is the very inode the kept descriptor holds (its number cannot be reused while the descriptor is open): the
// attributes returned are that confined file's, and a walk that went elsewhere finds another inode and falls back.
// Through a kept parent, the final statx is relative to it with one plain component and AT_SYMLINK_NOFOLLOW: an
// entry of a directory opened confined. A symlink to follow always goes to openat2.

struct entry {
    char *path;  // NUL-terminated parent path, relative to the root (NULL: free slot)
    size_t len;
    uint64_t hash;
    int fd;
    uint32_t dev_major, dev_minor;
    uint64_t ino;
    uint64_t used;  // LRU stamp; written under the read lock, so atomically
    uint64_t last;  // hash of the last name stat'ed through it (atomic too): a second stat of it keeps that file
};

struct cshims_dircache {
    pthread_rwlock_t lock;  // read: lookups and the stats through an entry; write: inserting, evicting, closing
    int capacity;
    int count;              // entries [0, count) are in use
    uint64_t clock;
    struct entry *entries;
};

cshims_dircache *cshims_dircache_create(int capacity) {
    if (capacity < 1) { errno = EINVAL; return NULL; }
    cshims_dircache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->entries = calloc((size_t)capacity, sizeof(struct entry));
    if (!c->entries) { free(c); errno = ENOMEM; return NULL; }
    c->capacity = capacity;
    pthread_rwlock_init(&c->lock, NULL);
    return c;
}

static void drop(cshims_dircache *c, int i) {
    close(c->entries[i].fd);
    free(c->entries[i].path);
    c->entries[i] = c->entries[--c->count];
    memset(&c->entries[c->count], 0, sizeof(struct entry));
}

void cshims_dircache_clear(cshims_dircache *c) {
    pthread_rwlock_wrlock(&c->lock);
    while (c->count > 0) drop(c, c->count - 1);
    pthread_rwlock_unlock(&c->lock);
}

void cshims_dircache_destroy(cshims_dircache *c) {
    if (!c) return;
    cshims_dircache_clear(c);
    pthread_rwlock_destroy(&c->lock);
    free(c->entries);
    free(c);
}

void cshims_dircache_forget(cshims_dircache *c, const char *path) {
    size_t n = strlen(path);
    int all = n == 0 || (n == 1 && path[0] == '.');
    pthread_rwlock_wrlock(&c->lock);
    for (int i = c->count - 1; i >= 0; i--) {
        struct entry *e = &c->entries[i];
        if (all || (e->len >= n && memcmp(e->path, path, n) == 0 && (e->len == n || e->path[n] == '/'))) drop(c, i);
    }
    pthread_rwlock_unlock(&c->lock);
}

int cshims_dircache_count(cshims_dircache *c) {
    pthread_rwlock_rdlock(&c->lock);
    int n = c->count;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

// FNV-1a of a path, or 0 when a component is empty, "." or ".." (such a path never takes a kept route).
static uint64_t path_hash(const char *p, size_t len) {
    uint64_t h = 1469598103934665603ULL;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || p[i] == '/') {
            size_t n = i - start;
            if (n == 0 || (p[start] == '.' && (n == 1 || (n == 2 && p[start + 1] == '.')))) return 0;
            start = i + 1;
        }
        if (i < len) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    }
    return h | 1;
}

static int find(cshims_dircache *c, const char *p, size_t len, uint64_t h) {
    for (int i = 0; i < c->count; i++) {
        struct entry *e = &c->entries[i];
        if (e->hash == h && e->len == len && memcmp(e->path, p, len) == 0) return i;
    }
    return -1;
}

static int plain_name(const char *name) {
    return name[0] != 0 && !(name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)));
}

// Keeps `fd` (its (dev, ino) read now) for `path`, replacing a kept one of that path and evicting the least recently
// used at capacity; `fd` < 0 only drops what was kept for `path`. Takes the write lock.
static void keep(cshims_dircache *c, const char *path, size_t len, uint64_t h, int fd) {
    struct statx st;
    if (fd >= 0 && cshims_fstatx(fd, STATX_INO, &st) != 0) {
        close(fd);
        fd = -1;
    }
    char *copy = fd >= 0 ? malloc(len + 1) : NULL;
    if (fd >= 0 && !copy) {
        close(fd);
        fd = -1;
    }
    pthread_rwlock_wrlock(&c->lock);
    int i = find(c, path, len, h);
    if (i >= 0) drop(c, i);
    if (fd < 0) {
        pthread_rwlock_unlock(&c->lock);
        return;
    }
    if (c->count == c->capacity) {
        int lru = 0;
        for (int j = 1; j < c->count; j++)
            if (__atomic_load_n(&c->entries[j].used, __ATOMIC_RELAXED) <
                __atomic_load_n(&c->entries[lru].used, __ATOMIC_RELAXED)) lru = j;
        drop(c, lru);
    }
    memcpy(copy, path, len);
    copy[len] = 0;
    struct entry *e = &c->entries[c->count++];
    e->path = copy;
    e->len = len;
    e->hash = h;
    e->fd = fd;
    e->dev_major = st.stx_dev_major;
    e->dev_minor = st.stx_dev_minor;
    e->ino = st.stx_ino;
    e->last = 0;
    e->used = __atomic_add_fetch(&c->clock, 1, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&c->lock);
}

// Whether `v` is the inode entry `e` holds.
static int same(const struct entry *e, const struct statx *v) {
    return v->stx_ino == e->ino && v->stx_dev_major == e->dev_major && v->stx_dev_minor == e->dev_minor;
}

int cshims_stat_cached(cshims_dircache *c, int root, const char *path, int follow, unsigned long long resolve,
                       unsigned int mask, struct statx *out) {
    const int nofollow = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!plain_name(name)) return cshims_stat_beneath(root, path, follow, resolve, mask, out);
    if (!slash) {
        // A plain name of the root itself: one component relative to the root, nothing followed.
        if (statx(root, name, nofollow, mask, out) == 0 && !(follow && S_ISLNK(out->stx_mode))) return 0;
        return cshims_stat_beneath(root, path, follow, resolve, mask, out);
    }
    size_t len = (size_t)(slash - path), full = len + 1 + strlen(name);
    uint64_t h = path_hash(path, len), hf = path_hash(path, full), hn = path_hash(name, full - len - 1);
    if (h == 0 || hf == 0) return cshims_stat_beneath(root, path, follow, resolve, mask, out);

    pthread_rwlock_rdlock(&c->lock);
    // The file itself kept (stat'ed before through its parent): one statx, used when it is that file.
    int i = find(c, path, full, hf);
    if (i >= 0) {
        struct entry *e = &c->entries[i];
        struct statx v;  // copied out only when it is the kept file's
        if (statx(root, e->path, nofollow, mask, &v) == 0 && same(e, &v)) {
            __atomic_store_n(&e->used, __atomic_add_fetch(&c->clock, 1, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
            pthread_rwlock_unlock(&c->lock);
            *out = v;
            if (!(follow && S_ISLNK(out->stx_mode))) return 0;
            return cshims_stat_beneath(root, path, follow, resolve, mask, out);
        }
        pthread_rwlock_unlock(&c->lock);
        keep(c, path, full, hf, -1);  // no longer what the path names
        pthread_rwlock_rdlock(&c->lock);
    }
    // Its parent kept: validated by one statx from the root, then the name relative to it.
    i = find(c, path, len, h);
    if (i >= 0) {
        struct entry *e = &c->entries[i];
        struct statx v;
        if (statx(root, e->path, nofollow, STATX_INO, &v) == 0 && same(e, &v)) {
            __atomic_store_n(&e->used, __atomic_add_fetch(&c->clock, 1, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
            int r = statx(e->fd, name, nofollow, mask, out);
            // A name stat'ed twice in a row through its parent is kept itself: one component, nothing followed.
            int again = r == 0 && __atomic_exchange_n(&e->last, hn, __ATOMIC_RELAXED) == hn;
            int fd = again ? openat(e->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC) : -1;
            pthread_rwlock_unlock(&c->lock);
            if (fd >= 0) keep(c, path, full, hf, fd);
            if (r == 0 && !(follow && S_ISLNK(out->stx_mode))) return 0;
            return cshims_stat_beneath(root, path, follow, resolve, mask, out);
        }
    }
    pthread_rwlock_unlock(&c->lock);
    // Missing or no longer what the path names: the parent reopened beneath the root (or dropped), then openat2.
    char stackbuf[256];
    char *parent = len < sizeof(stackbuf) ? stackbuf : malloc(len + 1);
    if (parent) {
        memcpy(parent, path, len);
        parent[len] = 0;
        keep(c, path, len, h, cshims_openat2(root, parent, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, resolve));
        if (parent != stackbuf) free(parent);
    }
    return cshims_stat_beneath(root, path, follow, resolve, mask, out);
}
