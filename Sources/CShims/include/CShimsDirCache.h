// A bounded cache of confined O_PATH descriptors beneath a donated root, and the stat that uses it.
#ifndef CSHIMS_DIRCACHE_H
#define CSHIMS_DIRCACHE_H

#include <linux/stat.h>  // struct statx

/// O_PATH descriptors (directories, and files stat'ed again) kept by relative path, each opened with openat2 beneath the root and recorded with its
/// (dev, ino); least recently used evicted (and closed) past the capacity. Thread-safe (an internal rwlock).
typedef struct cshims_dircache cshims_dircache;

/// A cache of at most `capacity` descriptors (>= 1); NULL with errno set when memory is short.
cshims_dircache *cshims_dircache_create(int capacity);
/// Closes every kept descriptor and frees the cache. No call may be running on it.
void cshims_dircache_destroy(cshims_dircache *cache);
/// Closes every kept descriptor.
void cshims_dircache_clear(cshims_dircache *cache);
/// Closes the descriptors of `path` (relative, canonical) and of everything beneath it.
void cshims_dircache_forget(cshims_dircache *cache, const char *path);
/// The number of descriptors kept.
int cshims_dircache_count(cshims_dircache *cache);

/// `cshims_stat_beneath` of the canonical relative `path` (no empty, "." or ".." component) through what is kept:
/// the file itself (one statx from `root`, its result used only when it has the kept (dev, ino)), else its parent (a
/// statx of the parent path from `root` must give the kept (dev, ino), then statx of the final name relative to the
/// kept descriptor, following nothing; a name stat'ed twice in a row this way is then kept itself). A miss, a
/// mismatch, a symlink to follow or any error takes `cshims_stat_beneath` (a miss or a mismatch first reopens the
/// parent beneath `root` with `resolve`). Returns 0 or -1 with errno set.
int cshims_stat_cached(cshims_dircache *cache, int root, const char *path, int follow, unsigned long long resolve,
                       unsigned int mask, struct statx *out);

#endif
