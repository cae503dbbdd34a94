// The libfuse3 low-level API at version 3.5, plus what Swift cannot call directly: the FUSE_ARGS_INIT macro and
// the bit fields of fuse_file_info.
#ifndef CFUSE3_SHIM_H
#define CFUSE3_SHIM_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <stddef.h>

/// A session over `argv` (argv[0] a program name, then "-o" options); NULL when the options are refused.
static inline struct fuse_session *cfuse_session_new(int argc, char **argv, const struct fuse_lowlevel_ops *ops,
                                                     void *userdata) {
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_session *se = fuse_session_new(&args, ops, sizeof(*ops), userdata);
    fuse_opt_free_args(&args);
    return se;
}

/// Sets the open reply's cache flags.
static inline void cfuse_set_open_flags(struct fuse_file_info *fi, int keep_cache, int direct_io, int cache_readdir) {
    fi->keep_cache = keep_cache ? 1 : 0;
    fi->direct_io = direct_io ? 1 : 0;
    fi->cache_readdir = cache_readdir ? 1 : 0;
}

/// The `FUSE_SET_ATTR_*` bits a setattr carries, spelled once for Swift.
enum {
    CFUSE_SET_ATTR_MODE = FUSE_SET_ATTR_MODE,
    CFUSE_SET_ATTR_UID = FUSE_SET_ATTR_UID,
    CFUSE_SET_ATTR_GID = FUSE_SET_ATTR_GID,
    CFUSE_SET_ATTR_SIZE = FUSE_SET_ATTR_SIZE,
    CFUSE_SET_ATTR_ATIME = FUSE_SET_ATTR_ATIME,
    CFUSE_SET_ATTR_MTIME = FUSE_SET_ATTR_MTIME,
    CFUSE_SET_ATTR_ATIME_NOW = FUSE_SET_ATTR_ATIME_NOW,
    CFUSE_SET_ATTR_MTIME_NOW = FUSE_SET_ATTR_MTIME_NOW,
    CFUSE_SET_ATTR_CTIME = FUSE_SET_ATTR_CTIME,
};

#endif
