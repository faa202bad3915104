/* File operations the image writer needs beyond stdio: durable close, no-replace rename, directory fsync. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cic_private.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int cic_finish_file(FILE *fp, int do_fsync, char *err, size_t errlen) {
    int status = CIC_OK;
    if (fflush(fp) != 0) {
        cic_message(err, errlen, "write failed: %s", strerror(errno));
        status = CIC_ERR_IO;
    } else if (do_fsync && fsync(fileno(fp)) != 0) {
        cic_message(err, errlen, "fsync failed: %s", strerror(errno));
        status = CIC_ERR_IO;
    }
    if (fclose(fp) != 0 && status == CIC_OK) {
        cic_message(err, errlen, "close failed: %s", strerror(errno));
        status = CIC_ERR_IO;
    }
    return status;
}

int cic_rename_noreplace(const char *from, const char *to, char *err, size_t errlen) {
    /* The syscall directly: glibc's wrapper needs 2.28 headers, the kernel call has existed since 3.15. */
    long rc = syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (rc == 0) return CIC_OK;
    int e = errno;
    if (e == EEXIST) {
        cic_message(err, errlen, "%s already exists", to);
        return CIC_ERR_EXISTS;
    }
    if (e != EINVAL && e != ENOSYS && e != ENOTSUP) {
        cic_message(err, errlen, "cannot rename %s to %s: %s", from, to, strerror(e));
        return CIC_ERR_IO;
    }
    /* File systems without RENAME_NOREPLACE: link(2) also refuses to replace, then drop the old name. */
    if (link(from, to) != 0) {
        e = errno;
        cic_message(err, errlen, e == EEXIST ? "%s already exists" : "cannot link %s: %s", to, strerror(e));
        return e == EEXIST ? CIC_ERR_EXISTS : CIC_ERR_IO;
    }
    if (unlink(from) != 0) {
        cic_message(err, errlen, "published %s but cannot remove %s: %s", to, from, strerror(errno));
        return CIC_ERR_IO;
    }
    return CIC_OK;
}

int cic_fsync_directory(const char *path, char *err, size_t errlen) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        cic_message(err, errlen, "cannot open directory %s: %s", path, strerror(errno));
        return CIC_ERR_IO;
    }
    int status = CIC_OK;
    if (fsync(fd) != 0 && errno != EINVAL) { /* EINVAL: file systems that cannot sync directories */
        cic_message(err, errlen, "cannot fsync directory %s: %s", path, strerror(errno));
        status = CIC_ERR_IO;
    }
    close(fd);
    return status;
}
