/* proc.c - process identity for lock ownership: pid plus a tag from the
 * start time, and the liveness test waiters use on a lock's owner. */
#ifndef MPS_USE_SYSTEM_LIB

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpsync_impl.h"

/* read_stat reads /proc/PID/stat: the start-time tag and the state.
 * Returns 0, -ENOENT (no such process) or another -errno. */
static int read_stat(int pid, uint32_t *tag, char *state)
{
    char path[32], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = mps__open_retry(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return fd;
    ssize_t n;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (err != 0)
        return err;
    buf[n] = '\0';
    /* "pid (comm) state ...": comm may hold spaces and parentheses. */
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -EINVAL;
    p += 2;
    *state = *p;
    /* Field 3 is the state; field 22 the start time: skip 19 fields. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            return -EINVAL;
        p++;
    }
    *tag = (uint32_t)strtoull(p, NULL, 10);
    return 0;
}

static uint64_t self_word;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void reset_self(void) { self_word = 0; }

static void init_self(void) { pthread_atfork(NULL, NULL, reset_self); }

MPS_HIDDEN uint64_t mps__self_word(void)
{
    uint64_t w = __atomic_load_n(&self_word, __ATOMIC_RELAXED);
    if (w != 0)
        return w;
    pthread_once(&self_once, init_self);
    uint32_t tag = 0;
    char state;
    int pid = (int)getpid();
    if (read_stat(pid, &tag, &state) != 0)
        abort(); /* no /proc: nothing of mpsync's locking can work */
    w = (uint64_t)(uint32_t)pid | (uint64_t)tag << 32;
    __atomic_store_n(&self_word, w, __ATOMIC_RELAXED);
    return w;
}

MPS_HIDDEN int mps__alive(uint64_t id)
{
    if (id == mps__self_word())
        return 1;
    uint32_t tag;
    char state;
    int err = read_stat((int)(id & 0x3fffffff), &tag, &state);
    if (err == -ENOENT || err == -ESRCH)
        return 0;
    if (err != 0)
        return 1; /* /proc hidden from us: assume alive */
    return tag == (uint32_t)(id >> 32) && state != 'Z' && state != 'X' && state != 'x';
}

#endif /* MPS_USE_SYSTEM_LIB */
