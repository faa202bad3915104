#define _GNU_SOURCE
#include "CDaemonSys.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

int n2spd_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

int n2spd_set_thread_io_idle(void) {
    /* include/uapi/linux/ioprio.h: class IDLE = 3, shifted by IOPRIO_CLASS_SHIFT = 13; WHO_PROCESS = 1. */
    const int ioprio_who_process = 1, ioprio_class_idle = 3, ioprio_class_shift = 13;
    return (int)syscall(SYS_ioprio_set, ioprio_who_process, (int)syscall(SYS_gettid),
                        ioprio_class_idle << ioprio_class_shift);
}

int n2spd_gettid(void) { return (int)syscall(SYS_gettid); }

int n2spd_pipe_nonblocking(int fds[2]) { return pipe2(fds, O_CLOEXEC | O_NONBLOCK); }
