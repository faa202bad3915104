/* Helpers shared by the codec files (not part of the module's public header). */
#ifndef CIC_PRIVATE_H
#define CIC_PRIVATE_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "CImageCodecs.h"

/* printf into the caller's message buffer (always NUL-terminated, silently cut). */
static inline void cic_message(char *err, size_t errlen, const char *fmt, ...) {
    if (err == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Limits with defaults filled in. A single axis can never usefully exceed the pixel cap. */
static inline void cic_effective_limits(const cic_limits *in, cic_limits *out) {
    cic_limits l = {0};
    if (in) l = *in;
    if (l.max_pixels == 0) l.max_pixels = (uint64_t)1 << 27;
    if (l.max_dimension == 0) {
        l.max_dimension = l.max_pixels > 0x7fffffffu ? 0x7fffffffu : (uint32_t)l.max_pixels;
    }
    *out = l;
}

/* Opens `path` for writing, refusing to replace an existing file ("x" = O_EXCL). */
static inline FILE *cic_create_exclusive(const char *path, int *status, char *err, size_t errlen) {
    FILE *fp = fopen(path, "wbx");
    if (fp == NULL) {
        int e = errno;
        *status = (e == EEXIST) ? CIC_ERR_EXISTS : CIC_ERR_IO;
        cic_message(err, errlen, "cannot create: %s", strerror(e));
    }
    return fp;
}

/* Flushes, optionally fsyncs, and closes; returns CIC_OK or CIC_ERR_IO with the reason. */
int cic_finish_file(FILE *fp, int do_fsync, char *err, size_t errlen);

#endif
