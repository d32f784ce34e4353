/* registry.c - the resource tracker's client: the names of the objects
 * this process created or opened, listed in its registry (the file behind
 * its identity, see proc.c and mpsync.h), and the connection to the
 * user's tracker, whose end tells the tracker the instant this process
 * dies.  Go programs use this same code through cgo.  Registering is a
 * write to memory: a process killed right after creating an object still
 * has it listed. */
#ifndef MPS_USE_SYSTEM_LIB
#define _GNU_SOURCE /* POSIX_SPAWN_SETSID, POLLRDHUP, fallocate */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mpsync_impl.h"

enum {
    hash_buckets = 16384,
    reserve_chunk = 64 * 1024, /* registry bytes given room at a time */
    tracker_recheck_ns = 1000000000, /* how often Track looks at the connection */
};

/* index is this process's private index of its registry: name hash
 * chains and a free list, threaded through next[]. */
struct index {
    int32_t bucket[hash_buckets]; /* first slot of each chain, 0 none */
    int32_t next[MPS_REG_SLOTS];  /* next slot in the chain, or in the free list */
    int32_t free_head;            /* a freed slot, 0 none */
    uint32_t high;                /* one past the highest slot ever used */
    size_t reserved;              /* registry bytes given room so far */
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct index *idx;
static unsigned char *reg;
static int tracking = -1;        /* -1 not decided, 0 off, 1 on */
static int tracker_fd = -1;      /* connection to the tracker */
static int64_t tracker_checked;  /* CLOCK_MONOTONIC_COARSE ns of the last look */
static char *tracker_exe;        /* set by Go programs: re-run this binary */
static pid_t tracker_child;      /* the tracker this process started, not yet reaped */
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static uint64_t generation;      /* see mps__track_generation; written under reg_mu */

static void child_after_fork(void)
{
    free(idx);
    idx = NULL;
    reg = NULL;
    if (tracker_fd >= 0)
        close(tracker_fd);
    tracker_fd = -1;
    tracker_checked = 0;
    tracker_child = 0; /* the parent's child, not ours */
    __atomic_store_n(&tracking, -1, __ATOMIC_RELAXED); /* a new process: it reads its environment anew */
    pthread_mutex_init(&reg_mu, NULL);
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE); /* the parent's entries are gone */
}

static void init_once(void) { pthread_atfork(NULL, NULL, child_after_fork); }

static int64_t coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- finding, starting and watching the tracker ---- */

static int is_hex16(const char *s)
{
    for (int i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[16] == '\0';
}

/* tracker_published reports whether /dev/shm/<entry> is a live tracker's
 * file of this user: ours, and its liveness lock held. */
static int tracker_published(const char *entry)
{
    char path[MPS_PATH_MAX];
    mps__shm_path(entry, path);
    int fd = mps__open_retry(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0)
        return 0;
    struct stat st;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid() &&
             mps__alive_lock(fd, 0) == 1;
    close(fd);
    return ok;
}

/* dial_tracker connects to the tracker behind entry ("mps-trk-<hex>"),
 * whose abstract socket has the same name, checks that it runs as this
 * user, and introduces this process by its identity (0: a probe). */
static int dial_tracker(const char *entry, uint64_t id)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t n = strlen(entry);
    memcpy(a.sun_path + 1, entry, n); /* abstract: a leading NUL */
    struct ucred cred;
    socklen_t len = sizeof cred;
    int err = 0;
    if (connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        err = -errno;
    else if (cred.uid != getuid())
        err = -EPERM; /* someone else's socket: not our tracker */
    else if (send(fd, &id, sizeof id, MSG_NOSIGNAL) != (ssize_t)sizeof id)
        err = -EPIPE;
    if (err != 0) {
        close(fd);
        return err;
    }
    return fd;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

MPS_DOOR int mps__tracker_find(const char *except, uint64_t id, char *found)
{
    enum { max_candidates = 16 };
    char cand[max_candidates][32];
    int n = 0;
    DIR *d = opendir(MPS_SHM_DIR);
    if (d == NULL)
        return -errno;
    size_t plen = strlen(MPS_TRK_PREFIX);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max_candidates) {
        if (strncmp(e->d_name, MPS_TRK_PREFIX, plen) != 0 || !is_hex16(e->d_name + plen))
            continue;
        if (except != NULL && strcmp(e->d_name, except) == 0)
            continue;
        if (tracker_published(e->d_name))
            strcpy(cand[n++], e->d_name);
    }
    closedir(d);
    /* The same order everywhere: when two trackers run, everyone
     * prefers the same one and the other retires. */
    qsort(cand, (size_t)n, sizeof cand[0], by_name);
    for (int i = 0; i < n; i++) {
        int fd = dial_tracker(cand[i], id);
        if (fd >= 0) {
            if (found != NULL)
                strcpy(found, cand[i]);
            return fd;
        }
    }
    return -ENOENT;
}

/* spawn_tracker starts a tracker in a session of its own with /dev/null
 * for stdio: this program's binary in the tracker role when Go set one,
 * else $MPSYNC_TRACKER, the one `make install` put beside the library, or
 * mpsync-tracker from PATH.  Returns whether one was started; failure is
 * otherwise silent: the registry waits for a tracker to come. */
static int spawn_tracker(void)
{
    extern char **environ;
    const char *exe = tracker_exe;
    if (exe == NULL)
        exe = getenv("MPSYNC_TRACKER");
#ifdef MPS_TRACKER_DEFAULT
    if ((exe == NULL || exe[0] == '\0') && access(MPS_TRACKER_DEFAULT, X_OK) == 0)
        exe = MPS_TRACKER_DEFAULT;
#endif
    if (exe == NULL || exe[0] == '\0')
        exe = "mpsync-tracker";
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 2, sizeof *env);
    if (env == NULL)
        return 0;
    memcpy(env, environ, n * sizeof *env);
    env[n] = (char *)"MPSYNC_TRACKER_ROLE=1";
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    int started = 0;
    if (posix_spawnattr_init(&attr) == 0) {
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
        posix_spawn_file_actions_init(&fa);
        for (int fd = 0; fd < 3; fd++)
            posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
        char *argv[] = {(char *)"mpsync-tracker", NULL};
        pid_t pid;
        started = posix_spawnp(&pid, exe, &fa, &attr, argv, env) == 0;
        if (started)
            tracker_child = pid;
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
    }
    free(env);
    return started;
}

/* hung_up reports whether the tracker's end of fd is gone (the tracker
 * never writes: anything readable is the end). */
static int hung_up(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return poll(&p, 1, 0) != 0;
}

/* reap_tracker collects the exit status of the tracker this process
 * started, once it has ended (it outlives its starter as a rule, but
 * retires when another tracker serves, and may be killed): without it the
 * tracker would stay a zombie as long as this process runs.  It waits for
 * that one pid only, never for the program's own children. */
static void reap_tracker(void)
{
    if (tracker_child > 0 && waitpid(tracker_child, NULL, WNOHANG) != 0)
        tracker_child = 0;
}

/* ensure_tracker keeps a connection to a tracker, starting one when none
 * runs.  Called with reg_mu held; a failure leaves tracker_fd < 0. */
static void ensure_tracker(uint64_t id)
{
    reap_tracker();
    if (tracker_fd >= 0 && !hung_up(tracker_fd))
        return;
    if (tracker_fd >= 0)
        close(tracker_fd);
    tracker_fd = mps__tracker_find(NULL, id, NULL);
    if (tracker_fd >= 0)
        return;
    /* The tracker this process started, if that is the one that just
     * ended, may take a moment to become reapable: wait for it (briefly)
     * before another takes its place in tracker_child. */
    for (int i = 0; i < 50 && tracker_child > 0; i++) {
        struct timespec ts = {0, 2 * 1000000};
        nanosleep(&ts, NULL);
        reap_tracker();
    }
    if (!spawn_tracker())
        return;
    for (int i = 0; i < 200 && tracker_fd < 0; i++) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
        tracker_fd = mps__tracker_find(NULL, id, NULL);
    }
}

MPS_DOOR void mps__set_tracker_exe(const char *exe)
{
    pthread_mutex_lock(&reg_mu);
    free(tracker_exe);
    tracker_exe = exe != NULL ? strdup(exe) : NULL;
    pthread_mutex_unlock(&reg_mu);
}

MPS_DOOR int mps__tracker_watch(void)
{
    pthread_mutex_lock(&reg_mu);
    if (tracking != 1) {
        pthread_mutex_unlock(&reg_mu);
        return -ENOTCONN;
    }
    int fd = tracker_fd >= 0 ? fcntl(tracker_fd, F_DUPFD_CLOEXEC, 0) : -1;
    pthread_mutex_unlock(&reg_mu);
    if (fd >= 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
        while (poll(&p, 1, -1) < 0 && errno == EINTR)
            ;
        close(fd);
    } else {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    uint64_t id;
    if (mps__self(&id) != 0)
        return -ENOENT;
    pthread_mutex_lock(&reg_mu);
    ensure_tracker(id);
    int ok = tracker_fd >= 0;
    pthread_mutex_unlock(&reg_mu);
    return ok ? 0 : -ENOENT;
}

/* ---- the registry's slots ---- */

static unsigned char *slot(int32_t i) { return reg + MPS_REG_HEADER_SIZE + (size_t)i * MPS_REG_SLOT_SIZE; }
static uint32_t *slot_state(int32_t i) { return (uint32_t *)slot(i); }
static char *slot_name(int32_t i) { return (char *)slot(i) + MPS_REG_SLOT_OFF_NAME; }

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % hash_buckets;
}

/* lookup returns the slot listing name, or 0; *link is where it is
 * linked from, for removal. */
static int32_t lookup(const char *name, int32_t **link)
{
    int32_t *p = &idx->bucket[hash(name)];
    while (*p != 0 && strcmp(slot_name(*p), name) != 0)
        p = &idx->next[*p];
    *link = p;
    return *p;
}

/* decide_tracking reads, once, whether this process tracks: not when
 * MPSYNC_NO_TRACKER is set, nor in the tracker itself. */
static void decide_tracking(void)
{
    if (tracking < 0) {
        const char *off = getenv("MPSYNC_NO_TRACKER");
        int on = (off == NULL || off[0] == '\0') && getenv("MPSYNC_TRACKER_ROLE") == NULL;
        __atomic_store_n(&tracking, on, __ATOMIC_RELEASE); /* mps__track reads it unlocked */
    }
}

/* open_index sets up the registry for registering, once: is tracking on,
 * and this process's registry. Called with reg_mu held. */
static int open_index(void)
{
    decide_tracking();
    if (!tracking || idx != NULL)
        return 0;
    idx = calloc(1, sizeof *idx);
    if (idx == NULL)
        return -ENOMEM;
    idx->high = 1; /* slot 0 is never used */
    idx->reserved = MPS_REG_HEADER_SIZE;
    reg = mps__self_registry(NULL);
    return 0;
}

/* tracker_join connects the new identity id to a tracker, starting one
 * if none runs, unless tracking is off. */
static void tracker_join(uint64_t id)
{
    pthread_once(&reg_once, init_once);
    pthread_mutex_lock(&reg_mu);
    if (open_index() == 0 && tracking) {
        tracker_checked = coarse_ns();
        ensure_tracker(id);
    }
    pthread_mutex_unlock(&reg_mu);
}

MPS_DOOR int mps__self(uint64_t *id)
{
    int made;
    int err = mps__identity(id, &made);
    /* A tracker must watch every identity: it removes the registry of a
     * process killed before it ever registered a name. */
    if (err == 0 && made)
        tracker_join(*id);
    return err;
}

MPS_HIDDEN uint64_t mps__self_word(void)
{
    uint64_t id = 0;
    return mps__self(&id) == 0 ? id : 0;
}

MPS_DOOR int mps__track(const char *name, uint64_t ino, uint64_t *was)
{
    if (strlen(name) >= MPS_REG_NAME_MAX || strncmp(name, MPS_REG_PREFIX, strlen(MPS_REG_PREFIX)) == 0)
        return 0;
    int on = __atomic_load_n(&tracking, __ATOMIC_ACQUIRE); /* decided once: then one lock below */
    if (on < 0) {
        pthread_once(&reg_once, init_once);
        pthread_mutex_lock(&reg_mu);
        decide_tracking();
        on = tracking;
        pthread_mutex_unlock(&reg_mu);
    }
    if (!on)
        return 0;
    uint64_t id;
    int err = mps__self(&id); /* before reg_mu: making it joins the tracker */
    if (err != 0)
        return err;
    pthread_mutex_lock(&reg_mu);
    if ((err = open_index()) != 0 || !tracking)
        goto out;
    int64_t now = coarse_ns();
    if (tracker_fd < 0 || now - tracker_checked >= tracker_recheck_ns) {
        tracker_checked = now;
        ensure_tracker(id);
    }
    int32_t *link;
    int32_t listed = lookup(name, &link);
    if (listed != 0) {
        /* One entry per name is enough (Close keeps it), but it must name
         * the file this process uses now: if the name was unlinked and
         * made anew, that is another inode, and an entry naming the old
         * one would leave the new file to no one. */
        uint64_t *slot_ino = (uint64_t *)(slot(listed) + MPS_REG_SLOT_OFF_INO);
        uint64_t old = __atomic_load_n(slot_ino, __ATOMIC_RELAXED);
        err = old == ino && ino != 0 ? 2 : 0;
        if (old != ino) {
            __atomic_store_n(slot_ino, ino, __ATOMIC_RELEASE);
            __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
            if (was != NULL)
                *was = old;
            err = 3;
        }
        goto out;
    }
    int32_t i = idx->free_head;
    if (i != 0) {
        idx->free_head = idx->next[i];
    } else {
        if (idx->high >= MPS_REG_SLOTS)
            goto out; /* full: this object goes untracked */
        i = (int32_t)idx->high;
        size_t end = MPS_REG_HEADER_SIZE + ((size_t)i + 1) * MPS_REG_SLOT_SIZE;
        if (end > idx->reserved) {
            int fd;
            mps__self_registry(&fd);
            size_t chunk = idx->reserved + reserve_chunk;
            if (chunk > MPS_REG_SIZE)
                chunk = MPS_REG_SIZE;
            if ((err = mps__reserve(fd, idx->reserved, chunk - idx->reserved)) != 0)
                goto out;
            idx->reserved = chunk;
        }
        idx->high++;
        __atomic_store_n((uint32_t *)(reg + MPS_REG_OFF_HIGH), idx->high, __ATOMIC_RELEASE);
    }
    memcpy(slot(i) + MPS_REG_SLOT_OFF_INO, &ino, 8);
    strcpy(slot_name(i), name);
    __atomic_store_n(slot_state(i), 1, __ATOMIC_RELEASE); /* last: the entry is complete */
    idx->next[i] = *link;
    *link = i;
    err = 1;
out:
    pthread_mutex_unlock(&reg_mu);
    return err;
}

MPS_DOOR void mps__untrack(const char *name, int tracked, uint64_t was)
{
    if (tracked == 1)
        mps__forget(name);
    else if (tracked == 3)
        mps__track(name, was, NULL);
}

MPS_DOOR void mps__forget(const char *name)
{
    pthread_mutex_lock(&reg_mu);
    int32_t *link;
    int32_t i = idx != NULL ? lookup(name, &link) : 0;
    if (i != 0) {
        __atomic_store_n(slot_state(i), 0, __ATOMIC_RELEASE);
        *link = idx->next[i];
        idx->next[i] = idx->free_head;
        idx->free_head = i;
        __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&reg_mu);
}

MPS_DOOR const uint64_t *mps__track_generation(void) { return &generation; }

#endif /* MPS_USE_SYSTEM_LIB */
