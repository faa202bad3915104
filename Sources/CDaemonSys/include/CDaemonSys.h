// Linux system calls the daemon needs that Swift's Glibc module does not expose: glibc declares them only
// under _GNU_SOURCE, and `syscall(2)` is variadic, which Swift cannot call.
#ifndef CDAEMONSYS_H
#define CDAEMONSYS_H

/// renameat2(from, to, RENAME_NOREPLACE) relative to the working directory. Returns 0 or -1 with errno set
/// (EEXIST when `to` exists, EINVAL/ENOSYS on file systems or kernels without the flag).
int n2spd_rename_noreplace(const char *from, const char *to);

/// Puts the calling thread in the idle I/O scheduling class (ioprio_set, IOPRIO_WHO_PROCESS = thread id).
/// Returns 0 or -1 with errno set.
int n2spd_set_thread_io_idle(void);

/// The calling thread's kernel thread id.
int n2spd_gettid(void);

/// pipe2(fds, O_CLOEXEC | O_NONBLOCK).
int n2spd_pipe_nonblocking(int fds[2]);

#endif
