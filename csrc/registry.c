/* registry.c - this process's resource-tracker registry: the names of the
 * objects it created or opened, in a sparse segment
 * /dev/shm/mps-reg-<pid>-<tag>-c that the tracker reads (see the Go
 * package internal/tracker for the layout and the tracker itself; Go code
 * in the same process keeps a registry of its own, without the -c).
 * Registering is a write to memory: a process killed right after creating
 * an object still has it listed. */
#ifndef MPS_USE_SYSTEM_LIB
#define _GNU_SOURCE /* POSIX_SPAWN_SETSID */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mpsync_impl.h"

enum {
    reg_header = 4096,
    reg_slot = 272, /* uint32 state, pad, uint64 inode, name[256] */
    reg_slots = 65536,
    off_high_mark = 16,
    off_ino = 8,
    off_name = 16,
};
static const size_t reg_size = (size_t)reg_header + (size_t)reg_slot * reg_slots;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *reg;       /* the mapping, or NULL */
static int reg_failed;           /* creating it failed: do not retry */
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

/* After fork the child must not write into its parent's registry. */
static void forget_registry(void)
{
    if (reg != NULL)
        munmap(reg, reg_size);
    reg = NULL;
    reg_failed = 0;
    pthread_mutex_init(&reg_mu, NULL);
}

static void install_atfork(void) { pthread_atfork(NULL, NULL, forget_registry); }

static char reg_path[MPS_PATH_MAX];

/* tracker_running reports whether this user's tracker accepts
 * connections on its abstract socket. */
static int tracker_running(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "mpsync-tracker-%u", (unsigned)getuid());
    int ok = connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) == 0;
    close(fd);
    return ok;
}

/* spawn_tracker starts mpsync-tracker ($MPSYNC_TRACKER, or the one `make
 * install` put beside the library, or found in PATH) in a session of its own with /dev/null for stdio, if no tracker
 * runs.  Failure is silent: the registry waits for a tracker to come. */
static void spawn_tracker(void)
{
    if (tracker_running())
        return;
    const char *exe = getenv("MPSYNC_TRACKER");
#ifdef MPS_TRACKER_DEFAULT
    if ((exe == NULL || exe[0] == '\0') && access(MPS_TRACKER_DEFAULT, X_OK) == 0)
        exe = MPS_TRACKER_DEFAULT; /* installed beside the library */
#endif
    if (exe == NULL || exe[0] == '\0')
        exe = "mpsync-tracker";
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    if (posix_spawnattr_init(&attr) != 0)
        return;
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
    posix_spawn_file_actions_init(&fa);
    for (int fd = 0; fd < 3; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    char *argv[] = {(char *)"mpsync-tracker", NULL};
    pid_t pid;
    extern char **environ;
    posix_spawnp(&pid, exe, &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
}

/* At a normal exit the registry is left to the tracker, which unlinks
 * what this process created or opened and nobody else uses; with no
 * tracker running (C programs do not start one), it is removed, so that
 * a process that exits leaves nothing of its own in /dev/shm. */
static void at_exit(void)
{
    if (reg != NULL && !tracker_running())
        unlink(reg_path);
}

static void open_registry(void)
{
    const char *off = getenv("MPSYNC_NO_TRACKER");
    if ((off != NULL && off[0] != '\0') || getenv("MPSYNC_TRACKER_ROLE") != NULL) {
        reg_failed = 1;
        return;
    }
    uint64_t self = mps__self_word();
    char *path = reg_path;
    snprintf(path, sizeof reg_path, "%smps-reg-%u-%u-c", MPS_SHM_DIR, (unsigned)(self & 0x3fffffff),
             (unsigned)(self >> 32));
    int fd = mps__open_retry(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        reg_failed = 1;
        return;
    }
    void *p = MAP_FAILED;
    if (ftruncate(fd, (off_t)reg_size) == 0)
        p = mmap(NULL, reg_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        unlink(path);
        reg_failed = 1;
        return;
    }
    reg = p;
    atexit(at_exit);
    spawn_tracker();
    memcpy(reg + 8, &self, 8);
    __atomic_store_n((uint64_t *)reg, *(const uint64_t *)"MPSREG1", __ATOMIC_RELEASE); /* last */
}

static uint32_t *slot_state(int i) { return (uint32_t *)(reg + reg_header + (size_t)i * reg_slot); }
static char *slot_name(int i) { return (char *)(reg + reg_header + (size_t)i * reg_slot + off_name); }

MPS_HIDDEN void mps__track(const char *name, uint64_t ino)
{
    pthread_once(&reg_once, install_atfork);
    if (strlen(name) >= 256 || strncmp(name, "mps-reg-", 8) == 0)
        return;
    pthread_mutex_lock(&reg_mu);
    if (reg == NULL && !reg_failed)
        open_registry();
    if (reg == NULL) {
        pthread_mutex_unlock(&reg_mu);
        return;
    }
    uint32_t *high = (uint32_t *)(reg + off_high_mark);
    uint32_t h = __atomic_load_n(high, __ATOMIC_RELAXED);
    int free_slot = -1;
    for (uint32_t i = 1; i < h; i++) {
        uint32_t st = __atomic_load_n(slot_state((int)i), __ATOMIC_RELAXED);
        if (st == 1 && strcmp(slot_name((int)i), name) == 0) {
            pthread_mutex_unlock(&reg_mu); /* one entry per name */
            return;
        }
        if (st == 0 && free_slot < 0)
            free_slot = (int)i;
    }
    if (free_slot < 0) {
        if (h == 0)
            h = 1;
        if (h >= reg_slots) {
            pthread_mutex_unlock(&reg_mu); /* full: untracked */
            return;
        }
        free_slot = (int)h;
        __atomic_store_n(high, h + 1, __ATOMIC_RELEASE);
    }
    memcpy(reg + reg_header + (size_t)free_slot * reg_slot + off_ino, &ino, 8);
    strcpy(slot_name(free_slot), name);
    __atomic_store_n(slot_state(free_slot), 1, __ATOMIC_RELEASE); /* last */
    pthread_mutex_unlock(&reg_mu);
}

MPS_HIDDEN void mps__forget(const char *name)
{
    pthread_mutex_lock(&reg_mu);
    if (reg != NULL) {
        uint32_t h = __atomic_load_n((uint32_t *)(reg + off_high_mark), __ATOMIC_RELAXED);
        for (uint32_t i = 1; i < h; i++)
            if (__atomic_load_n(slot_state((int)i), __ATOMIC_RELAXED) == 1 && strcmp(slot_name((int)i), name) == 0)
                __atomic_store_n(slot_state((int)i), 0, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&reg_mu);
}

#endif /* MPS_USE_SYSTEM_LIB */
